import { z } from 'zod';
import { AppError } from '../errors/app-error.js';
import type { GuildsTable, RoleGrantsTable, UsersTable } from '../storage/schema.js';
import { findCog } from './cog-catalog.js';
import { validationError } from './errors.js';
import { type ReadContext, type WriteContext, defineRead, defineWrite } from './ops.js';
import { decodeCursor, encodeCursor } from './pagination.js';
import {
  type AuditEntryDto,
  type CogStateDto,
  DEFAULT_GUILD_SETTINGS,
  type GuildDto,
  type GuildSettings,
  type RoleGrantDto,
  type UserDto,
  auditEntrySchema,
  cogStateSchema,
  guildRoleSchema,
  guildSchema,
  guildSettingsPatchSchema,
  guildSettingsSchema,
  iso,
  isoOrNull,
  roleGrantSchema,
  snowflake,
} from './schemas.js';

/**
 * Cache tags, one place: a write names the tags it makes stale, a cached read names the tags it depends on.
 *
 * @example
 * cache.invalidateTags([tags.cogs(guildId)]);
 */
export const tags = {
  guild: (id: string) => `guild:${id}`,
  settings: (id: string) => `guild:${id}:settings`,
  cogs: (id: string) => `guild:${id}:cogs`,
  roles: (id: string) => `guild:${id}:roles`,
  audit: (id: string) => `guild:${id}:audit`,
  analytics: (id: string) => `guild:${id}:analytics`,
  user: (id: string) => `user:${id}`,
  guildList: 'guilds',
} as const;

/**
 * Row → response shape of a guild.
 *
 * @example
 * toGuildDto(row).joinedAt; // ISO string
 */
export function toGuildDto(row: GuildsTable): GuildDto {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    icon: row.icon,
    memberCount: row.member_count,
    joinedAt: iso(row.joined_at),
    leftAt: isoOrNull(row.left_at),
    updatedAt: iso(row.updated_at),
  };
}

/**
 * Row → response shape of a user.
 *
 * @example
 * toUserDto(row).createdAt; // ISO string
 */
export function toUserDto(row: UsersTable): UserDto {
  return {
    id: row.id,
    username: row.username,
    globalName: row.global_name,
    avatar: row.avatar,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/**
 * Row → response shape of a role grant.
 *
 * @example
 * toRoleGrantDto(row).role; // 'moderator'
 */
export function toRoleGrantDto(row: RoleGrantsTable): RoleGrantDto {
  return {
    guildId: row.guild_id,
    userId: row.user_id,
    role: row.role,
    grantedBy: row.granted_by,
    createdAt: iso(row.created_at),
  };
}

const guildIdInput = z.strictObject({ guildId: snowflake });

// ---------------------------------------------------------------- guilds

/**
 * A shard reports a guild it is in (GUILD_CREATE / GUILD_UPDATE).
 *
 * @example
 * await ops.write('guilds.upsert', { id, name, memberCount });
 */
const guildReport = z.strictObject({
  id: snowflake,
  name: z.string().min(1).max(100),
  ownerId: snowflake.nullable().optional(),
  icon: z.string().max(200).nullable().optional(),
  memberCount: z.number().int().min(0).optional(),
});

function upsertGuild(ctx: WriteContext, input: z.infer<typeof guildReport>): void {
  const { db } = ctx;
  db.run(
    db.q
      .insertInto('guilds')
      .values({
        id: input.id,
        name: input.name,
        owner_id: input.ownerId ?? null,
        icon: input.icon ?? null,
        member_count: input.memberCount ?? 0,
        joined_at: ctx.now,
        left_at: null,
        updated_at: ctx.now,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          name: input.name,
          owner_id: input.ownerId === undefined ? eb.ref('guilds.owner_id') : input.ownerId,
          icon: input.icon === undefined ? eb.ref('guilds.icon') : input.icon,
          member_count: input.memberCount === undefined ? eb.ref('guilds.member_count') : input.memberCount,
          left_at: null,
          updated_at: ctx.now,
        })),
      ),
  );
}

/** Marks a guild as left (once); true when it was a member until now. */
function leaveGuild(ctx: WriteContext, id: string): boolean {
  const r = ctx.db.run(
    ctx.db.q
      .updateTable('guilds')
      .set({ left_at: ctx.now, updated_at: ctx.now })
      .where('id', '=', id)
      .where('left_at', 'is', null),
  );
  return r.changes > 0;
}

export const guildsUpsert = defineWrite(
  'guilds.upsert',
  guildReport,
  guildSchema,
  (ctx, input) => {
    upsertGuild(ctx, input);
    return toGuildDto(ctx.db.first(ctx.db.q.selectFrom('guilds').selectAll().where('id', '=', input.id))!);
  },
  { tags: (i) => [tags.guild(i.id), tags.guildList], description: 'Record a guild the bot is in.' },
);

/**
 * A shard reports the guilds it carries in batches (the GUILD_CREATE burst after READY, then updates),
 * in one transaction: added or updated, and removed (the bot left or was kicked).
 *
 * @example
 * await ops.write('guilds.sync', { upsert: [{ id, name, memberCount }], leave: [] }, { fence });
 */
export const guildsSync = defineWrite(
  'guilds.sync',
  z.strictObject({
    upsert: z.array(guildReport).max(1_000).default([]),
    leave: z.array(snowflake).max(1_000).default([]),
  }),
  z.strictObject({ upserted: z.number().int(), left: z.number().int() }),
  (ctx, input) => {
    for (const g of input.upsert) upsertGuild(ctx, g);
    let left = 0;
    for (const id of input.leave) if (leaveGuild(ctx, id)) left++;
    return { upserted: input.upsert.length, left };
  },
  {
    tags: (i) => [
      ...i.upsert.map((g) => tags.guild(g.id)),
      ...i.leave.map((id) => tags.guild(id)),
      tags.guildList,
    ],
    description: 'Record the guilds a shard carries (batched GUILD_CREATE / GUILD_UPDATE / GUILD_DELETE).',
  },
);

/**
 * A shard reports the bot left (or was removed from) a guild.
 *
 * @example
 * await ops.write('guilds.leave', { id });
 */
export const guildsLeave = defineWrite(
  'guilds.leave',
  z.strictObject({ id: snowflake }),
  z.strictObject({ left: z.boolean() }),
  (ctx, input) => ({ left: leaveGuild(ctx, input.id) }),
  { tags: (i) => [tags.guild(i.id), tags.guildList] },
);

/**
 * A guild by id (also one the bot left), or null.
 *
 * @example
 * await ops.read('guilds.get', { id });
 */
export const guildsGet = defineRead(
  'guilds.get',
  z.strictObject({ id: snowflake }),
  guildSchema.nullable(),
  (ctx, input) => {
    const row = ctx.db.first(ctx.db.q.selectFrom('guilds').selectAll().where('id', '=', input.id));
    return row ? toGuildDto(row) : null;
  },
);

// ---------------------------------------------------------------- settings

/**
 * Current settings of a guild (defaults for fields never set).
 *
 * @example
 * readSettings(deps.readContext(), guildId).timezone;
 */
export function readSettings(ctx: ReadContext, guildId: string): GuildSettings {
  const row = ctx.db.first(
    ctx.db.q.selectFrom('guild_settings').select('settings').where('guild_id', '=', guildId),
  );
  if (!row) return { ...DEFAULT_GUILD_SETTINGS };
  const merged = { ...DEFAULT_GUILD_SETTINGS, ...(JSON.parse(row.settings) as Partial<GuildSettings>) };
  const parsed = guildSettingsSchema.safeParse(merged);
  return parsed.success ? parsed.data : { ...DEFAULT_GUILD_SETTINGS };
}

/**
 * Settings of a guild.
 *
 * @example
 * await ops.read('settings.get', { guildId });
 */
export const settingsGet = defineRead('settings.get', guildIdInput, guildSettingsSchema, (ctx, input) =>
  readSettings(ctx, input.guildId),
);

/**
 * Changes some settings of a guild; audited.
 *
 * @example
 * await ops.write('settings.update', { guildId, patch: { locale: 'de-DE' } });
 */
export const settingsUpdate = defineWrite(
  'settings.update',
  z.strictObject({ guildId: snowflake, patch: guildSettingsPatchSchema }),
  guildSettingsSchema,
  (ctx, input) => {
    requireGuild(ctx, input.guildId);
    const before = readSettings(ctx, input.guildId);
    const after: GuildSettings = { ...before, ...stripUndefined(input.patch) };
    ctx.db.run(
      ctx.db.q
        .insertInto('guild_settings')
        .values({ guild_id: input.guildId, settings: JSON.stringify(after), updated_at: ctx.now })
        .onConflict((oc) =>
          oc.column('guild_id').doUpdateSet({ settings: JSON.stringify(after), updated_at: ctx.now }),
        ),
    );
    const changed = Object.keys(input.patch).filter(
      (k) =>
        JSON.stringify(before[k as keyof GuildSettings]) !== JSON.stringify(after[k as keyof GuildSettings]),
    );
    ctx.audit({
      action: 'settings.update',
      guildId: input.guildId,
      target: 'settings',
      details: { changed, before: pick(before, changed), after: pick(after, changed) },
    });
    return after;
  },
  { tags: (i) => [tags.settings(i.guildId)] },
);

// ---------------------------------------------------------------- cogs

/**
 * The state of every catalogued cog in a guild.
 *
 * @example
 * readCogStates(ctx, guildId).filter((c) => c.enabled);
 */
export function readCogStates(ctx: ReadContext, guildId: string): CogStateDto[] {
  const rows = ctx.db.all(ctx.db.q.selectFrom('guild_cogs').selectAll().where('guild_id', '=', guildId));
  const byCog = new Map(rows.map((r) => [r.cog, r]));
  return ctx.cogs.list().map((cog) => {
    const row = byCog.get(cog.name);
    // A stored '{}' means "never configured": the cog's defaults apply.
    let config: Record<string, unknown> = {};
    if (row && row.config !== '{}') config = JSON.parse(row.config) as Record<string, unknown>;
    else {
      const defaults = cog.configSchema.safeParse({});
      if (defaults.success && isRecord(defaults.data)) config = defaults.data;
    }
    return {
      name: cog.name,
      description: cog.description,
      enabled: row ? row.enabled === 1 : (cog.defaultEnabled ?? true),
      config,
      configured: row !== undefined && row.config !== '{}',
      updatedAt: row ? iso(row.updated_at) : null,
    };
  });
}

/**
 * Every cog with its switch and config in a guild (shards load this per guild).
 *
 * @example
 * await ops.read('cogs.list', { guildId });
 */
export const cogsList = defineRead('cogs.list', guildIdInput, z.array(cogStateSchema), (ctx, input) =>
  readCogStates(ctx, input.guildId),
);

/**
 * Switches a cog on or off in a guild; audited.
 *
 * @example
 * await ops.write('cogs.setEnabled', { guildId, cog: 'leveling', enabled: false });
 */
export const cogsSetEnabled = defineWrite(
  'cogs.setEnabled',
  z.strictObject({ guildId: snowflake, cog: z.string().min(1).max(64), enabled: z.boolean() }),
  cogStateSchema,
  (ctx, input) => {
    requireGuild(ctx, input.guildId);
    const cog = findCog(ctx.cogs, input.cog);
    if (!cog) throw new AppError(404, 'cog_not_found', `No cog named ${input.cog}`);
    const enabled = input.enabled ? 1 : 0;
    ctx.db.run(
      ctx.db.q
        .insertInto('guild_cogs')
        .values({ guild_id: input.guildId, cog: cog.name, enabled, config: '{}', updated_at: ctx.now })
        .onConflict((oc) => oc.columns(['guild_id', 'cog']).doUpdateSet({ enabled, updated_at: ctx.now })),
    );
    ctx.audit({
      action: input.enabled ? 'cog.enable' : 'cog.disable',
      guildId: input.guildId,
      target: cog.name,
    });
    return readCogStates(ctx, input.guildId).find((c) => c.name === cog.name)!;
  },
  { tags: (i) => [tags.cogs(i.guildId)] },
);

/**
 * Replaces a cog's config in a guild after validating it with the cog's own schema; audited.
 *
 * @example
 * await ops.write('cogs.setConfig', { guildId, cog: 'leveling', config: { xpPerMessage: 5 } });
 */
export const cogsSetConfig = defineWrite(
  'cogs.setConfig',
  z.strictObject({
    guildId: snowflake,
    cog: z.string().min(1).max(64),
    config: z.record(z.string(), z.unknown()),
  }),
  cogStateSchema,
  (ctx, input) => {
    requireGuild(ctx, input.guildId);
    const cog = findCog(ctx.cogs, input.cog);
    if (!cog) throw new AppError(404, 'cog_not_found', `No cog named ${input.cog}`);
    const parsed = cog.configSchema.safeParse(input.config);
    if (!parsed.success) throw validationError(parsed.error, 'config');
    const config = JSON.stringify(parsed.data);
    const enabled = cog.defaultEnabled === false ? 0 : 1;
    const before = ctx.db.first(
      ctx.db.q
        .selectFrom('guild_cogs')
        .select('config')
        .where('guild_id', '=', input.guildId)
        .where('cog', '=', cog.name),
    );
    ctx.db.run(
      ctx.db.q
        .insertInto('guild_cogs')
        .values({ guild_id: input.guildId, cog: cog.name, enabled, config, updated_at: ctx.now })
        .onConflict((oc) => oc.columns(['guild_id', 'cog']).doUpdateSet({ config, updated_at: ctx.now })),
    );
    const beforeObj = before ? (JSON.parse(before.config) as Record<string, unknown>) : {};
    const afterObj = parsed.data as Record<string, unknown>;
    const changed = [...new Set([...Object.keys(beforeObj), ...Object.keys(afterObj)])].filter(
      (k) => JSON.stringify(beforeObj[k]) !== JSON.stringify(afterObj[k]),
    );
    ctx.audit({ action: 'cog.configure', guildId: input.guildId, target: cog.name, details: { changed } });
    return readCogStates(ctx, input.guildId).find((c) => c.name === cog.name)!;
  },
  { tags: (i) => [tags.cogs(i.guildId)] },
);

/**
 * One cog's stored setting as the cog framework reads it (`enabled`/`config` absent: the default).
 *
 * @example
 * cogSettingSchema.parse({ enabled: false });
 */
export const cogSettingSchema = z.strictObject({
  enabled: z.boolean().optional(),
  config: z.unknown().optional(),
});

/**
 * Every stored cog setting of a guild, by cog name — the cog framework's `GuildCogSettings.load` (see
 * `domainCogSettings`). Cogs never switched or configured are absent (their defaults apply).
 *
 * @example
 * await ops.read('cogs.settings.get', { guildId }); // { leveling: { enabled: false } }
 */
export const cogsSettingsGet = defineRead(
  'cogs.settings.get',
  guildIdInput,
  z.record(z.string(), cogSettingSchema),
  (ctx, input) => {
    const rows = ctx.db.all(
      ctx.db.q.selectFrom('guild_cogs').selectAll().where('guild_id', '=', input.guildId),
    );
    const out: Record<string, { enabled?: boolean; config?: unknown }> = {};
    for (const row of rows) {
      out[row.cog] = {
        enabled: row.enabled === 1,
        ...(row.config === '{}' ? {} : { config: JSON.parse(row.config) as unknown }),
      };
    }
    return out;
  },
);

/**
 * Merges a patch into one cog's setting in a guild — the cog framework's `GuildCogSettings.update`. A
 * `config` replaces the stored one; it is validated by the cog's schema when the api pod knows the cog.
 * Audited; shards are told over pub/sub (`cogs.settings`) after the commit.
 *
 * @example
 * await ops.write('cogs.settings.update', { guildId, cog: 'leveling', patch: { enabled: false } });
 */
export const cogsSettingsUpdate = defineWrite(
  'cogs.settings.update',
  z.strictObject({
    guildId: snowflake,
    cog: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a cog name'),
    patch: cogSettingSchema,
  }),
  z.strictObject({ updated: z.literal(true) }),
  (ctx, input) => {
    requireGuild(ctx, input.guildId);
    const known = findCog(ctx.cogs, input.cog);
    let config: string | undefined;
    if (input.patch.config !== undefined) {
      if (known) {
        const parsed = known.configSchema.safeParse(input.patch.config);
        if (!parsed.success) throw validationError(parsed.error, 'patch.config');
        config = JSON.stringify(parsed.data);
      } else {
        config = JSON.stringify(input.patch.config);
      }
    }
    const enabled = input.patch.enabled === undefined ? undefined : input.patch.enabled ? 1 : 0;
    const defaultEnabled = known?.defaultEnabled === false ? 0 : 1;
    ctx.db.run(
      ctx.db.q
        .insertInto('guild_cogs')
        .values({
          guild_id: input.guildId,
          cog: input.cog,
          enabled: enabled ?? defaultEnabled,
          config: config ?? '{}',
          updated_at: ctx.now,
        })
        .onConflict((oc) =>
          oc.columns(['guild_id', 'cog']).doUpdateSet({
            ...(enabled === undefined ? {} : { enabled }),
            ...(config === undefined ? {} : { config }),
            updated_at: ctx.now,
          }),
        ),
    );
    ctx.audit({
      action: 'cog.settings.update',
      guildId: input.guildId,
      target: input.cog,
      details: {
        ...(input.patch.enabled === undefined ? {} : { enabled: input.patch.enabled }),
        configChanged: config !== undefined,
      },
    });
    return { updated: true as const };
  },
  { tags: (i) => [tags.cogs(i.guildId)] },
);

// ---------------------------------------------------------------- roles

/**
 * Grants (or changes) a user's explicit role in a guild; audited. The caller checks who may grant what.
 *
 * @example
 * await ops.write('roles.grant', { guildId, userId, role: 'moderator' }, { actor });
 */
export const rolesGrant = defineWrite(
  'roles.grant',
  z.strictObject({ guildId: snowflake, userId: snowflake, role: guildRoleSchema }),
  roleGrantSchema,
  (ctx, input) => {
    requireGuild(ctx, input.guildId);
    const before = ctx.db.first(
      ctx.db.q
        .selectFrom('role_grants')
        .select('role')
        .where('guild_id', '=', input.guildId)
        .where('user_id', '=', input.userId),
    );
    ctx.db.run(
      ctx.db.q
        .insertInto('role_grants')
        .values({
          guild_id: input.guildId,
          user_id: input.userId,
          role: input.role,
          granted_by: ctx.actor.id,
          created_at: ctx.now,
        })
        .onConflict((oc) =>
          oc.columns(['guild_id', 'user_id']).doUpdateSet({ role: input.role, granted_by: ctx.actor.id }),
        ),
    );
    ctx.audit({
      action: 'role.grant',
      guildId: input.guildId,
      target: input.userId,
      details: { role: input.role, previous: before?.role ?? null },
    });
    return toRoleGrantDto(
      ctx.db.first(
        ctx.db.q
          .selectFrom('role_grants')
          .selectAll()
          .where('guild_id', '=', input.guildId)
          .where('user_id', '=', input.userId),
      )!,
    );
  },
  { tags: (i) => [tags.roles(i.guildId), tags.user(i.userId)] },
);

/**
 * Removes a user's explicit role in a guild; audited.
 *
 * @example
 * await ops.write('roles.revoke', { guildId, userId }, { actor });
 */
export const rolesRevoke = defineWrite(
  'roles.revoke',
  z.strictObject({ guildId: snowflake, userId: snowflake }),
  z.strictObject({ revoked: z.boolean() }),
  (ctx, input) => {
    const before = ctx.db.first(
      ctx.db.q
        .selectFrom('role_grants')
        .select('role')
        .where('guild_id', '=', input.guildId)
        .where('user_id', '=', input.userId),
    );
    if (!before) return { revoked: false };
    ctx.db.run(
      ctx.db.q
        .deleteFrom('role_grants')
        .where('guild_id', '=', input.guildId)
        .where('user_id', '=', input.userId),
    );
    ctx.audit({
      action: 'role.revoke',
      guildId: input.guildId,
      target: input.userId,
      details: { role: before.role },
    });
    return { revoked: true };
  },
  { tags: (i) => [tags.roles(i.guildId), tags.user(i.userId)] },
);

// ---------------------------------------------------------------- login

/**
 * Result of mapping one of the user's Discord guilds at login.
 *
 * @example
 * discordGuildRoleInput.parse({ guildId, role: 'admin', owner: false, permissions: '32' });
 */
export const discordGuildRoleInput = z.strictObject({
  guildId: snowflake,
  role: z.enum(['owner', 'admin', 'viewer']),
  owner: z.boolean(),
  permissions: z.string().regex(/^\d{1,20}$/),
});

/**
 * Upserts a user after OAuth2 login and replaces the Discord-derived roles cached for them. Admin-only.
 *
 * @example
 * await ops.call('auth.syncLogin', { user, guilds }, { kind: 'write' });
 */
export const authSyncLogin = defineWrite(
  'auth.syncLogin',
  z.strictObject({
    user: z.strictObject({
      id: snowflake,
      username: z.string().min(1).max(100),
      globalName: z.string().max(100).nullable(),
      avatar: z.string().max(200).nullable(),
    }),
    guilds: z.array(discordGuildRoleInput).max(1000),
  }),
  z.strictObject({ userId: snowflake, guilds: z.number().int() }),
  (ctx, input) => {
    const { db } = ctx;
    const u = input.user;
    db.run(
      db.q
        .insertInto('users')
        .values({
          id: u.id,
          username: u.username,
          global_name: u.globalName,
          avatar: u.avatar,
          created_at: ctx.now,
          updated_at: ctx.now,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            username: u.username,
            global_name: u.globalName,
            avatar: u.avatar,
            updated_at: ctx.now,
          }),
        ),
    );
    db.run(db.q.deleteFrom('discord_guild_roles').where('user_id', '=', u.id));
    for (const g of input.guilds) {
      db.run(
        db.q.insertInto('discord_guild_roles').values({
          user_id: u.id,
          guild_id: g.guildId,
          role: g.role,
          owner: g.owner ? 1 : 0,
          permissions: g.permissions,
          updated_at: ctx.now,
        }),
      );
    }
    ctx.audit({ action: 'auth.login', target: u.id, details: { guilds: input.guilds.length } });
    return { userId: u.id, guilds: input.guilds.length };
  },
  { tags: (i) => [tags.user(i.user.id), ...i.guilds.map((g) => tags.roles(g.guildId))], internal: false },
);

// ---------------------------------------------------------------- API keys

/**
 * Stores a new API key (only its hash); audited. Admin-only.
 *
 * @example
 * await ops.call('apiKeys.create', { id, name, prefix, keyHash, guildId: null, scopes: ['read'], createdBy }, { kind: 'write' });
 */
export const apiKeysCreate = defineWrite(
  'apiKeys.create',
  z.strictObject({
    id: z.string().min(1).max(64),
    name: z.string().min(1).max(100),
    prefix: z.string().min(1).max(32),
    keyHash: z.string().regex(/^[0-9a-f]{64}$/),
    guildId: snowflake.nullable(),
    scopes: z.array(z.string()).max(10),
    createdBy: snowflake,
  }),
  (ctx, input) => {
    ctx.db.run(
      ctx.db.q.insertInto('api_keys').values({
        id: input.id,
        name: input.name,
        prefix: input.prefix,
        key_hash: input.keyHash,
        guild_id: input.guildId,
        scopes: JSON.stringify(input.scopes),
        created_by: input.createdBy,
        created_at: ctx.now,
        last_used_at: null,
        revoked_at: null,
      }),
    );
    ctx.audit({
      action: 'api_key.create',
      guildId: input.guildId,
      target: input.id,
      details: { name: input.name, prefix: input.prefix, scopes: input.scopes },
    });
    return { id: input.id, createdAt: iso(ctx.now) };
  },
  { internal: false, tags: (i) => [tags.user(i.createdBy)] },
);

/**
 * Revokes an API key; audited. Admin-only.
 *
 * @example
 * await ops.call('apiKeys.revoke', { id }, { kind: 'write', actor });
 */
export const apiKeysRevoke = defineWrite(
  'apiKeys.revoke',
  z.strictObject({ id: z.string().min(1).max(64) }),
  (ctx, input) => {
    const key = ctx.db.first(ctx.db.q.selectFrom('api_keys').selectAll().where('id', '=', input.id));
    if (!key) throw new AppError(404, 'api_key_not_found', 'No such API key');
    if (key.revoked_at !== null) return { revoked: false };
    ctx.db.run(ctx.db.q.updateTable('api_keys').set({ revoked_at: ctx.now }).where('id', '=', input.id));
    ctx.audit({
      action: 'api_key.revoke',
      guildId: key.guild_id,
      target: key.id,
      details: { name: key.name },
    });
    return { revoked: true };
  },
  { internal: false },
);

// ---------------------------------------------------------------- privacy

/**
 * Deletes one member's raw events in a guild (every month partition) and their per-user rollup rows (daily
 * activity, member days), for a privacy request. Aggregate rollup counts stay (they hold no user id).
 * Audited.
 *
 * @example
 * await ops.call('privacy.deleteUserData', { guildId, userId }, { kind: 'write', actor });
 */
export const privacyDeleteUserData = defineWrite(
  'privacy.deleteUserData',
  z.strictObject({ guildId: snowflake, userId: snowflake }),
  z.strictObject({ eventsDeleted: z.number().int(), activeDaysDeleted: z.number().int() }),
  (ctx, input) => {
    let eventsDeleted = 0;
    for (const p of ctx.events.partitions()) {
      eventsDeleted += ctx.db
        .prepare(`DELETE FROM ${p.table} WHERE guild_id = ? AND user_id = ?`)
        .run(input.guildId, input.userId).changes;
    }
    const deleteUserRows = (table: 'active_users_daily' | 'member_daily') =>
      ctx.db.run(
        ctx.db.q.deleteFrom(table).where('guild_id', '=', input.guildId).where('user_id', '=', input.userId),
      ).changes;
    const activeDaysDeleted = deleteUserRows('active_users_daily');
    const memberDaysDeleted = deleteUserRows('member_daily');
    ctx.audit({
      action: 'privacy.delete',
      guildId: input.guildId,
      target: input.userId,
      details: { eventsDeleted, activeDaysDeleted, memberDaysDeleted },
    });
    return { eventsDeleted, activeDaysDeleted };
  },
  {
    tags: (i) => [tags.analytics(i.guildId)],
    // Fold pending rollup deltas first, or a later compaction would re-add the user's activity days.
    before: (ctx) => ctx.events.compact(),
  },
);

// ---------------------------------------------------------------- audit

/**
 * Records an audit entry for an action that changes nothing else (e.g. a data export). Admin-only.
 *
 * @example
 * await ops.call('audit.record', { action: 'export.events', guildId, target: null, details: {} }, { kind: 'write', actor });
 */
export const auditRecord = defineWrite(
  'audit.record',
  z.strictObject({
    action: z.string().min(1).max(64),
    guildId: snowflake.nullable(),
    target: z.string().max(200).nullable(),
    details: z.record(z.string(), z.unknown()),
  }),
  z.strictObject({ recorded: z.literal(true) }),
  (ctx, input) => {
    ctx.audit(input);
    return { recorded: true as const };
  },
  { internal: false },
);

/**
 * Decodes an audit_log row.
 *
 * @example
 * toAuditDto(row).details; // parsed JSON
 */
export function toAuditDto(row: {
  id: number;
  at: number;
  actor_type: AuditEntryDto['actorType'];
  actor_id: string | null;
  guild_id: string | null;
  action: string;
  target: string | null;
  details: string;
  request_id: string | null;
}): AuditEntryDto {
  return {
    id: row.id,
    at: iso(row.at),
    actorType: row.actor_type,
    actorId: row.actor_id,
    guildId: row.guild_id,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
    requestId: row.request_id,
  };
}

/**
 * Audit log input filters (shared with the REST route).
 *
 * @example
 * auditListInput.parse({ guildId, limit: 20 });
 */
export const auditListInput = z.strictObject({
  guildId: snowflake.nullable(),
  action: z.string().max(64).optional(),
  actorId: z.string().max(64).optional(),
  since: z.number().int().optional(),
  until: z.number().int().optional(),
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/**
 * Newest-first page of audit entries, optionally of one guild, filtered by action and actor.
 *
 * @example
 * await ops.read('audit.list', { guildId, limit: 50 });
 */
export const auditList = defineRead(
  'audit.list',
  auditListInput,
  z.strictObject({ items: z.array(auditEntrySchema), nextCursor: z.string().nullable() }),
  (ctx, input) => {
    let q = ctx.db.q.selectFrom('audit_log').selectAll();
    q = input.guildId === null ? q : q.where('guild_id', '=', input.guildId);
    if (input.action !== undefined) q = q.where('action', '=', input.action);
    if (input.actorId !== undefined) q = q.where('actor_id', '=', input.actorId);
    if (input.since !== undefined) q = q.where('at', '>=', input.since);
    if (input.until !== undefined) q = q.where('at', '<', input.until);
    if (input.cursor !== undefined) {
      const [id] = decodeCursor(input.cursor, 'n') as [number];
      q = q.where('id', '<', id);
    }
    const rows = ctx.db.all(q.orderBy('id', 'desc').limit(input.limit + 1));
    const more = rows.length > input.limit;
    const page = rows.slice(0, input.limit);
    return {
      items: page.map(toAuditDto),
      nextCursor: more ? encodeCursor([page[page.length - 1]!.id]) : null,
    };
  },
  { internal: false },
);

// ---------------------------------------------------------------- helpers

function requireGuild(ctx: ReadContext, guildId: string): void {
  const row = ctx.db.first(
    ctx.db.q.selectFrom('guilds').select('id').where('id', '=', guildId).where('left_at', 'is', null),
  );
  if (!row) throw new AppError(404, 'guild_not_found', `Guild ${guildId} is unknown`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function pick<T extends object>(o: T, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));
}

/**
 * Every op the platform itself defines (cogs add theirs).
 *
 * @example
 * const registry = createOpRegistry([...platformOps, ...cogOps]);
 */
export const platformOps = [
  guildsUpsert,
  guildsSync,
  guildsLeave,
  guildsGet,
  settingsGet,
  settingsUpdate,
  cogsList,
  cogsSetEnabled,
  cogsSetConfig,
  cogsSettingsGet,
  cogsSettingsUpdate,
  rolesGrant,
  rolesRevoke,
  authSyncLogin,
  apiKeysCreate,
  apiKeysRevoke,
  privacyDeleteUserData,
  auditRecord,
  auditList,
] as const;
