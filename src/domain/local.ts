import type { Kysely } from 'kysely';
import { Counter, Histogram, type Registry } from 'prom-client';
import { AppError, isAppError } from '../errors/app-error.js';
import type { Storage } from '../storage/index.js';
import { type CogCatalog, staticCogCatalog } from './cog-catalog.js';
import { validationError } from './errors.js';
import {
  type Actor,
  type AnyOp,
  type AuditEntry,
  type DomainOps,
  type Fence,
  type OpRegistry,
  type ReadContext,
  type WriteCallOptions,
  type WriteContext,
  fenceSchema,
} from './ops.js';
import { SyncDb } from './sync-db.js';
import type { ApiDatabase } from './tables.js';

/**
 * What happened after a write committed; the api wires cache invalidation and pub/sub to it.
 *
 * @example
 * onCommitted: (w: CommittedWrite) => cache.invalidateTags(w.tags),
 */
export interface CommittedWrite {
  readonly op: string;
  readonly tags: readonly string[];
  readonly input: unknown;
  readonly output: unknown;
}

/**
 * Required options of {@link createLocalOps}.
 *
 * @example
 * createLocalOps(storage, { registry } satisfies LocalOpsOptions<unknown>);
 */
export interface LocalOpsOptions<M> {
  readonly registry: OpRegistry<M>;
}

/**
 * Optional options of {@link createLocalOps}.
 *
 * @example
 * createLocalOps(storage, { registry }, { checkFence, onCommitted } satisfies LocalOpsExtras);
 */
export interface LocalOpsExtras {
  readonly cogs?: CogCatalog;
  /**
   * Is this fencing token still current? (the coordination layer's `ShardLeases.checkFence`). Checked
   * before the transaction starts; without it, fences are accepted.
   */
  readonly checkFence?: (fence: Fence) => boolean | Promise<boolean>;
  /** Called after every commit (cache invalidation, pub/sub). Errors are reported, not thrown. */
  readonly onCommitted?: (write: CommittedWrite) => void | Promise<void>;
  readonly onCommitError?: (err: unknown, write: CommittedWrite) => void;
  readonly now?: () => number;
  readonly metrics?: Registry;
}

/**
 * Per-call options of {@link LocalOps.call}.
 *
 * @example
 * await ops.call(name, input, { kind: 'write', internalOnly: true, fence } satisfies CallOptions);
 */
export interface CallOptions extends WriteCallOptions {
  /** Only run the op when it is of this kind (the internal route serves both). */
  readonly kind?: 'read' | 'write';
  /** Only ops open to shards (`internal: true`). */
  readonly internalOnly?: boolean;
}

/**
 * In-process domain ops over the api pod's storage.
 *
 * @example
 * const ops: LocalOps<typeof registry.types> = createLocalOps(storage, { registry });
 */
export interface LocalOps<M> extends DomainOps<M> {
  /** Runs an op by name with unvalidated input (what `/internal/v1/ops/:name` does). */
  call(name: string, rawInput: unknown, opts?: CallOptions): Promise<unknown>;
  readonly registry: OpRegistry<M>;
  /** The typed synchronous database the ops use (also used by the API's read routes). */
  readonly db: SyncDb<ApiDatabase>;
}

const SYSTEM: Actor = { type: 'system', id: null };

/**
 * Runs domain ops in-process (the api pod itself, and `all` mode): input validated by the op's schema,
 * the fence checked, each write in one SQLite transaction together with its audit rows, then the write's
 * cache tags handed to `onCommitted`.
 *
 * @example
 * const ops = createLocalOps(storage, { registry: createOpRegistry(platformOps) }, { onCommitted: (w) => cache.invalidateTags(w.tags) });
 * await ops.write('guilds.upsert', { id, name });
 */
export function createLocalOps<M>(
  storage: Pick<Storage, 'db' | 'sqlite' | 'events'>,
  required: LocalOpsOptions<M>,
  extras: LocalOpsExtras = {},
): LocalOps<M> {
  const db = new SyncDb(storage.db as unknown as Kysely<ApiDatabase>, storage.sqlite);
  const cogs = extras.cogs ?? staticCogCatalog([]);
  const now = extras.now ?? Date.now;
  const metrics = extras.metrics ? opMetrics(extras.metrics) : undefined;
  const auditStmt = () =>
    db.prepare(
      'INSERT INTO audit_log (at, actor_type, actor_id, guild_id, action, target, details, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );

  async function call(name: string, rawInput: unknown, opts: CallOptions = {}): Promise<unknown> {
    const op = required.registry.get(name);
    if (!op || (opts.kind && op.kind !== opts.kind) || (opts.internalOnly && !op.internal)) {
      throw new AppError(404, 'op_not_found', `No ${opts.kind ?? 'domain'} operation named ${name}`);
    }
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await run(op, rawInput, opts);
    } catch (err) {
      outcome = isAppError(err) ? err.code : 'error';
      throw err;
    } finally {
      metrics?.count.inc({ op: op.name, kind: op.kind, outcome });
      metrics?.duration.observe({ kind: op.kind }, (performance.now() - started) / 1000);
    }
  }

  async function run(op: AnyOp, rawInput: unknown, opts: CallOptions): Promise<unknown> {
    const parsed = op.input.safeParse(rawInput);
    if (!parsed.success) throw validationError(parsed.error, 'input');
    const base: ReadContext = { db, events: storage.events, now: now(), cogs };
    if (op.kind === 'read') return op.handler(base, parsed.data);

    if (opts.fence !== undefined) {
      const fence = fenceSchema.safeParse(opts.fence);
      if (!fence.success) throw validationError(fence.error, 'fence');
      if (extras.checkFence && !(await extras.checkFence(fence.data))) {
        throw new AppError(
          409,
          'stale_epoch',
          `Shard ${fence.data.shardId} lease epoch ${fence.data.epoch} (generation ${fence.data.generation}) is no longer current`,
        );
      }
    }
    const actor = opts.actor ?? SYSTEM;
    const requestId = opts.requestId ?? null;
    const audited = new Set<string>();
    const ctx: WriteContext = {
      ...base,
      actor,
      requestId,
      audit: (entry: AuditEntry) => {
        if (entry.guildId) audited.add(`guild:${entry.guildId}:audit`);
        auditStmt().run(
          base.now,
          actor.type,
          actor.id,
          entry.guildId ?? null,
          entry.action,
          entry.target ?? null,
          JSON.stringify(entry.details ?? {}),
          requestId,
        );
      },
    };
    op.before?.(base, parsed.data);
    let output: unknown;
    try {
      output = db.transaction(() => op.handler(ctx, parsed.data));
    } catch (err) {
      throw mapSqliteError(err);
    }
    const write: CommittedWrite = {
      op: op.name,
      tags: [...op.tags(parsed.data, output), ...audited],
      input: parsed.data,
      output,
    };
    if (extras.onCommitted) {
      try {
        await extras.onCommitted(write);
      } catch (err) {
        extras.onCommitError?.(err, write);
      }
    }
    return output;
  }

  return {
    call,
    registry: required.registry,
    db,
    read: (name, input) => call(name, input, { kind: 'read' }) as never,
    write: (name, input, opts) => call(name, input, { ...opts, kind: 'write' }) as never,
  };
}

function mapSqliteError(err: unknown): unknown {
  if (isAppError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    return new AppError(409, 'conflict', 'The change conflicts with existing data', undefined, {
      cause: err,
    });
  }
  return err;
}

const metricCache = new WeakMap<Registry, ReturnType<typeof makeMetrics>>();
function opMetrics(registry: Registry) {
  let m = metricCache.get(registry);
  if (!m) {
    m = makeMetrics(registry);
    metricCache.set(registry, m);
  }
  return m;
}
function makeMetrics(registry: Registry) {
  return {
    count: new Counter({
      name: 'guildhall_domain_ops_total',
      help: 'Domain operations run by the api pod, by op, kind and outcome (ok or error code).',
      labelNames: ['op', 'kind', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'guildhall_domain_op_duration_seconds',
      help: 'Time to run a domain operation (validation, fence check, transaction, invalidation).',
      labelNames: ['kind'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
  };
}
