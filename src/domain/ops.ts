import { z } from 'zod';
import type { EventStore } from '../storage/index.js';
import type { CogCatalog } from './cog-catalog.js';
import type { SyncDb } from './sync-db.js';
import type { ApiDatabase } from './tables.js';

/**
 * Who asked for a write; stored in the audit log.
 *
 * @example
 * const actor: Actor = { type: 'user', id: '1180000000000000001' };
 */
export interface Actor {
  readonly type: 'user' | 'api_key' | 'service' | 'system';
  readonly id: string | null;
}

/**
 * The fencing token a shard attaches to writes made on behalf of a leased shard: the plan generation, the
 * shard id and the lease's monotonic epoch. A write whose token is no longer current is refused
 * (`409 stale_epoch`), so a stale owner's late writes never land.
 *
 * @example
 * fenceSchema.parse({ shardId: 3, generation: 2, epoch: 17 });
 */
export const fenceSchema = z.strictObject({
  shardId: z.number().int().min(0),
  generation: z.number().int().min(0),
  epoch: z.number().int().min(0),
});

/**
 * See {@link fenceSchema}.
 *
 * @example
 * const fence: Fence = { shardId: 3, generation: 2, epoch: 17 };
 */
export type Fence = z.infer<typeof fenceSchema>;

/**
 * One row for the audit log; `actor` and `requestId` come from the call.
 *
 * @example
 * ctx.audit({ action: 'cog.enable', guildId, target: 'leveling' } satisfies AuditEntry);
 */
export interface AuditEntry {
  readonly action: string;
  readonly guildId?: string | null;
  readonly target?: string | null;
  readonly details?: Record<string, unknown>;
}

/**
 * What a read handler gets: the database (synchronous, typed), the event store, the clock and services.
 *
 * @example
 * const rows = (ctx: ReadContext) => ctx.db.all(ctx.db.q.selectFrom('guilds').selectAll());
 */
export interface ReadContext {
  readonly db: SyncDb<ApiDatabase>;
  readonly events: EventStore;
  readonly now: number;
  readonly cogs: CogCatalog;
}

/**
 * What a write handler gets: a {@link ReadContext} inside one transaction, plus the audit log.
 *
 * @example
 * (ctx: WriteContext) => ctx.audit({ action: 'x' });
 */
export interface WriteContext extends ReadContext {
  readonly actor: Actor;
  readonly requestId: string | null;
  /** Appends to `audit_log` in the same transaction as the change. */
  audit(entry: AuditEntry): void;
}

/**
 * Options of an operation.
 *
 * @example
 * defineWrite('x.y', schema, handler, { tags: (i) => [`guild:${i.guildId}`], internal: false });
 */
export interface OpOptions<I, O> {
  /** Cache tags the write makes stale (invalidated after commit). */
  readonly tags?: (input: I, output: O) => readonly string[];
  /**
   * Writes only: runs synchronously right before the transaction, outside it (e.g. to fold the event
   * store's pending rollups, which must not happen inside a transaction that could still roll back).
   */
  readonly before?: (ctx: ReadContext, input: I) => void;
  /** May shards call it over `/internal/v1`? Admin-only operations say false. Default true. */
  readonly internal?: boolean;
  readonly description?: string;
}

interface OpBase<N extends string, I, O, In> {
  readonly name: N;
  /** Validates calls; `In` is what callers pass (before defaults), `I` what the handler gets. */
  readonly input: z.ZodType<I, In>;
  readonly output: z.ZodType<O> | undefined;
  readonly internal: boolean;
  readonly description: string | undefined;
}

/**
 * A read operation (no transaction, no audit).
 *
 * @example
 * const op: ReadOp = defineRead('x.get', z.strictObject({}), () => 1);
 */
export interface ReadOp<N extends string = string, I = unknown, O = unknown, In = I> extends OpBase<
  N,
  I,
  O,
  In
> {
  readonly kind: 'read';
  handler(ctx: ReadContext, input: I): O;
}

/**
 * A write operation: runs in one SQLite transaction together with its audit rows.
 *
 * @example
 * const op: WriteOp = defineWrite('x.set', z.strictObject({}), () => 1);
 */
export interface WriteOp<N extends string = string, I = unknown, O = unknown, In = I> extends OpBase<
  N,
  I,
  O,
  In
> {
  readonly kind: 'write';
  handler(ctx: WriteContext, input: I): O;
  tags(input: I, output: O): readonly string[];
  before?(ctx: ReadContext, input: I): void;
}

/**
 * Any operation.
 *
 * @example
 * const ops: AnyOp[] = [...platformOps];
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOp = ReadOp<string, any, any, any> | WriteOp<string, any, any, any>;

type Handler<C, S extends z.ZodType, O> = (ctx: C, input: z.output<S>) => O;

/**
 * Declares a domain read. The input schema validates every call (local or remote); the optional output
 * schema documents the result and is checked by the remote client.
 *
 * @example
 * export const listCases = defineRead('cases.list', z.strictObject({ guildId: z.string() }), (ctx, input) =>
 *   ctx.db.all(ctx.db.q.selectFrom('cases').selectAll().where('guild_id', '=', input.guildId)),
 * );
 */
export function defineRead<N extends string, S extends z.ZodType, O>(
  name: N,
  input: S,
  handler: Handler<ReadContext, S, O>,
  opts?: OpOptions<z.output<S>, O>,
): ReadOp<N, z.output<S>, O, z.input<S>>;
export function defineRead<N extends string, S extends z.ZodType, OS extends z.ZodType>(
  name: N,
  input: S,
  output: OS,
  handler: Handler<ReadContext, S, z.input<OS>>,
  opts?: OpOptions<z.output<S>, z.input<OS>>,
): ReadOp<N, z.output<S>, z.input<OS>, z.input<S>>;
export function defineRead(name: string, input: z.ZodType, ...rest: unknown[]): ReadOp {
  const { output, handler, opts } = splitArgs(rest);
  return {
    kind: 'read',
    name,
    input,
    output,
    handler: handler as ReadOp['handler'],
    internal: opts.internal ?? true,
    description: opts.description,
  };
}

/**
 * Declares a domain write. It runs in one SQLite transaction (with the audit rows it appends); after the
 * commit the cache tags it names are invalidated.
 *
 * @example
 * export const setCogEnabled = defineWrite('cogs.setEnabled', schema, (ctx, input) => { ... },
 *   { tags: (input) => [`guild:${input.guildId}:cogs`] });
 */
export function defineWrite<N extends string, S extends z.ZodType, O>(
  name: N,
  input: S,
  handler: Handler<WriteContext, S, O>,
  opts?: OpOptions<z.output<S>, O>,
): WriteOp<N, z.output<S>, O, z.input<S>>;
export function defineWrite<N extends string, S extends z.ZodType, OS extends z.ZodType>(
  name: N,
  input: S,
  output: OS,
  handler: Handler<WriteContext, S, z.input<OS>>,
  opts?: OpOptions<z.output<S>, z.input<OS>>,
): WriteOp<N, z.output<S>, z.input<OS>, z.input<S>>;
export function defineWrite(name: string, input: z.ZodType, ...rest: unknown[]): WriteOp {
  const { output, handler, opts } = splitArgs(rest);
  return {
    kind: 'write',
    name,
    input,
    output,
    handler: handler as WriteOp['handler'],
    tags: (opts.tags ?? (() => [])) as WriteOp['tags'],
    ...(opts.before ? { before: opts.before as NonNullable<WriteOp['before']> } : {}),
    internal: opts.internal ?? true,
    description: opts.description,
  };
}

function splitArgs(rest: unknown[]): {
  output: z.ZodType | undefined;
  handler: unknown;
  opts: OpOptions<unknown, unknown>;
} {
  if (typeof rest[0] === 'function') {
    return { output: undefined, handler: rest[0], opts: (rest[1] ?? {}) as OpOptions<unknown, unknown> };
  }
  return {
    output: rest[0] as z.ZodType,
    handler: rest[1],
    opts: (rest[2] ?? {}) as OpOptions<unknown, unknown>,
  };
}

/**
 * Maps op names to their definitions, from a tuple of ops.
 *
 * @example
 * type Ops = OpMap<typeof platformOps>;
 */
export type OpMap<T extends readonly AnyOp[]> = { [O in T[number] as O['name']]: O };

/**
 * What callers pass to an op (its input schema's input type: defaults may be omitted).
 *
 * @example
 * type In = OpInput<typeof guildsUpsert>;
 */
export type OpInput<O> = O extends { readonly input: z.ZodType<unknown, infer In> } ? In : never;
/**
 * The output type of an op.
 *
 * @example
 * type Out = OpOutput<typeof guildsUpsert>;
 */
export type OpOutput<O> = O extends { handler(ctx: never, input: never): infer R } ? R : never;

/**
 * Names of the read ops in a map.
 *
 * @example
 * type Reads = ReadNames<OpMap<typeof platformOps>>; // 'guilds.get' | …
 */
export type ReadNames<M> = { [K in keyof M]: M[K] extends { kind: 'read' } ? K : never }[keyof M] & string;
/**
 * Names of the write ops in a map.
 *
 * @example
 * type Writes = WriteNames<OpMap<typeof platformOps>>; // 'guilds.upsert' | …
 */
export type WriteNames<M> = { [K in keyof M]: M[K] extends { kind: 'write' } ? K : never }[keyof M] & string;

/**
 * A set of operations by name.
 *
 * @example
 * const registry: OpRegistry = createOpRegistry(platformOps);
 */
export interface OpRegistry<M = Record<string, AnyOp>> {
  get(name: string): AnyOp | undefined;
  list(): readonly AnyOp[];
  /** Type-only: the op map, for `DomainOps<typeof registry.types>`. */
  readonly types: M;
}

/**
 * Builds a registry from op definitions; duplicate names are a programming error.
 *
 * @example
 * const registry = createOpRegistry(platformOps);
 * const ops = createLocalOps(storage, { registry });
 */
export function createOpRegistry<const T extends readonly AnyOp[]>(...groups: T[]): OpRegistry<OpMap<T>> {
  const byName = new Map<string, AnyOp>();
  for (const op of groups.flat()) {
    if (byName.has(op.name)) throw new Error(`duplicate domain op: ${op.name}`);
    byName.set(op.name, op);
  }
  const all = [...byName.values()];
  return {
    get: (name) => byName.get(name),
    list: () => all,
    types: undefined as unknown as OpMap<T>,
  };
}

/**
 * Per-call options of a write.
 *
 * @example
 * await ops.write('guilds.upsert', input, { fence, requestId } satisfies WriteCallOptions);
 */
export interface WriteCallOptions {
  readonly fence?: Fence;
  readonly actor?: Actor;
  readonly requestId?: string;
}

/**
 * How callers run domain ops: in-process in `all` mode ({@link createLocalOps}), over HTTP from a shard pod
 * ({@link createRemoteOps}). Both return promises so callers do not care which one they hold.
 *
 * @example
 * const ops: DomainOps<typeof registry.types> = createRemoteOps(url, token);
 */
export interface DomainOps<M = Record<string, AnyOp>> {
  read<N extends ReadNames<M>>(name: N, input: OpInput<M[N]>): Promise<OpOutput<M[N]>>;
  write<N extends WriteNames<M>>(
    name: N,
    input: OpInput<M[N]>,
    opts?: WriteCallOptions,
  ): Promise<OpOutput<M[N]>>;
}
