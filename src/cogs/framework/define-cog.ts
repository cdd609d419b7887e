import {
  ApplicationCommandType,
  type GatewayDispatchPayload,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import { z } from 'zod';
import type { CogContext } from './context.js';
import type {
  AutocompleteInteraction,
  CommandInteraction,
  ComponentInteraction,
  ModalSubmitInteraction,
} from './interaction.js';
import { type CommandOptions, CommandOptionValidator } from './options.js';
import type { AutocompleteChoice, JSONEncodable } from './responder.js';

/** Gateway dispatch name → its `d` payload (raw discord-api-types). */
export type DispatchMap = { [P in GatewayDispatchPayload as `${P['t']}`]: P['d'] };

/** Dispatches a cog can handle. INTERACTION_CREATE is routed to commands/components/modals instead. */
export type CogEventName = Exclude<keyof DispatchMap, 'INTERACTION_CREATE'>;

/** Where a dispatch came from. */
export interface EventMeta {
  readonly event: CogEventName;
  /** The event's guild (`guild_id`, or `id` for GUILD_CREATE/UPDATE/DELETE); null for DMs and global events. */
  readonly guildId: string | null;
  /** The shard that received it, when the runtime says. */
  readonly shardId: number | null;
}

/** Gateway event handlers keyed by dispatch name. */
export type EventHandlers<C> = {
  readonly [E in CogEventName]?: (data: DispatchMap[E], ctx: CogContext<C>, meta: EventMeta) => unknown;
};

/** A command definition body as the builders produce it. */
export type CommandData =
  JSONEncodable<RESTPostAPIApplicationCommandsJSONBody> | RESTPostAPIApplicationCommandsJSONBody;

/** Option values as a command handler sees them: the declared schema's output, else a plain record. */
export type OptionsOf<O> = unknown extends O ? CommandOptions : O;

/**
 * One application command of a cog: a discord.js builder (SlashCommandBuilder or
 * ContextMenuCommandBuilder), its handler, and optionally an autocomplete handler and a zod schema for
 * the options (applied after the structural check against the builder definition).
 *
 * @example
 * {
 *   data: new SlashCommandBuilder().setName('roll').setDescription('Roll a die')
 *     .addIntegerOption((o) => o.setName('sides').setDescription('Sides').setMinValue(2)),
 *   options: z.object({ sides: z.number().int().default(6) }),
 *   run: (i) => i.reply(`🎲 ${1 + Math.floor(Math.random() * i.options.sides)}`),
 * }
 */
export interface CommandDefinition<C, O> {
  readonly data: CommandData;
  readonly options?: z.ZodType<O>;
  /**
   * How the framework acknowledges for a handler that has neither replied nor deferred after ~2.5 s:
   * `ephemeral` (default, so a private answer never becomes public) or `public`.
   */
  readonly autoDefer?: 'ephemeral' | 'public';
  run(i: CommandInteraction<OptionsOf<O>>, ctx: CogContext<C>): unknown;
  autocomplete?(
    i: AutocompleteInteraction,
    ctx: CogContext<C>,
  ): readonly AutocompleteChoice[] | void | Promise<readonly AutocompleteChoice[] | void>;
}

/** Handles a button/select whose custom id is `<cog>:<prefix>[:args…]`. */
export type ComponentHandler<C> = (i: ComponentInteraction, ctx: CogContext<C>) => unknown;
/** Handles a modal submit whose custom id is `<cog>:<prefix>[:args…]`. */
export type ModalHandler<C> = (i: ModalSubmitInteraction, ctx: CogContext<C>) => unknown;

/**
 * What a cog module declares. `C` is the config type (from the zod schema), `T` the option types of its
 * commands (inferred per command from its `options` schema).
 */
export interface CogDefinition<C, T extends readonly unknown[]> {
  /** Lowercase, equal to the cog's folder name (the loader checks). */
  readonly name: string;
  readonly description: string;
  /** Per-guild config; every field needs a default (`schema.parse({})` must succeed). */
  readonly config?: z.ZodType<C>;
  /** Enabled in guilds that never chose (default true). */
  readonly defaultEnabled?: boolean;
  /** False for cogs that must stay on (e.g. `system`). Default true. */
  readonly canDisable?: boolean;
  readonly commands?: { readonly [K in keyof T]: CommandDefinition<C, T[K]> };
  readonly events?: EventHandlers<C>;
  /** Component handlers by custom id prefix (the part after `<cog>:`); the longest matching prefix wins. */
  readonly components?: Readonly<Record<string, ComponentHandler<C>>>;
  /** Modal submit handlers by custom id prefix. */
  readonly modals?: Readonly<Record<string, ModalHandler<C>>>;
  onLoad?(ctx: CogContext<C>): void | Promise<void>;
  onUnload?(ctx: CogContext<C>): void | Promise<void>;
}

/** A command ready for routing and registration. */
export interface CogCommand {
  /** `<type>:<name>`, unique across loaded cogs. */
  readonly key: string;
  readonly json: RESTPostAPIApplicationCommandsJSONBody;
  readonly validator: CommandOptionValidator;
  readonly definition: CommandDefinition<unknown, unknown>;
}

const COG = Symbol.for('guildhall.cog');

/**
 * A defined cog (the default export of `src/cogs/<name>/cog.ts`). Built by {@link defineCog}; its
 * handlers are typed at the definition site and erased here.
 */
export interface Cog {
  readonly [COG]: true;
  readonly name: string;
  readonly description: string;
  readonly defaultEnabled: boolean;
  readonly canDisable: boolean;
  readonly configSchema: z.ZodType<unknown>;
  /** `configSchema.parse({})`. */
  readonly defaults: unknown;
  readonly commands: readonly CogCommand[];
  readonly events: EventHandlers<unknown>;
  readonly components: Readonly<Record<string, ComponentHandler<unknown>>>;
  readonly modals: Readonly<Record<string, ModalHandler<unknown>>>;
  readonly onLoad?: (ctx: CogContext<unknown>) => void | Promise<void>;
  readonly onUnload?: (ctx: CogContext<unknown>) => void | Promise<void>;
}

/** Valid cog names: lowercase letters, digits and dashes (they prefix custom ids and metric labels). */
export const COG_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Defines a cog. Validates the definition at once (name, config defaults, command JSON from the builders,
 * duplicate command names) so a broken cog fails at import, not on the first interaction.
 *
 * @example
 * export default defineCog({
 *   name: 'greeter',
 *   description: 'Greets new members',
 *   config: z.object({ message: z.string().default('Welcome!') }),
 *   commands: [
 *     {
 *       data: new SlashCommandBuilder().setName('greet').setDescription('Say the greeting'),
 *       run: async (i, ctx) => i.reply((await ctx.config(i.guildId)).message),
 *     },
 *   ],
 *   events: {
 *     GUILD_MEMBER_ADD: async (member, ctx) => ctx.log.info({ user: member.user.id }, 'joined'),
 *   },
 * });
 */
export function defineCog<C = Record<string, never>, T extends readonly unknown[] = readonly []>(
  def: CogDefinition<C, T>,
): Cog {
  if (!COG_NAME.test(def.name)) {
    throw new Error(
      `cog name '${def.name}' must match ${COG_NAME} (it is the folder name and custom id prefix)`,
    );
  }
  const where = `cog '${def.name}'`;
  const configSchema = (def.config ?? z.object({})) as z.ZodType<unknown>;
  const parsedDefaults = configSchema.safeParse({});
  if (!parsedDefaults.success) {
    throw new Error(
      `${where}: config schema must accept {} (give every field a default): ${parsedDefaults.error.message}`,
    );
  }
  const commands: CogCommand[] = [];
  for (const command of (def.commands ?? []) as readonly CommandDefinition<unknown, unknown>[]) {
    const json = 'toJSON' in command.data ? command.data.toJSON() : command.data;
    const key = `${json.type ?? ApplicationCommandType.ChatInput}:${json.name}`;
    if (commands.some((c) => c.key === key))
      throw new Error(`${where}: command '${json.name}' is defined twice`);
    commands.push({ key, json, validator: new CommandOptionValidator(json), definition: command });
  }
  for (const prefix of [...Object.keys(def.components ?? {}), ...Object.keys(def.modals ?? {})]) {
    if (prefix.length === 0) throw new Error(`${where}: empty custom id prefix`);
  }
  return Object.freeze({
    [COG]: true as const,
    name: def.name,
    description: def.description,
    defaultEnabled: def.defaultEnabled ?? true,
    canDisable: def.canDisable ?? true,
    configSchema,
    defaults: parsedDefaults.data,
    commands,
    events: (def.events ?? {}) as EventHandlers<unknown>,
    components: (def.components ?? {}) as Record<string, ComponentHandler<unknown>>,
    modals: (def.modals ?? {}) as Record<string, ModalHandler<unknown>>,
    onLoad: def.onLoad?.bind(def) as Cog['onLoad'],
    onUnload: def.onUnload?.bind(def) as Cog['onUnload'],
  });
}

/**
 * True when `value` was built by {@link defineCog} (works across module copies: the brand is a
 * registered symbol).
 *
 * @example
 * if (!isCog(mod.default)) throw new Error('cog.ts must default-export defineCog(...)');
 */
export function isCog(value: unknown): value is Cog {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[COG] === true;
}

/** Max length of a custom id (Discord). */
export const CUSTOM_ID_MAX = 100;

/**
 * A custom id routed to `cog`: `<cog>:<part>:<part>…`. Throws if longer than Discord's 100 characters.
 *
 * @example
 * customId('tickets', 'close', ticketId); // 'tickets:close:123'
 */
export function customId(cog: string, ...parts: readonly (string | number)[]): string {
  const id = [cog, ...parts.map(String)].join(':');
  if (id.length > CUSTOM_ID_MAX)
    throw new Error(`custom id '${id}' is longer than ${CUSTOM_ID_MAX} characters`);
  return id;
}

/**
 * Finds the handler for a custom id's rest (after `<cog>:`): the longest prefix equal to the rest or
 * followed by `:`. Returns the handler and the remaining parts.
 *
 * @example
 * matchPrefix({ page: h }, 'page:3'); // { handler: h, prefix: 'page', args: ['3'] }
 */
export function matchPrefix<H>(
  handlers: Readonly<Record<string, H>>,
  rest: string,
): { handler: H; prefix: string; args: string[] } | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(handlers)) {
    if (
      (rest === prefix || rest.startsWith(`${prefix}:`)) &&
      (best === undefined || prefix.length > best.length)
    ) {
      best = prefix;
    }
  }
  if (best === undefined) return undefined;
  const tail = rest.slice(best.length + 1);
  return { handler: handlers[best]!, prefix: best, args: tail.length > 0 ? tail.split(':') : [] };
}
