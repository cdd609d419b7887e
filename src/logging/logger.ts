import { pino, type Logger } from 'pino';
import { secretConfigPaths } from '../config/index.js';

export type { Logger } from 'pino';

/** Field names that are always redacted wherever they appear one or two levels deep in a log record. */
const SECRET_KEYS = [
  'token',
  'password',
  'secret',
  'authorization',
  'clientSecret',
  'jwtSecret',
  'apiKey',
  'refreshToken',
  'credentials',
];

/**
 * Creates the root JSON logger (pino, stdout). Modules take a child with bound fields:
 * `logger.child({ module: 'storage' })`. Secrets from the config and common secret-looking keys are redacted.
 *
 * @example
 * const log = createLogger({ level: 'info' }).child({ module: 'api' });
 * log.info({ port: 8080 }, 'listening');
 */
export function createLogger(opts: {
  level: string;
  name?: string;
  destination?: pino.DestinationStream;
}): Logger {
  const paths = [
    ...secretConfigPaths().flatMap((p) => [p, `config.${p}`]),
    ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `headers.${k}`, `req.headers.${k}`]),
  ];
  return pino(
    {
      name: opts.name ?? 'guildhall',
      level: opts.level,
      redact: { paths, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination,
  );
}

/** A logger that drops everything; for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
