/**
 * Interaction responses: the callback (one per interaction, 40060 after that, 10062 when unknown or late),
 * and the interaction webhook (follow-ups, @original GET/PATCH/DELETE). Not bound to the global limit.
 */
import { InteractionResponseType, MessageFlags, type APIAttachment } from 'discord-api-types/v10';
import { z } from 'zod';
import type { MessageInput } from '../../world/index.js';
import { InteractionError } from '../../world/interactions.js';
import { Errors, RestError, fieldError, type FieldErrors } from '../errors.js';
import { parseForm } from '../form.js';
import { boolQuery, messageInput } from '../helpers.js';
import type { RestContext, RouteDef } from '../router.js';

const WEBHOOK_BUCKET = 'webhooks /webhooks/:webhook_id/:webhook_token';

/** Re-roots 50035 field errors under `data` (Discord reports callback data errors as `data.<field>`). */
function underData<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RestError && err.code === 50035 && err.errors) {
      throw new RestError(400, 50035, 'Invalid Form Body', { data: err.errors } as FieldErrors);
    }
    throw err;
  }
}

const autocompleteSchema = z.object({
  choices: z
    .array(
      z.object({
        name: z.string().min(1).max(100),
        value: z.union([z.string().max(100), z.number()]),
        name_localizations: z.record(z.string(), z.string()).nullable().optional(),
      }),
    )
    .max(25),
});

const modalSchema = z.object({
  custom_id: z.string().min(1).max(100),
  title: z.string().min(1).max(45),
  components: z
    .array(z.object({ type: z.number().int() }).loose())
    .min(1)
    .max(5),
});

function webhookInteraction(ctx: RestContext) {
  const w = ctx.deps.world;
  if (ctx.params.webhook_id !== w.app.id) throw Errors.unknown('webhook');
  return w.interactions.fromToken(ctx.params.webhook_token ?? '');
}

function webhookInput(
  ctx: RestContext,
  channelId: string,
  edit: boolean,
  existing?: readonly APIAttachment[],
): MessageInput {
  const input = messageInput(ctx, channelId, { edit, ...(existing ? { existing } : {}) });
  return input;
}

/**
 * Routes of this group.
 *
 * @example
 * new Router(interactionRoutes());
 */
export function interactionRoutes(): RouteDef[] {
  return [
    {
      method: 'POST',
      path: '/interactions/:interaction_id/:interaction_token/callback',
      auth: 'none',
      global: false,
      files: true,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const rec = w.interactions.get(ctx.params.interaction_id ?? '');
        if (!rec || rec.token !== ctx.params.interaction_token)
          throw new InteractionError(404, 10062, 'Unknown interaction');
        const body = parseForm(z.object({ type: z.number().int(), data: z.unknown().optional() }), ctx.body);
        const data = (body.data ?? undefined) as Record<string, unknown> | undefined;
        let input: MessageInput | undefined;
        let stored: Record<string, unknown> | undefined = data;
        switch (body.type) {
          case InteractionResponseType.ChannelMessageWithSource:
            input = underData(() => messageInput({ ...ctx, body: data ?? {} }, rec.channelId));
            break;
          case InteractionResponseType.UpdateMessage:
            input = underData(() =>
              messageInput({ ...ctx, body: data ?? {} }, rec.channelId, { edit: true }),
            );
            break;
          case InteractionResponseType.DeferredChannelMessageWithSource:
            input = {
              flags: Number((data as { flags?: number } | undefined)?.flags ?? 0) & MessageFlags.Ephemeral,
            };
            break;
          case InteractionResponseType.DeferredMessageUpdate:
            break;
          case InteractionResponseType.ApplicationCommandAutocompleteResult:
            stored = underData(() => parseForm(autocompleteSchema, data ?? {}));
            break;
          case InteractionResponseType.Modal:
            stored = underData(() => parseForm(modalSchema, data ?? {}));
            break;
          default:
            throw fieldError(
              ['type'],
              'BASE_TYPE_CHOICES',
              'Value must be one of {4, 5, 6, 7, 8, 9, 10, 12}.',
            );
        }
        const { message } = w.interactions.respond(rec.id, rec.token, body.type, stored, input);
        if (!boolQuery(ctx, 'with_response')) return { status: 204 };
        const loading = body.type === InteractionResponseType.DeferredChannelMessageWithSource;
        const ephemeral = message ? ((message.flags ?? 0) & MessageFlags.Ephemeral) !== 0 : false;
        return {
          body: {
            interaction: {
              id: rec.id,
              type: rec.type,
              ...(message
                ? {
                    response_message_id: message.id,
                    response_message_loading: loading,
                    response_message_ephemeral: ephemeral,
                  }
                : {}),
            },
            resource: {
              type: body.type,
              ...(message &&
              (body.type === InteractionResponseType.ChannelMessageWithSource ||
                body.type === InteractionResponseType.UpdateMessage)
                ? { message }
                : {}),
            },
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/webhooks/:webhook_id/:webhook_token',
      auth: 'none',
      global: false,
      files: true,
      bucket: WEBHOOK_BUCKET,
      handler: (ctx) => {
        const rec = webhookInteraction(ctx);
        const input = webhookInput(ctx, rec.channelId, false);
        const message = ctx.deps.world.interactions.followup(rec, input);
        return { body: message };
      },
    },
    {
      method: 'GET',
      path: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
      auth: 'none',
      global: false,
      bucket: WEBHOOK_BUCKET,
      handler: (ctx) => {
        const rec = webhookInteraction(ctx);
        return { body: ctx.deps.world.interactions.getMessage(rec, ctx.params.message_id ?? '') };
      },
    },
    {
      method: 'PATCH',
      path: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
      auth: 'none',
      global: false,
      files: true,
      bucket: WEBHOOK_BUCKET,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const rec = webhookInteraction(ctx);
        const current = w.interactions.getMessage(rec, ctx.params.message_id ?? '');
        const input = webhookInput(ctx, rec.channelId, true, current.attachments);
        return { body: w.interactions.editMessage(rec, ctx.params.message_id ?? '', input) };
      },
    },
    {
      method: 'DELETE',
      path: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
      auth: 'none',
      global: false,
      bucket: WEBHOOK_BUCKET,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const rec = webhookInteraction(ctx);
        w.interactions.getMessage(rec, ctx.params.message_id ?? '');
        w.interactions.deleteMessage(rec, ctx.params.message_id ?? '');
        return { status: 204 };
      },
    },
  ];
}
