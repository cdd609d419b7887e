import {
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandInteractionDataBasicOption,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOption,
  ApplicationCommandOptionType as T,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import { z } from 'zod';

/** The value of one command option: text, a number, a boolean, or an id (user, channel, role, attachment). */
export type OptionValue = string | number | boolean;

/** Options of a command invocation by name (absent optional options are missing keys). */
export type CommandOptions = Readonly<Record<string, OptionValue | undefined>>;

/** Which subcommand was run, and its options. */
export interface Invocation {
  readonly group: string | null;
  readonly subcommand: string | null;
  readonly options: readonly APIApplicationCommandInteractionDataBasicOption[];
}

/** The outcome of checking an invocation's options against the command definition. */
export type OptionCheck =
  | { readonly ok: true; readonly values: Record<string, OptionValue> }
  | { readonly ok: false; readonly message: string };

const SNOWFLAKE = /^\d{17,20}$/;

const TYPE_NAMES: Partial<Record<T, string>> = {
  [T.String]: 'text',
  [T.Integer]: 'whole number',
  [T.Number]: 'number',
  [T.Boolean]: 'true/false',
  [T.User]: 'user',
  [T.Channel]: 'channel',
  [T.Role]: 'role',
  [T.Mentionable]: 'user or role',
  [T.Attachment]: 'attachment',
};

/**
 * Splits an interaction's options into subcommand group, subcommand and the leaf options.
 *
 * @example
 * const { subcommand, options } = readInvocation(raw.data.options);
 */
export function readInvocation(
  options: readonly APIApplicationCommandInteractionDataOption[] | undefined,
): Invocation {
  let group: string | null = null;
  let subcommand: string | null = null;
  let leaf: readonly APIApplicationCommandInteractionDataOption[] = options ?? [];
  const first = leaf[0];
  if (first?.type === T.SubcommandGroup) {
    group = first.name;
    const sub = first.options[0];
    subcommand = sub?.name ?? null;
    leaf = sub?.options ?? [];
  } else if (first?.type === T.Subcommand) {
    subcommand = first.name;
    leaf = first.options ?? [];
  }
  return {
    group,
    subcommand,
    options: leaf.filter(
      (o): o is APIApplicationCommandInteractionDataBasicOption =>
        o.type !== T.Subcommand && o.type !== T.SubcommandGroup,
    ),
  };
}

interface OptionSpec {
  readonly name: string;
  readonly type: T;
  readonly required: boolean;
  readonly schema: z.ZodType<OptionValue>;
}

/**
 * Checks invocations of one command against its builder JSON: every received option must exist in the
 * definition for that subcommand, have the defined type and pass a zod schema built from the definition
 * (length, range, choices); every required option must be present. Catches the case where Discord still
 * has an older registration of a command than the code that runs it.
 *
 * @example
 * const check = new CommandOptionValidator(builder.toJSON()).validate(readInvocation(raw.data.options));
 * if (!check.ok) await i.reply({ content: check.message, ephemeral: true });
 */
export class CommandOptionValidator {
  private readonly paths = new Map<string, readonly OptionSpec[]>();

  constructor(command: RESTPostAPIApplicationCommandsJSONBody) {
    const top = ('options' in command ? command.options : undefined) ?? [];
    this.collect([], top);
  }

  validate(inv: Invocation): OptionCheck {
    const path = [inv.group, inv.subcommand].filter((p): p is string => p !== null).join(' ');
    const specs = this.paths.get(path);
    if (!specs) {
      return {
        ok: false,
        message: `Unknown subcommand \`${path || '(none)'}\`. This command may have just changed; try again in a minute.`,
      };
    }
    const values: Record<string, OptionValue> = {};
    for (const received of inv.options) {
      const spec = specs.find((s) => s.name === received.name);
      if (!spec) {
        return {
          ok: false,
          message: `Unknown option \`${received.name}\`. This command may have just changed; try again in a minute.`,
        };
      }
      if (received.type !== spec.type) {
        return {
          ok: false,
          message: `Option \`${spec.name}\` must be a ${TYPE_NAMES[spec.type] ?? 'value of another type'}.`,
        };
      }
      const parsed = spec.schema.safeParse(received.value);
      if (!parsed.success) {
        return {
          ok: false,
          message: `Option \`${spec.name}\` ${parsed.error.issues[0]?.message ?? 'is invalid'}.`,
        };
      }
      values[spec.name] = parsed.data;
    }
    const missing = specs.find((s) => s.required && !(s.name in values));
    if (missing) return { ok: false, message: `Missing required option \`${missing.name}\`.` };
    return { ok: true, values };
  }

  private collect(prefix: readonly string[], options: readonly APIApplicationCommandOption[]): void {
    const leaves: OptionSpec[] = [];
    for (const o of options) {
      if (o.type === T.SubcommandGroup) this.collect([...prefix, o.name], o.options ?? []);
      else if (o.type === T.Subcommand) this.collect([...prefix, o.name], o.options ?? []);
      else leaves.push({ name: o.name, type: o.type, required: o.required ?? false, schema: valueSchema(o) });
    }
    const hasSubcommands = options.some((o) => o.type === T.Subcommand || o.type === T.SubcommandGroup);
    if (!hasSubcommands) this.paths.set(prefix.join(' '), leaves);
  }
}

/** The zod schema for one option's value, from its definition. */
function valueSchema(o: APIApplicationCommandBasicOption): z.ZodType<OptionValue> {
  switch (o.type) {
    case T.String: {
      let s = z.string({ error: 'must be text' });
      if (o.min_length !== undefined)
        s = s.min(o.min_length, { error: `must be at least ${o.min_length} characters` });
      if (o.max_length !== undefined)
        s = s.max(o.max_length, { error: `must be at most ${o.max_length} characters` });
      return withChoices(s, o.choices);
    }
    case T.Integer:
    case T.Number: {
      const what = o.type === T.Integer ? 'a whole number' : 'a number';
      let n = z.number({ error: `must be ${what}` });
      if (o.type === T.Integer) n = n.int({ error: `must be ${what}` });
      if (o.min_value !== undefined) n = n.min(o.min_value, { error: `must be at least ${o.min_value}` });
      if (o.max_value !== undefined) n = n.max(o.max_value, { error: `must be at most ${o.max_value}` });
      return withChoices(n, o.choices);
    }
    case T.Boolean:
      return z.boolean({ error: 'must be true or false' });
    default:
      return z.string({ error: 'must be an id' }).regex(SNOWFLAKE, { error: 'must be an id' });
  }
}

function withChoices(
  schema: z.ZodType<string> | z.ZodType<number>,
  choices: readonly { name: string; value: string | number }[] | undefined,
): z.ZodType<OptionValue> {
  const s = schema as z.ZodType<OptionValue>;
  if (!choices?.length) return s;
  const allowed = new Set<OptionValue>(choices.map((c) => c.value));
  const names = choices.map((c) => c.name).join(', ');
  return s.refine((v) => allowed.has(v), { error: `must be one of: ${names}` });
}

/**
 * Parses validated option values with a declared zod schema; a failure names the first bad option.
 *
 * @example
 * const r = parseDeclared(z.object({ days: z.number().max(30) }), { days: 90 });
 * // { ok: false, message: 'Option `days`: Too big: expected number to be <=30' }
 */
export function parseDeclared<O>(
  schema: z.ZodType<O>,
  values: Record<string, OptionValue>,
): { ok: true; value: O } | { ok: false; message: string } {
  const parsed = schema.safeParse(values);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const name = issue?.path[0];
  const what = issue?.message ?? 'is invalid';
  return {
    ok: false,
    message: name === undefined ? `Invalid options: ${what}.` : `Option \`${String(name)}\`: ${what}.`,
  };
}
