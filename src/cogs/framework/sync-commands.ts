import type { REST } from '@discordjs/rest';
import {
  type APIApplicationCommand,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type RESTPostAPIApplicationCommandsJSONBody,
  Routes,
} from 'discord-api-types/v10';
import type { Cog } from './define-cog.js';

/** What {@link syncCommands} found and did. Names are `name` for slash commands, `name (user|message)` else. */
export interface SyncResult {
  /** True when a bulk overwrite (PUT) was sent. */
  readonly changed: boolean;
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly deleted: readonly string[];
}

/** Where to register: globally (default) or in one guild (instant; for development and tests). */
export interface SyncOptions {
  readonly guildId?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Loose = Record<string, unknown>;

/** Interaction contexts a global command gets when it names none (guild, bot DM, private channel). */
const ALL_CONTEXTS = [0, 1, 2];

/**
 * Registers the cogs' application commands once per deploy (a CLI step or the controller, not every shard
 * pod): GET the registered commands, compare them with the cogs' definitions after normalizing both
 * (command order ignored, Discord's defaults filled in, ids/versions dropped), and PUT the whole list
 * (bulk overwrite) only when something differs. Running it twice makes no second PUT.
 *
 * Option order inside a command is significant (Discord shows options in that order), so it is compared
 * as is.
 *
 * @example
 * const r = await syncCommands(rest, applicationId, host.cogs());
 * log.info(r, r.changed ? 'commands updated' : 'commands up to date');
 */
export async function syncCommands(
  rest: REST,
  applicationId: string,
  cogs: readonly Cog[],
  opts: SyncOptions = {},
): Promise<SyncResult> {
  const scope = opts.guildId === undefined ? 'global' : 'guild';
  const route =
    opts.guildId === undefined
      ? Routes.applicationCommands(applicationId)
      : Routes.applicationGuildCommands(applicationId, opts.guildId);

  const desired = new Map<string, RESTPostAPIApplicationCommandsJSONBody>();
  for (const cog of cogs) {
    for (const command of cog.commands) {
      if (desired.has(command.key)) {
        throw new Error(
          `command '${command.json.name}' is defined by more than one cog (second: ${cog.name})`,
        );
      }
      desired.set(command.key, command.json);
    }
  }
  const current = new Map<string, APIApplicationCommand>();
  for (const c of (await rest.get(route)) as APIApplicationCommand[]) current.set(keyOf(c), c);

  const created: string[] = [];
  const updated: string[] = [];
  const deleted: string[] = [];
  for (const [key, body] of desired) {
    const existing = current.get(key);
    if (!existing) created.push(label(body));
    else if (canonical(normalizeCommand(existing, scope)) !== canonical(normalizeCommand(body, scope))) {
      updated.push(label(body));
    }
  }
  for (const [key, c] of current) if (!desired.has(key)) deleted.push(label(c));

  const changed = created.length + updated.length + deleted.length > 0;
  if (changed) await rest.put(route, { body: [...desired.values()] });
  return { changed, created: created.sort(), updated: updated.sort(), deleted: deleted.sort() };
}

function keyOf(c: { type?: number; name: string }): string {
  return `${c.type ?? ApplicationCommandType.ChatInput}:${c.name}`;
}

function label(c: { type?: number; name: string }): string {
  const type = c.type ?? ApplicationCommandType.ChatInput;
  if (type === ApplicationCommandType.User) return `${c.name} (user)`;
  if (type === ApplicationCommandType.Message) return `${c.name} (message)`;
  return c.name;
}

/**
 * The user-controlled parts of a command with Discord's defaults filled in, so a definition and what
 * Discord returns for it compare equal.
 */
function normalizeCommand(input: object, scope: 'global' | 'guild'): Json {
  const c = input as Loose;
  const type = (c.type as number | undefined) ?? ApplicationCommandType.ChatInput;
  const listed = sortedNumbers(c.contexts);
  // Only global commands have interaction contexts; an unset list means "all contexts".
  const contexts = scope === 'guild' || listed === null || same(listed, ALL_CONTEXTS) ? null : listed;
  return {
    type,
    name: c.name as string,
    name_localizations: localizations(c.name_localizations),
    description:
      type === ApplicationCommandType.ChatInput ? ((c.description as string | undefined) ?? '') : '',
    description_localizations: localizations(c.description_localizations),
    options: ((c.options as Loose[] | undefined) ?? []).map(normalizeOption),
    default_member_permissions:
      c.default_member_permissions === undefined || c.default_member_permissions === null
        ? null
        : String(c.default_member_permissions as string | number),
    nsfw: (c.nsfw as boolean | undefined) ?? false,
    contexts,
    integration_types: scope === 'guild' ? [0] : (sortedNumbers(c.integration_types) ?? [0]),
    dm_permission:
      scope === 'guild' || contexts !== null
        ? null
        : ((c.dm_permission as boolean | null | undefined) ?? true),
  };
}

function normalizeOption(input: Loose): Json {
  const type = input.type as number;
  const isSub =
    type === ApplicationCommandOptionType.Subcommand || type === ApplicationCommandOptionType.SubcommandGroup;
  const out: { [k: string]: Json } = {
    type,
    name: input.name as string,
    name_localizations: localizations(input.name_localizations),
    description: input.description as string,
    description_localizations: localizations(input.description_localizations),
  };
  if (isSub) {
    out.options = ((input.options as Loose[] | undefined) ?? []).map(normalizeOption);
    return out;
  }
  out.required = (input.required as boolean | undefined) ?? false;
  out.autocomplete = (input.autocomplete as boolean | undefined) ?? false;
  const choices = (input.choices as Loose[] | undefined) ?? [];
  out.choices = choices.map((ch) => ({
    name: ch.name as string,
    name_localizations: localizations(ch.name_localizations),
    value: ch.value as string | number,
  }));
  out.channel_types = sortedNumbers(input.channel_types) ?? [];
  for (const k of ['min_value', 'max_value', 'min_length', 'max_length'] as const) {
    out[k] = (input[k] as number | undefined) ?? null;
  }
  return out;
}

function localizations(v: unknown): Json {
  if (v === undefined || v === null) return null;
  const entries = Object.entries(v as Record<string, string>).filter(
    ([, s]) => s !== undefined && s !== null,
  );
  return entries.length === 0 ? null : Object.fromEntries(entries);
}

function sortedNumbers(v: unknown): number[] | null {
  if (!Array.isArray(v)) return null;
  return [...new Set(v as number[])].sort((a, b) => a - b);
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** JSON with object keys sorted, so equal values give equal strings. */
function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
