import type { Redis } from 'ioredis';
import {
  type Checkpoint,
  type EventLog,
  type EventLogOptions,
  type LogEntry,
  type PendingInfo,
  type ReadOptions,
  pack,
} from '../event-log.js';
import { type RedisGuard, execPipeline } from './connection.js';
import { runScript } from './scripts.js';

type RawEntry = [id: string, fields: string[] | null];

/**
 * {@link EventLog} on a Redis stream with one consumer group. `append` packs `packSize` events per
 * entry (field `e`, a JSON array) and pipelines the XADDs; `read` is XREADGROUP `>` (blocking reads run
 * on a dedicated connection so they never stall other commands); `ack` is XACK plus a lossless trim
 * (exact XTRIM MINID up to the oldest entry some group still needs) in one script; `reclaim` is XAUTOCLAIM. A
 * missing group (first use, or a Redis that restarted empty) is created on demand.
 *
 * @example
 * const log = new RedisEventLog(redis, () => blocking, 'guildhall:log:events', guard, EVENT_LOG_DEFAULTS, 5000);
 */
export class RedisEventLog<T = unknown> implements EventLog<T> {
  private groupReady = false;

  constructor(
    private readonly redis: Redis,
    private readonly blocking: () => Promise<Redis>,
    private readonly key: string,
    private readonly guard: RedisGuard,
    private readonly opts: EventLogOptions,
    private readonly maxBlockMs: number,
  ) {}

  append(events: readonly T[], checkpoints: readonly Checkpoint[] = []): Promise<string[]> {
    return this.guard('eventLog.append', async () => {
      const chunks = pack(events, this.opts.packSize);
      if (chunks.length === 0 && checkpoints.length === 0) return [];
      // MULTI when checkpoints ride along: entries and checkpoints land together or not at all.
      const p = checkpoints.length > 0 ? this.redis.multi() : this.redis.pipeline();
      for (const chunk of chunks) p.xadd(this.key, '*', 'e', JSON.stringify(chunk));
      for (const c of checkpoints) p.set(this.checkpointKey(c.key), c.value, 'PX', c.ttlMs);
      const results = await execPipeline(p);
      return results.slice(0, chunks.length) as string[];
    });
  }

  checkpoint(key: string): Promise<string | null> {
    return this.guard('eventLog.checkpoint', () => this.redis.get(this.checkpointKey(key)));
  }

  private checkpointKey(key: string): string {
    return `${this.key}:checkpoint:${key}`;
  }

  read(consumer: string, opts: ReadOptions): Promise<LogEntry<T>[]> {
    return this.guard('eventLog.read', async () => {
      await this.ensureGroup();
      const block = Math.min(Math.max(0, Math.floor(opts.blockMs)), this.maxBlockMs);
      const blocking = block > 0 ? await this.blocking() : undefined;
      const run = () =>
        blocking
          ? blocking.xreadgroup(
              'GROUP',
              this.opts.group,
              consumer,
              'COUNT',
              opts.count,
              'BLOCK',
              block,
              'STREAMS',
              this.key,
              '>',
            )
          : this.redis.xreadgroup(
              'GROUP',
              this.opts.group,
              consumer,
              'COUNT',
              opts.count,
              'STREAMS',
              this.key,
              '>',
            );
      const res = (await this.retryOnNoGroup(run)) as [string, RawEntry[]][] | null;
      return res ? this.entries(res[0]![1]) : [];
    });
  }

  ack(ids: readonly string[]): Promise<number> {
    return this.guard('eventLog.ack', async () => {
      if (ids.length === 0) return 0;
      try {
        return Number(await runScript(this.redis, 'logAck', [this.key], [this.opts.group, ...ids]));
      } catch (err) {
        if (isNoGroup(err)) return 0; // the stream is gone (Redis restarted empty): nothing is pending
        throw err;
      }
    });
  }

  reclaim(consumer: string, minIdleMs: number, count: number): Promise<LogEntry<T>[]> {
    return this.guard('eventLog.reclaim', async () => {
      await this.ensureGroup();
      const out: LogEntry<T>[] = [];
      let cursor = '0-0';
      for (let round = 0; round < 100 && out.length < count; round++) {
        const res = (await this.retryOnNoGroup(() =>
          this.redis.xautoclaim(
            this.key,
            this.opts.group,
            consumer,
            Math.max(0, Math.floor(minIdleMs)),
            cursor,
            'COUNT',
            count - out.length,
          ),
        )) as [string, RawEntry[], string[]?];
        out.push(...this.entries(res[1]));
        cursor = res[0];
        if (cursor === '0-0') break;
      }
      return out;
    });
  }

  pending(): Promise<PendingInfo> {
    return this.guard('eventLog.pending', async () => {
      await this.ensureGroup();
      const [groups, consumers, length] = (await this.retryOnNoGroup(() =>
        execPipeline(
          this.redis
            .pipeline()
            .xinfo('GROUPS', this.key)
            .xinfo('CONSUMERS', this.key, this.opts.group)
            .xlen(this.key),
        ),
      )) as [unknown[][], unknown[][], number];
      const g = groups.map(record).find((r) => r.name === this.opts.group);
      if (!g) return { pending: 0, lag: 0, length, consumers: [] };
      let lag = g.lag === null || g.lag === undefined ? undefined : Number(g.lag);
      if (lag === undefined) {
        // Redis cannot always tell (e.g. after deletions): count the undelivered entries directly.
        const after = await this.redis.xrange(
          this.key,
          `(${String(g['last-delivered-id'])}`,
          '+',
          'COUNT',
          100_000,
        );
        lag = after.length;
      }
      return {
        pending: Number(g.pending),
        lag,
        length,
        consumers: consumers.map(record).map((c) => ({
          name: String(c.name),
          pending: Number(c.pending),
          idleMs: Number(c.idle),
        })),
      };
    });
  }

  private entries(raw: RawEntry[]): LogEntry<T>[] {
    const out: LogEntry<T>[] = [];
    for (const [id, fields] of raw) {
      if (!fields) continue; // deleted while pending
      const i = fields.indexOf('e');
      out.push({ id, events: i >= 0 ? (JSON.parse(fields[i + 1]!) as T[]) : [] });
    }
    return out;
  }

  private async ensureGroup(force = false): Promise<void> {
    if (this.groupReady && !force) return;
    try {
      await this.redis.xgroup('CREATE', this.key, this.opts.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
    }
    this.groupReady = true;
  }

  private async retryOnNoGroup<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (!isNoGroup(err)) throw err;
      await this.ensureGroup(true);
      return fn();
    }
  }
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && (err.message.startsWith('NOGROUP') || err.message.includes('no such key'));
}

function record(flat: unknown[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (let i = 0; i < flat.length; i += 2) r[String(flat[i])] = flat[i + 1];
  return r;
}
