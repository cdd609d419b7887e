import { z } from 'zod';

/** The roles the `guildhall` CLI can run. */
export const ROLES = ['all', 'shard', 'api', 'controller', 'sim'] as const;
export type Role = (typeof ROLES)[number];

/**
 * One environment variable: its name, zod schema (with the default for the embedded mode), a one-line
 * description for the README table, whether it is a secret (never logged or echoed back), and the roles
 * that cannot start without it.
 *
 * @example
 * const port = envVar('API_PORT', z.coerce.number().int().min(1).max(65535).default(8080), 'API port');
 */
export interface EnvVar<T> {
  readonly env: string;
  readonly schema: z.ZodType<T>;
  readonly doc: string;
  readonly secret: boolean;
  readonly requiredFor: readonly Role[];
}

/** Declares an environment variable; see {@link EnvVar}. */
export function envVar<S extends z.ZodType>(
  env: string,
  schema: S,
  doc: string,
  opts: { secret?: boolean; requiredFor?: readonly Role[] } = {},
): EnvVar<z.output<S>> {
  return {
    env,
    schema: schema as unknown as z.ZodType<z.output<S>>,
    doc,
    secret: opts.secret ?? false,
    requiredFor: opts.requiredFor ?? [],
  };
}

const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
const host = (def: string) => z.string().min(1).default(def);
const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = () =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
const snowflakeList = () =>
  list().pipe(
    z.array(z.string().regex(/^\d{17,20}$/, 'each entry must be a Discord snowflake (17–20 digits)')),
  );
const optionalString = () => z.string().min(1).optional();
const optionalUrl = () => z.url().optional();

/**
 * The whole configuration surface, one section per concern. The README's configuration table is generated
 * from this object (`npm run docs:config`), and a test checks that the two agree.
 */
export const spec = {
  log: {
    level: envVar(
      'LOG_LEVEL',
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      'Minimum log level (pino).',
    ),
  },
  storage: {
    dataDir: envVar('DATA_DIR', z.string().min(1).default('./data'), 'Directory for the SQLite database.'),
    databaseFile: envVar(
      'DATABASE_FILE',
      z.string().min(1).default('guildhall.sqlite'),
      'SQLite file name inside DATA_DIR (or an absolute path). Only the api role opens it.',
    ),
    retentionMonths: envVar(
      'EVENT_RETENTION_MONTHS',
      z.coerce.number().int().min(1).max(120).default(13),
      'Whole months of raw activity events to keep; older month partitions are dropped (rollups stay).',
    ),
    busyTimeoutMs: envVar(
      'SQLITE_BUSY_TIMEOUT_MS',
      z.coerce.number().int().min(0).default(5000),
      'SQLite busy timeout in milliseconds.',
    ),
  },
  redis: {
    url: envVar(
      'REDIS_URL',
      optionalUrl(),
      'Redis URL for coordination, cache and event log. Unset: in-memory coordination (only valid for role `all`).',
      { secret: true, requiredFor: ['shard', 'controller'] },
    ),
    keyPrefix: envVar('REDIS_KEY_PREFIX', z.string().default('guildhall:'), 'Prefix for every Redis key.'),
  },
  discord: {
    token: envVar(
      'DISCORD_TOKEN',
      optionalString(),
      'Bot token. Unset in role `all`: the built-in Discord simulator is started and used.',
      { secret: true, requiredFor: ['shard', 'controller'] },
    ),
    applicationId: envVar(
      'DISCORD_APPLICATION_ID',
      z
        .string()
        .regex(/^\d{17,20}$/, 'a Discord snowflake (17–20 digits)')
        .optional(),
      'Application (client) id.',
    ),
    clientSecret: envVar('DISCORD_CLIENT_SECRET', optionalString(), 'OAuth2 client secret (admin login).', {
      secret: true,
    }),
    apiUrl: envVar(
      'DISCORD_API_URL',
      z.url().default('https://discord.com/api'),
      'Discord REST base URL (point it at the simulator in tests).',
    ),
    intents: envVar(
      'DISCORD_INTENTS',
      z.coerce.number().int().min(0).default(3276799),
      'Gateway intents bit field.',
    ),
  },
  api: {
    host: envVar('API_HOST', host('127.0.0.1'), 'Address the api role listens on.'),
    port: envVar('API_PORT', port(8080), 'Port of the admin REST API, /internal/v1, /metrics, /healthz.'),
    publicUrl: envVar('API_PUBLIC_URL', optionalUrl(), 'Externally visible base URL (OAuth2 redirects).'),
    internalUrl: envVar('API_INTERNAL_URL', optionalUrl(), 'How shard pods reach the api pod (domain RPC).', {
      requiredFor: ['shard'],
    }),
    jwtSecret: envVar(
      'JWT_SECRET',
      z.string().min(32, 'at least 32 characters').optional(),
      'HS256 secret for admin and service JWTs. Unset in role `all`: a random per-process secret.',
      { secret: true, requiredFor: ['api', 'shard'] },
    ),
    corsOrigins: envVar('CORS_ORIGINS', list(), 'Comma-separated origins allowed by CORS.'),
    superadmins: envVar(
      'SUPERADMIN_USER_IDS',
      snowflakeList(),
      'Comma-separated Discord user ids that get the platform `superadmin` role.',
    ),
    jwtPreviousSecrets: envVar(
      'JWT_PREVIOUS_SECRETS',
      list(),
      'Comma-separated former HS256 secrets still accepted when verifying (key rotation); never used to sign.',
      { secret: true },
    ),
    jwtPrivateKey: envVar(
      'JWT_ED25519_PRIVATE_KEY',
      optionalString(),
      'Ed25519 private key (PKCS#8 PEM, `\\n` escapes allowed). When set, tokens are signed with EdDSA instead of HS256.',
      { secret: true },
    ),
    jwtVerifyJwks: envVar(
      'JWT_VERIFY_JWKS',
      optionalString(),
      'JSON Web Key Set (`{"keys":[…]}`) of extra Ed25519 public keys accepted when verifying (EdDSA key rotation).',
    ),
    jwtIssuer: envVar('JWT_ISSUER', z.string().min(1).default('guildhall'), 'Issuer (`iss`) of every token.'),
    accessTokenTtlSeconds: envVar(
      'ACCESS_TOKEN_TTL_SECONDS',
      z.coerce.number().int().min(30).max(86_400).default(900),
      'Lifetime of admin access tokens (JWT), in seconds.',
    ),
    refreshTokenTtlSeconds: envVar(
      'REFRESH_TOKEN_TTL_SECONDS',
      z.coerce.number().int().min(300).default(2_592_000),
      'Lifetime of rotating refresh tokens, in seconds.',
    ),
    rateLimitPerMinute: envVar(
      'API_RATE_LIMIT_PER_MINUTE',
      z.coerce.number().int().min(1).default(600),
      'Requests per minute per principal (user, API key, or client address when anonymous).',
    ),
    bodyLimitBytes: envVar(
      'API_BODY_LIMIT_BYTES',
      z.coerce.number().int().min(1024).default(1_048_576),
      'Largest accepted request body, in bytes (larger: 413).',
    ),
    oauthAuthorizeUrl: envVar(
      'DISCORD_OAUTH_AUTHORIZE_URL',
      optionalUrl(),
      'Discord OAuth2 authorize page. Default: origin of DISCORD_API_URL + `/oauth2/authorize`.',
    ),
    accessLog: envVar(
      'API_ACCESS_LOG',
      z.enum(['all', 'errors', 'off']).default('all'),
      'Access log lines: `all` requests, or only `errors` (status ≥ 400, writes, requests over 1 s) — e.g. behind an ingress that logs access itself — or `off`. Request metrics always count everything.',
    ),
    trustProxy: envVar(
      'API_TRUST_PROXY',
      bool(false),
      'Trust X-Forwarded-For for the client address (anonymous rate limits). Only behind a proxy.',
    ),
  },
  shard: {
    host: envVar(
      'SHARD_HOST',
      host('127.0.0.1'),
      'Address a shard pod serves /healthz, /readyz and /metrics on.',
    ),
    port: envVar('SHARD_PORT', port(8081), 'Port of a shard pod’s /healthz, /readyz and /metrics.'),
    podName: envVar(
      'POD_NAME',
      z.string().min(1).default('local-0'),
      'Stable pod identity (StatefulSet pod name); the ordinal picks preferred shards.',
    ),
    shardsPerPod: envVar('SHARDS_PER_POD', positiveInt(4), 'Shards one shard pod holds.'),
    leaseTtlMs: envVar(
      'LEASE_TTL_MS',
      z.coerce.number().int().min(1000).default(15000),
      'Shard lease TTL in milliseconds; renewed every TTL/3.',
    ),
  },
  coordination: {
    identifyWindowMs: envVar(
      'IDENTIFY_WINDOW_MS',
      z.coerce.number().int().min(5000).default(5500),
      'How long one identify holds its bucket: Discord’s 5 s plus a margin for delivery jitter between pods.',
    ),
    identifyReserve: envVar(
      'IDENTIFY_RESERVE',
      z.coerce.number().int().min(0).default(10),
      'Session starts kept in reserve: identifies are refused (shards wait for the daily reset) rather than spend them.',
    ),
    sessionFlushMs: envVar(
      'SESSION_FLUSH_MS',
      z.coerce.number().int().min(0).default(1000),
      'Longest delay before resume state (session id, seq) is written to Redis.',
    ),
    redisCommandTimeoutMs: envVar(
      'REDIS_COMMAND_TIMEOUT_MS',
      z.coerce.number().int().min(100).default(2000),
      'Bound on every Redis call; coordination calls fail with coordination_unavailable after it.',
    ),
  },
  controller: {
    namespace: envVar('K8S_NAMESPACE', z.string().default('default'), 'Namespace of the shard StatefulSet.'),
    shardStatefulSet: envVar(
      'SHARD_STATEFULSET',
      z.string().default('guildhall-shard'),
      'Name of the shard StatefulSet the controller scales.',
    ),
    fixedShardCount: envVar(
      'FIXED_SHARD_COUNT',
      z.coerce.number().int().positive().optional(),
      'Use this shard count instead of Discord’s recommendation.',
    ),
    host: envVar(
      'CONTROLLER_HOST',
      host('127.0.0.1'),
      'Address the controller’s /healthz, /readyz and /metrics listen on.',
    ),
    port: envVar('CONTROLLER_PORT', port(8082), 'Port of the controller’s /healthz, /readyz and /metrics.'),
    kubernetesApiUrl: envVar(
      'KUBERNETES_API_URL',
      optionalUrl(),
      'Kubernetes API server URL (e.g. `kubectl proxy`). Unset: in-cluster service account when KUBERNETES_SERVICE_HOST is set, otherwise no scaling and a Redis leader lock.',
    ),
    kubernetesToken: envVar(
      'KUBERNETES_TOKEN',
      optionalString(),
      'Bearer token for KUBERNETES_API_URL (in a cluster the mounted service account token is used).',
      { secret: true },
    ),
    kubernetesServiceHost: envVar(
      'KUBERNETES_SERVICE_HOST',
      optionalString(),
      'Set by Kubernetes in every pod; its presence selects the in-cluster API and Lease leader election.',
    ),
    kubernetesServicePort: envVar(
      'KUBERNETES_SERVICE_PORT',
      z.coerce.number().int().min(1).max(65535).default(443),
      'Set by Kubernetes in every pod: port of the in-cluster API service.',
    ),
    kubernetesRequestTimeoutMs: envVar(
      'KUBERNETES_REQUEST_TIMEOUT_MS',
      z.coerce.number().int().min(100).default(5000),
      'Bound on every Kubernetes API request made by the controller.',
    ),
    leaderLeaseName: envVar(
      'LEADER_LEASE_NAME',
      z.string().min(1).default('guildhall-controller'),
      'Name of the coordination.k8s.io Lease the controllers elect a leader with.',
    ),
    leaderLeaseDurationMs: envVar(
      'LEADER_LEASE_DURATION_MS',
      z.coerce.number().int().min(1000).default(15000),
      'Leader lease duration: a standby takes over this long after the leader’s last renewal.',
    ),
    leaderRenewDeadlineMs: envVar(
      'LEADER_RENEW_DEADLINE_MS',
      z.coerce.number().int().min(100).default(10000),
      'The leader stops acting when it could not renew within this (must be < the lease duration).',
    ),
    leaderRetryPeriodMs: envVar(
      'LEADER_RETRY_PERIOD_MS',
      z.coerce.number().int().min(50).default(2000),
      'How often leader election renews or retries (must be < the renew deadline).',
    ),
    reconcileIntervalMs: envVar(
      'RECONCILE_INTERVAL_MS',
      z.coerce.number().int().min(100).default(30000),
      'Periodic resync: the controller re-reads /gateway/bot, the plan and the StatefulSet at least this often.',
    ),
    reshardHysteresis: envVar(
      'RESHARD_HYSTERESIS',
      z.coerce.number().min(1).max(10).default(1.25),
      'Grow the shard count automatically only when Discord recommends more than current × this.',
    ),
    reshardTimeoutMs: envVar(
      'RESHARD_TIMEOUT_MS',
      z.coerce.number().int().min(1000).default(600000),
      'A reshard rolls back when the new generation is not READY within this plus its identify time.',
    ),
  },
  sim: {
    host: envVar('SIM_HOST', host('127.0.0.1'), 'Address the Discord simulator listens on.'),
    port: envVar('SIM_PORT', port(8090), 'Port of the Discord simulator (gateway, REST, OAuth2).'),
    guilds: envVar(
      'SIM_GUILDS',
      z.coerce.number().int().min(0).default(25),
      'Guilds the simulator creates at start.',
    ),
  },
  metrics: {
    defaultMetrics: envVar(
      'METRICS_DEFAULT',
      bool(true),
      'Export Node.js process metrics (guildhall_process_*, guildhall_nodejs_*).',
    ),
  },
  fcm: {
    credentials: envVar(
      'FCM_CREDENTIALS_JSON',
      optionalString(),
      'Firebase service-account JSON for push notifications.',
      { secret: true },
    ),
  },
  shutdown: {
    timeoutMs: envVar(
      'SHUTDOWN_TIMEOUT_MS',
      z.coerce.number().int().min(100).default(10000),
      'Longest graceful shutdown before the process exits anyway.',
    ),
  },
} as const;

type Spec = typeof spec;
/** The parsed, typed configuration: one section per key of {@link spec}. */
export type Config = {
  readonly [S in keyof Spec]: {
    readonly [K in keyof Spec[S]]: Spec[S][K] extends EnvVar<infer T> ? T : never;
  };
};
