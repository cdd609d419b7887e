/**
 * Application commands, global and per guild: list, create (upsert by name+type), get, edit, delete, bulk
 * overwrite. Ids and versions survive an identical re-registration, so clients can diff against GET.
 */
import {
  ApplicationCommandOptionType as O,
  ApplicationCommandType,
  type APIApplicationCommand,
} from 'discord-api-types/v10';
import { z } from 'zod';
import { Errors, FormErrors, RestError } from '../errors.js';
import { parseForm } from '../form.js';
import { guildOf } from '../helpers.js';
import type { RestContext, RouteDef } from '../router.js';

const NAME_RE = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const LIMITS: Record<number, number> = {
  [ApplicationCommandType.ChatInput]: 100,
  [ApplicationCommandType.User]: 15,
  [ApplicationCommandType.Message]: 15,
  [ApplicationCommandType.PrimaryEntryPoint]: 1,
};

const choiceSchema = z.object({
  name: z.string().min(1).max(100),
  name_localizations: z.record(z.string(), z.string()).nullable().optional(),
  value: z.union([z.string().max(100), z.number()]),
});

interface OptionShape {
  type: number;
  name: string;
  description: string;
  required?: boolean | undefined;
  choices?: z.infer<typeof choiceSchema>[] | undefined;
  options?: OptionShape[] | undefined;
  autocomplete?: boolean | undefined;
  [key: string]: unknown;
}

const optionSchema: z.ZodType<OptionShape> = z.lazy(() =>
  z
    .object({
      type: z.number().int().min(1).max(11),
      name: z.string().min(1).max(32),
      name_localizations: z.record(z.string(), z.string()).nullable().optional(),
      description: z.string().min(1).max(100),
      description_localizations: z.record(z.string(), z.string()).nullable().optional(),
      required: z.boolean().optional(),
      choices: z.array(choiceSchema).max(25).optional(),
      options: z.array(optionSchema).max(25).optional(),
      channel_types: z.array(z.number().int()).optional(),
      min_value: z.number().optional(),
      max_value: z.number().optional(),
      min_length: z.number().int().min(0).max(6000).optional(),
      max_length: z.number().int().min(1).max(6000).optional(),
      autocomplete: z.boolean().optional(),
    })
    .loose(),
) as z.ZodType<OptionShape>;

const commandSchema = z
  .object({
    name: z.string().min(1).max(32),
    name_localizations: z.record(z.string(), z.string()).nullable().optional(),
    description: z.string().max(100).optional(),
    description_localizations: z.record(z.string(), z.string()).nullable().optional(),
    options: z.array(optionSchema).max(25).optional(),
    default_member_permissions: z
      .union([z.string().regex(/^\d{1,20}$/), z.number().int().min(0)])
      .nullable()
      .optional(),
    dm_permission: z.boolean().nullable().optional(),
    default_permission: z.boolean().nullable().optional(),
    type: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
    nsfw: z.boolean().optional(),
    integration_types: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
    contexts: z
      .array(z.union([z.literal(0), z.literal(1), z.literal(2)]))
      .nullable()
      .optional(),
    handler: z.number().int().optional(),
  })
  .loose();

type CommandBody = z.infer<typeof commandSchema>;

/** Discord's semantic checks beyond the schema, as nested 50035 errors under `prefix`. */
function validateCommand(cmd: CommandBody, form: FormErrors, prefix: (string | number)[]): void {
  const type = cmd.type ?? ApplicationCommandType.ChatInput;
  if (type === ApplicationCommandType.ChatInput) {
    if (!NAME_RE.test(cmd.name) || cmd.name !== cmd.name.toLowerCase()) {
      form.add([...prefix, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    if (!cmd.description)
      form.add([...prefix, 'description'], 'BASE_TYPE_REQUIRED', 'This field is required');
  } else {
    if (cmd.description)
      form.add(
        [...prefix, 'description'],
        'APPLICATION_COMMAND_INVALID_DESCRIPTION',
        'Description must be empty for this command type',
      );
    if (cmd.options?.length)
      form.add(
        [...prefix, 'options'],
        'APPLICATION_COMMAND_OPTIONS_INVALID',
        'Only chat input commands can have options',
      );
  }
  validateOptions(cmd.options ?? [], form, [...prefix, 'options'], 0);
  const size = commandSize(cmd);
  if (size > 8000) form.add(prefix, 'APPLICATION_COMMAND_TOO_LARGE', 'Command exceeds maximum size (8000)');
}

function validateOptions(
  options: readonly OptionShape[],
  form: FormErrors,
  path: (string | number)[],
  depth: number,
): void {
  const names = new Set<string>();
  let seenOptional = false;
  const hasSub = options.some((o) => o.type === O.Subcommand || o.type === O.SubcommandGroup);
  options.forEach((o, i) => {
    const p = [...path, i];
    if (!NAME_RE.test(o.name) || o.name !== o.name.toLowerCase())
      form.add([...p, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    if (names.has(o.name))
      form.add(
        [...p, 'name'],
        'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
        'Option names must be unique',
      );
    names.add(o.name);
    const isSub = o.type === O.Subcommand || o.type === O.SubcommandGroup;
    if (hasSub && !isSub)
      form.add(
        [...p, 'type'],
        'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID',
        'Sub-command and sub-command group option types are mutually exclusive to all other types',
      );
    if (o.type === O.SubcommandGroup && depth > 0)
      form.add(
        [...p, 'type'],
        'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID',
        'Sub-command groups cannot be nested',
      );
    if (o.type === O.Subcommand && depth > 1)
      form.add(
        [...p, 'type'],
        'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID',
        'Sub-commands cannot be nested this deep',
      );
    if (o.type === O.SubcommandGroup && (o.options ?? []).some((x) => x.type !== O.Subcommand)) {
      form.add(
        [...p, 'options'],
        'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID',
        'Sub-command groups may only contain sub-commands',
      );
    }
    if (!isSub) {
      if (o.required) {
        if (seenOptional)
          form.add(
            [...p, 'required'],
            'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
            'Required options must be placed before non-required options',
          );
      } else seenOptional = true;
      if (o.options?.length)
        form.add(
          [...p, 'options'],
          'APPLICATION_COMMAND_OPTIONS_INVALID',
          'Only sub-commands may have options',
        );
    }
    if (o.choices?.length) {
      if (o.type !== O.String && o.type !== O.Integer && o.type !== O.Number)
        form.add(
          [...p, 'choices'],
          'APPLICATION_COMMAND_OPTION_CHOICES_INVALID',
          'Choices are only allowed for string, integer and number options',
        );
      if (o.autocomplete)
        form.add(
          [...p, 'autocomplete'],
          'APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_INVALID',
          'Autocomplete cannot be set with choices',
        );
      o.choices.forEach((c, ci) => {
        const okType =
          o.type === O.String
            ? typeof c.value === 'string'
            : typeof c.value === 'number' && (o.type !== O.Integer || Number.isInteger(c.value));
        if (!okType)
          form.add(
            [...p, 'choices', ci, 'value'],
            'APPLICATION_COMMAND_OPTION_CHOICE_VALUE_INVALID',
            'Invalid choice value for option type',
          );
      });
    }
    if (o.autocomplete && o.type !== O.String && o.type !== O.Integer && o.type !== O.Number) {
      form.add(
        [...p, 'autocomplete'],
        'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
        'Autocomplete is only allowed for string, integer and number options',
      );
    }
    if (o.options) validateOptions(o.options, form, [...p, 'options'], depth + 1);
  });
}

function commandSize(cmd: CommandBody): number {
  let n = cmd.name.length + (cmd.description?.length ?? 0);
  const walk = (opts: readonly OptionShape[]): void => {
    for (const o of opts) {
      n += o.name.length + o.description.length;
      for (const c of o.choices ?? []) n += c.name.length + String(c.value).length;
      if (o.options) walk(o.options);
    }
  };
  walk(cmd.options ?? []);
  return n;
}

/** Canonical JSON of the user-controlled parts (to decide whether the version changes). */
function fingerprint(cmd: Partial<APIApplicationCommand>): string {
  return JSON.stringify({
    name: cmd.name,
    name_localizations: cmd.name_localizations ?? null,
    description: cmd.description ?? '',
    description_localizations: cmd.description_localizations ?? null,
    options: cmd.options ?? [],
    default_member_permissions: cmd.default_member_permissions ?? null,
    type: cmd.type ?? 1,
    nsfw: cmd.nsfw ?? false,
    contexts: cmd.contexts ?? null,
    integration_types: cmd.integration_types ?? [0],
  });
}

function build(
  ctx: RestContext,
  body: CommandBody,
  guildId: string | null,
  existing: APIApplicationCommand | undefined,
): APIApplicationCommand {
  const w = ctx.deps.world;
  const type = (body.type ?? ApplicationCommandType.ChatInput) as ApplicationCommandType;
  const next = {
    id: existing?.id ?? w.ids.next(),
    application_id: w.app.id,
    version: existing?.version ?? w.ids.next(),
    default_member_permissions:
      body.default_member_permissions === undefined || body.default_member_permissions === null
        ? null
        : String(body.default_member_permissions),
    type,
    name: body.name,
    ...(body.name_localizations ? { name_localizations: body.name_localizations } : {}),
    description: type === ApplicationCommandType.ChatInput ? (body.description ?? '') : '',
    ...(body.description_localizations ? { description_localizations: body.description_localizations } : {}),
    ...(guildId ? { guild_id: guildId } : {}),
    ...(body.options?.length ? { options: body.options } : {}),
    dm_permission: guildId ? undefined : (body.dm_permission ?? true),
    nsfw: body.nsfw ?? false,
    integration_types: guildId ? [0] : (body.integration_types ?? [0]),
    contexts: guildId ? null : (body.contexts ?? null),
  } as unknown as APIApplicationCommand;
  if (guildId) delete (next as { dm_permission?: boolean }).dm_permission;
  if (existing && fingerprint(existing) !== fingerprint(next)) next.version = w.ids.next();
  return next;
}

function registryOf(ctx: RestContext): { map: Map<string, APIApplicationCommand>; guildId: string | null } {
  if (ctx.params.application_id !== ctx.deps.world.app.id) throw Errors.missingAccess();
  if (ctx.params.guild_id !== undefined) {
    const g = guildOf(ctx);
    return { map: g.commands, guildId: g.id };
  }
  return { map: ctx.deps.world.globalCommands, guildId: null };
}

function commandOf(ctx: RestContext): {
  cmd: APIApplicationCommand;
  map: Map<string, APIApplicationCommand>;
  guildId: string | null;
} {
  const reg = registryOf(ctx);
  const cmd = reg.map.get(ctx.params.command_id ?? '');
  if (!cmd) throw Errors.unknown('command');
  return { cmd, ...reg };
}

function bases(): { prefix: string; scope: 'global' | 'guild' }[] {
  return [
    { prefix: '/applications/:application_id/commands', scope: 'global' },
    { prefix: '/applications/:application_id/guilds/:guild_id/commands', scope: 'guild' },
  ];
}

/**
 * Routes of this group.
 *
 * @example
 * new Router(commandRoutes());
 */
export function commandRoutes(): RouteDef[] {
  return bases().flatMap(({ prefix }): RouteDef[] => [
    {
      method: 'GET',
      path: prefix,
      auth: 'bot',
      handler: (ctx) => ({ body: [...registryOf(ctx).map.values()].map((c) => structuredClone(c)) }),
    },
    {
      method: 'POST',
      path: prefix,
      auth: 'bot',
      handler: (ctx) => {
        const { map, guildId } = registryOf(ctx);
        const body = parseForm(commandSchema, ctx.body);
        const form = new FormErrors();
        validateCommand(body, form, []);
        form.throwIfAny();
        const type = body.type ?? 1;
        const existing = [...map.values()].find((c) => c.name === body.name && (c.type ?? 1) === type);
        if (
          !existing &&
          [...map.values()].filter((c) => (c.type ?? 1) === type).length >= (LIMITS[type] ?? 1)
        ) {
          throw new RestError(400, 30032, 'Maximum number of application commands reached');
        }
        const cmd = build(ctx, body, guildId, existing);
        map.set(cmd.id, cmd);
        return { status: existing ? 200 : 201, body: structuredClone(cmd) };
      },
    },
    {
      method: 'PUT',
      path: prefix,
      auth: 'bot',
      handler: (ctx) => {
        const { map, guildId } = registryOf(ctx);
        const body = parseForm(z.array(commandSchema).max(200), ctx.body);
        const form = new FormErrors();
        const seen = new Set<string>();
        body.forEach((cmd, i) => {
          validateCommand(cmd, form, [i]);
          const key = `${cmd.type ?? 1}:${cmd.name}`;
          if (seen.has(key))
            form.add(
              [i, 'name'],
              'APPLICATION_COMMANDS_DUPLICATE_NAME',
              `Application command names must be unique`,
            );
          seen.add(key);
        });
        for (const [type, limit] of Object.entries(LIMITS)) {
          if (body.filter((c) => (c.type ?? 1) === Number(type)).length > limit)
            form.add(
              [],
              'APPLICATION_COMMANDS_TOO_MANY',
              `Maximum number of application commands of type ${type} reached (${limit})`,
            );
        }
        form.throwIfAny();
        const previous = [...map.values()];
        map.clear();
        const out: APIApplicationCommand[] = [];
        for (const cmdBody of body) {
          const existing = previous.find(
            (c) => c.name === cmdBody.name && (c.type ?? 1) === (cmdBody.type ?? 1),
          );
          const cmd = build(ctx, cmdBody, guildId, existing);
          map.set(cmd.id, cmd);
          out.push(structuredClone(cmd));
        }
        return { body: out };
      },
    },
    {
      method: 'GET',
      path: `${prefix}/:command_id`,
      auth: 'bot',
      handler: (ctx) => ({ body: structuredClone(commandOf(ctx).cmd) }),
    },
    {
      method: 'PATCH',
      path: `${prefix}/:command_id`,
      auth: 'bot',
      handler: (ctx) => {
        const { cmd, map, guildId } = commandOf(ctx);
        const patch = parseForm(commandSchema.partial(), ctx.body);
        const merged = { ...cmd, ...patch, type: cmd.type } as unknown as CommandBody;
        const form = new FormErrors();
        validateCommand(merged, form, []);
        form.throwIfAny();
        const clash = [...map.values()].find(
          (c) => c.id !== cmd.id && c.name === merged.name && (c.type ?? 1) === (cmd.type ?? 1),
        );
        if (clash) throw new RestError(400, 40041, 'An application command with that name already exists');
        const next = build(ctx, merged, guildId, cmd);
        map.set(next.id, next);
        return { body: structuredClone(next) };
      },
    },
    {
      method: 'DELETE',
      path: `${prefix}/:command_id`,
      auth: 'bot',
      handler: (ctx) => {
        const { cmd, map } = commandOf(ctx);
        map.delete(cmd.id);
        return { status: 204 };
      },
    },
  ]);
}
