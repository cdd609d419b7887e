import { type Config, type EnvVar, type Role, spec } from './spec.js';

export { ROLES, spec, type Config, type Role, type EnvVar } from './spec.js';

/** Every problem found in the environment, one line each; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
  }
}

/** All declared variables, flattened with their section and key. */
export function listVars(): { section: string; key: string; variable: EnvVar<unknown> }[] {
  const out: { section: string; key: string; variable: EnvVar<unknown> }[] = [];
  for (const [section, vars] of Object.entries(spec)) {
    for (const [key, variable] of Object.entries(vars as Record<string, EnvVar<unknown>>)) {
      out.push({ section, key, variable });
    }
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses the environment once. Collects every invalid or missing variable before failing, and never puts a
 * secret's value into an error message.
 *
 * @example
 * const config = loadConfig(process.env, 'api');
 * console.log(config.api.port);
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  role: Role | 'tool' = 'all',
): Config {
  const problems: string[] = [];
  const result: Record<string, Record<string, unknown>> = {};
  for (const { section, key, variable } of listVars()) {
    const raw = env[variable.env];
    const input = raw === undefined || raw === '' ? undefined : raw;
    const parsed = variable.schema.safeParse(input);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      const shown = variable.secret ? '<redacted>' : JSON.stringify(raw);
      problems.push(`${variable.env}: ${why} (got ${shown}) — expected: ${variable.doc}`);
      continue;
    }
    if (parsed.data === undefined && role !== 'tool' && variable.requiredFor.includes(role)) {
      problems.push(`${variable.env}: required for role \`${role}\` — ${variable.doc}`);
    }
    (result[section] ??= {})[key] = parsed.data;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result) as unknown as Config;
}

/** The names of every secret variable, for log redaction. */
export function secretEnvNames(): string[] {
  return listVars()
    .filter((v) => v.variable.secret)
    .map((v) => v.variable.env);
}

/** Paths of secret values inside a {@link Config}, for pino's `redact`. */
export function secretConfigPaths(): string[] {
  return listVars()
    .filter((v) => v.variable.secret)
    .map((v) => `${v.section}.${v.key}`);
}

/** Renders the README's configuration table from {@link spec}. */
export function renderConfigTable(): string {
  const rows = listVars().map(({ variable }) => {
    const def = defaultOf(variable);
    const req = variable.requiredFor.length > 0 ? `roles: ${variable.requiredFor.join(', ')}` : '';
    return `| \`${variable.env}\` | ${def} | ${req} | ${variable.secret ? 'yes' : ''} | ${variable.doc} |`;
  });
  return [
    '| Variable | Default | Required for | Secret | Description |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function defaultOf(variable: EnvVar<unknown>): string {
  const parsed = variable.schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '—';
  const v = parsed.data;
  if (Array.isArray(v)) return v.length === 0 ? '(empty)' : `\`${v.join(',')}\``;
  return `\`${String(v)}\``;
}
