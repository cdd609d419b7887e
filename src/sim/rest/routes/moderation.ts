/**
 * Native AutoMod rules and guild scheduled events.
 */
import {
  AuditLogEvent,
  AutoModerationActionType,
  AutoModerationRuleTriggerType,
  GuildScheduledEventEntityType,
  GuildScheduledEventStatus,
  PermissionFlagsBits as P,
  type APIAutoModerationRule,
  type APIGuildScheduledEvent,
} from 'discord-api-types/v10';
import { z } from 'zod';
import { Errors, FormErrors, RestError, fieldError } from '../errors.js';
import { parseForm, snowflake } from '../form.js';
import { boolQuery, guildOf, intQuery, requireGuildPerms } from '../helpers.js';
import type { RestContext, RouteDef } from '../router.js';

const MAX_PER_GUILD: Record<number, number> = {
  [AutoModerationRuleTriggerType.Keyword]: 6,
  [AutoModerationRuleTriggerType.Spam]: 1,
  [AutoModerationRuleTriggerType.KeywordPreset]: 1,
  [AutoModerationRuleTriggerType.MentionSpam]: 1,
  [AutoModerationRuleTriggerType.MemberProfile]: 1,
};

const actionSchema = z.object({
  type: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  metadata: z
    .object({
      channel_id: snowflake.optional(),
      duration_seconds: z.number().int().min(0).max(2419200).optional(),
      custom_message: z.string().max(150).optional(),
    })
    .optional(),
});

const triggerMetadataSchema = z.object({
  keyword_filter: z.array(z.string().max(60)).max(1000).optional(),
  regex_patterns: z.array(z.string().max(260)).max(10).optional(),
  presets: z.array(z.union([z.literal(1), z.literal(2), z.literal(3)])).optional(),
  allow_list: z.array(z.string().max(60)).max(1000).optional(),
  mention_total_limit: z.number().int().min(0).max(50).optional(),
  mention_raid_protection_enabled: z.boolean().optional(),
});

const ruleCreateSchema = z.object({
  name: z.string().min(1).max(100),
  event_type: z.union([z.literal(1), z.literal(2)]),
  trigger_type: z.union([z.literal(1), z.literal(3), z.literal(4), z.literal(5), z.literal(6)]),
  trigger_metadata: triggerMetadataSchema.optional(),
  actions: z.array(actionSchema).min(1).max(5),
  enabled: z.boolean().optional(),
  exempt_roles: z.array(snowflake).max(20).optional(),
  exempt_channels: z.array(snowflake).max(50).optional(),
});

const ruleUpdateSchema = ruleCreateSchema.omit({ trigger_type: true }).partial();

function audit(ctx: RestContext, guildId: string, entry: Record<string, unknown>): void {
  ctx.deps.world.addAuditLogEntry(guildId, {
    ...entry,
    ...(ctx.reason ? { reason: ctx.reason } : {}),
  } as never);
}

function validateRule(
  ctx: RestContext,
  guildId: string,
  triggerType: number,
  rule: {
    actions?: z.infer<typeof actionSchema>[];
    trigger_metadata?: z.infer<typeof triggerMetadataSchema>;
    exempt_roles?: string[];
    exempt_channels?: string[];
  },
): void {
  const g = guildOf(ctx, guildId);
  const form = new FormErrors();
  (rule.actions ?? []).forEach((a, i) => {
    if (a.type === AutoModerationActionType.SendAlertMessage) {
      const ch = a.metadata?.channel_id;
      if (!ch)
        form.add(['actions', i, 'metadata', 'channel_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
      else if (!g.channels.has(ch))
        form.add(
          ['actions', i, 'metadata', 'channel_id'],
          'AUTO_MODERATION_INVALID_CHANNEL',
          'Unknown channel',
        );
    }
    if (a.type === AutoModerationActionType.Timeout) {
      if (a.metadata?.duration_seconds === undefined)
        form.add(
          ['actions', i, 'metadata', 'duration_seconds'],
          'BASE_TYPE_REQUIRED',
          'This field is required',
        );
      if (
        triggerType !== AutoModerationRuleTriggerType.Keyword &&
        triggerType !== AutoModerationRuleTriggerType.MentionSpam &&
        triggerType !== AutoModerationRuleTriggerType.MemberProfile
      ) {
        form.add(
          ['actions', i, 'type'],
          'AUTO_MODERATION_INVALID_ACTION',
          'Timeout actions are only allowed for keyword and mention spam rules',
        );
      }
    }
  });
  const allow = rule.trigger_metadata?.allow_list ?? [];
  if (triggerType === AutoModerationRuleTriggerType.Keyword && allow.length > 100) {
    form.add(['trigger_metadata', 'allow_list'], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
  }
  (rule.trigger_metadata?.regex_patterns ?? []).forEach((p, i) => {
    try {
      new RegExp(p);
    } catch {
      form.add(
        ['trigger_metadata', 'regex_patterns', i],
        'AUTO_MODERATION_INVALID_REGEX',
        'Invalid regex pattern',
      );
    }
  });
  (rule.exempt_roles ?? []).forEach((r, i) => {
    if (!g.roles.has(r)) form.add(['exempt_roles', i], 'UNKNOWN_ROLE', 'Unknown role');
  });
  (rule.exempt_channels ?? []).forEach((c, i) => {
    if (!g.channels.has(c)) form.add(['exempt_channels', i], 'UNKNOWN_CHANNEL', 'Unknown channel');
  });
  form.throwIfAny();
}

function ruleOf(ctx: RestContext): APIAutoModerationRule {
  const g = guildOf(ctx);
  const rule = g.autoModerationRules.get(ctx.params.rule_id ?? '');
  if (!rule) throw Errors.unknown('automod');
  return rule;
}

const eventMetadata = z
  .object({ location: z.string().min(1).max(100).optional() })
  .nullable()
  .optional();

const eventCreateSchema = z.object({
  channel_id: snowflake.nullable().optional(),
  entity_metadata: eventMetadata,
  name: z.string().min(1).max(100),
  privacy_level: z.literal(2),
  scheduled_start_time: z.string(),
  scheduled_end_time: z.string().nullable().optional(),
  description: z.string().max(1000).nullable().optional(),
  entity_type: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  image: z.string().nullable().optional(),
});

const eventUpdateSchema = eventCreateSchema
  .partial()
  .extend({ status: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional() });

function eventOf(ctx: RestContext): APIGuildScheduledEvent {
  const g = guildOf(ctx);
  const ev = g.scheduledEvents.get(ctx.params.event_id ?? '');
  if (!ev) throw Errors.unknown('event');
  return ev;
}

/**
 * Routes of this group.
 *
 * @example
 * new Router(moderationRoutes());
 */
export function moderationRoutes(): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/guilds/:guild_id/auto-moderation/rules',
      auth: 'bot',
      handler: (ctx) => {
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageGuild);
        return { body: [...g.autoModerationRules.values()].map((r) => structuredClone(r)) };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/auto-moderation/rules/:rule_id',
      auth: 'bot',
      handler: (ctx) => {
        requireGuildPerms(ctx, guildOf(ctx), P.ManageGuild);
        return { body: structuredClone(ruleOf(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/guilds/:guild_id/auto-moderation/rules',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageGuild);
        const body = parseForm(ruleCreateSchema, ctx.body);
        const count = [...g.autoModerationRules.values()].filter(
          (r) => r.trigger_type === body.trigger_type,
        ).length;
        if (count >= (MAX_PER_GUILD[body.trigger_type] ?? 1)) {
          throw fieldError(
            ['trigger_type'],
            'AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED',
            `Maximum number of rules of this trigger type reached (${MAX_PER_GUILD[body.trigger_type] ?? 1}).`,
          );
        }
        validateRule(ctx, g.id, body.trigger_type, body);
        const rule = w.createAutoModRule(g.id, {
          name: body.name,
          creator_id: w.botId,
          event_type: body.event_type,
          trigger_type: body.trigger_type,
          trigger_metadata: body.trigger_metadata ?? {},
          actions: body.actions as APIAutoModerationRule['actions'],
          enabled: body.enabled ?? false,
          exempt_roles: body.exempt_roles ?? [],
          exempt_channels: body.exempt_channels ?? [],
        });
        audit(ctx, g.id, {
          action_type: AuditLogEvent.AutoModerationRuleCreate,
          user_id: w.botId,
          target_id: rule.id,
          changes: [{ key: 'name', new_value: rule.name }],
        });
        return { body: structuredClone(rule) };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id/auto-moderation/rules/:rule_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageGuild);
        const rule = ruleOf(ctx);
        const body = parseForm(ruleUpdateSchema, ctx.body);
        validateRule(ctx, g.id, rule.trigger_type, body);
        const next = w.updateAutoModRule(g.id, rule.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.event_type !== undefined ? { event_type: body.event_type } : {}),
          ...(body.trigger_metadata !== undefined ? { trigger_metadata: body.trigger_metadata } : {}),
          ...(body.actions !== undefined
            ? { actions: body.actions as APIAutoModerationRule['actions'] }
            : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
          ...(body.exempt_roles !== undefined ? { exempt_roles: body.exempt_roles } : {}),
          ...(body.exempt_channels !== undefined ? { exempt_channels: body.exempt_channels } : {}),
        });
        audit(ctx, g.id, {
          action_type: AuditLogEvent.AutoModerationRuleUpdate,
          user_id: w.botId,
          target_id: rule.id,
          changes: [],
        });
        return { body: structuredClone(next) };
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/auto-moderation/rules/:rule_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageGuild);
        const rule = ruleOf(ctx);
        w.deleteAutoModRule(g.id, rule.id);
        audit(ctx, g.id, {
          action_type: AuditLogEvent.AutoModerationRuleDelete,
          user_id: w.botId,
          target_id: rule.id,
          changes: [{ key: 'name', old_value: rule.name }],
        });
        return { status: 204 };
      },
    },
    // Scheduled events
    {
      method: 'GET',
      path: '/guilds/:guild_id/scheduled-events',
      auth: 'bot',
      handler: (ctx) => {
        const g = guildOf(ctx);
        const counts = boolQuery(ctx, 'with_user_count');
        return {
          body: [...g.scheduledEvents.values()].map((e) => {
            const { user_count, ...rest } = e;
            return counts ? { ...rest, user_count } : rest;
          }),
        };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/scheduled-events/:event_id',
      auth: 'bot',
      handler: (ctx) => ({ body: { ...eventOf(ctx) } }),
    },
    {
      method: 'POST',
      path: '/guilds/:guild_id/scheduled-events',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const perms = w.guildPermissions(g, g.members.get(w.botId) as never);
        if (!(perms & (P.ManageEvents | P.CreateEvents))) throw Errors.missingPermissions();
        const body = parseForm(eventCreateSchema, ctx.body);
        const form = new FormErrors();
        const start = Date.parse(body.scheduled_start_time);
        if (Number.isNaN(start))
          form.add(['scheduled_start_time'], 'DATE_TIME_TYPE_PARSE', 'Could not parse date.');
        else if (start < w.clock())
          form.add(
            ['scheduled_start_time'],
            'GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST',
            'Cannot schedule event in the past.',
          );
        if (body.entity_type === GuildScheduledEventEntityType.External) {
          if (!body.entity_metadata?.location)
            form.add(['entity_metadata', 'location'], 'BASE_TYPE_REQUIRED', 'This field is required');
          if (!body.scheduled_end_time)
            form.add(['scheduled_end_time'], 'BASE_TYPE_REQUIRED', 'This field is required');
        } else if (!body.channel_id || !g.channels.has(body.channel_id)) {
          form.add(['channel_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
        }
        if (body.scheduled_end_time && Date.parse(body.scheduled_end_time) <= start) {
          form.add(
            ['scheduled_end_time'],
            'GUILD_SCHEDULED_EVENT_END_BEFORE_START',
            'End time must be after start time.',
          );
        }
        form.throwIfAny();
        const ev = w.createScheduledEvent(g.id, {
          channel_id:
            body.entity_type === GuildScheduledEventEntityType.External ? null : (body.channel_id ?? null),
          creator_id: w.botId,
          creator: w.app.botUser,
          name: body.name,
          description: body.description ?? null,
          scheduled_start_time: new Date(start).toISOString(),
          scheduled_end_time: body.scheduled_end_time
            ? new Date(Date.parse(body.scheduled_end_time)).toISOString()
            : null,
          privacy_level: 2,
          status: GuildScheduledEventStatus.Scheduled,
          entity_type: body.entity_type,
          entity_id: null,
          entity_metadata:
            body.entity_type === GuildScheduledEventEntityType.External
              ? { location: body.entity_metadata?.location as string }
              : null,
          image: null,
          recurrence_rule: null,
        } as never);
        audit(ctx, g.id, {
          action_type: AuditLogEvent.GuildScheduledEventCreate,
          user_id: w.botId,
          target_id: ev.id,
          changes: [{ key: 'name', new_value: ev.name }],
        });
        return { body: { ...ev } };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id/scheduled-events/:event_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const ev = eventOf(ctx);
        const perms = w.guildPermissions(g, g.members.get(w.botId) as never);
        if (!(perms & P.ManageEvents) && !(ev.creator_id === w.botId && perms & P.CreateEvents))
          throw Errors.missingPermissions();
        const body = parseForm(eventUpdateSchema, ctx.body);
        if (
          ev.status === GuildScheduledEventStatus.Completed ||
          ev.status === GuildScheduledEventStatus.Canceled
        ) {
          throw new RestError(400, 180000, 'Cannot update a finished event');
        }
        if (body.status !== undefined) {
          const from = ev.status;
          const ok =
            (from === GuildScheduledEventStatus.Scheduled &&
              (body.status === GuildScheduledEventStatus.Active ||
                body.status === GuildScheduledEventStatus.Canceled)) ||
            (from === GuildScheduledEventStatus.Active &&
              body.status === GuildScheduledEventStatus.Completed) ||
            body.status === from;
          if (!ok)
            throw fieldError(
              ['status'],
              'GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION',
              'Invalid status transition.',
            );
        }
        const next = w.updateScheduledEvent(g.id, ev.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.scheduled_start_time
            ? { scheduled_start_time: new Date(Date.parse(body.scheduled_start_time)).toISOString() }
            : {}),
          ...(body.scheduled_end_time !== undefined
            ? {
                scheduled_end_time: body.scheduled_end_time
                  ? new Date(Date.parse(body.scheduled_end_time)).toISOString()
                  : null,
              }
            : {}),
          ...(body.status !== undefined ? { status: body.status } : {}),
          ...(body.channel_id !== undefined ? { channel_id: body.channel_id } : {}),
        } as never);
        audit(ctx, g.id, {
          action_type: AuditLogEvent.GuildScheduledEventUpdate,
          user_id: w.botId,
          target_id: ev.id,
          changes: [],
        });
        return { body: { ...next } };
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/scheduled-events/:event_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const ev = eventOf(ctx);
        requireGuildPerms(ctx, g, P.ManageEvents);
        w.deleteScheduledEvent(g.id, ev.id);
        audit(ctx, g.id, {
          action_type: AuditLogEvent.GuildScheduledEventDelete,
          user_id: w.botId,
          target_id: ev.id,
          changes: [{ key: 'name', old_value: ev.name }],
        });
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/scheduled-events/:event_id/users',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const ev = eventOf(ctx);
        const limit = intQuery(ctx, 'limit', 100, 1, 100);
        const withMember = boolQuery(ctx, 'with_member');
        const users = [...(g.scheduledEventUsers.get(ev.id) ?? [])].slice(0, limit);
        return {
          body: users.map((id) => {
            const m = g.members.get(id);
            return {
              guild_scheduled_event_id: ev.id,
              user: w.userOf(id),
              ...(withMember && m ? { member: w.apiMember(g.id, m) } : {}),
            };
          }),
        };
      },
    },
  ];
}
