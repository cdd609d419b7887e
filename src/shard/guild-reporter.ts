import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import type { HeldShard } from './pod.js';

/** A guild as a shard reports it to the api pod (`guilds.sync`). */
interface GuildReport {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string | null;
  readonly icon: string | null;
  readonly memberCount?: number;
}

/** Options of {@link GuildReporter}; defaults in {@link GUILD_REPORTER_DEFAULTS}. */
export interface GuildReporterOptions {
  /** Longest a report waits before it is sent. */
  readonly flushMs: number;
  /** Most guilds per `guilds.sync` call. */
  readonly maxBatch: number;
}

export const GUILD_REPORTER_DEFAULTS = {
  flushMs: 1_000,
  maxBatch: 500,
} as const satisfies GuildReporterOptions;

/** The domain write the reporter calls (in process in role `all`, over /internal/v1 from a shard pod). */
export type GuildSyncWrite = (
  op: 'guilds.sync',
  input: { upsert: GuildReport[]; leave: string[] },
  opts: { fence: { shardId: number; generation: number; epoch: number } },
) => Promise<unknown>;

interface Pending {
  shard: HeldShard;
  readonly upsert: Map<string, GuildReport>;
  readonly leave: Set<string>;
}

/**
 * Tells the api pod which guilds the bot is in, so the admin API can list them (and work out a logged-in
 * user's roles in them): GUILD_CREATE and GUILD_UPDATE become upserts, a GUILD_DELETE that is not an
 * outage (`unavailable`) a leave. Reports are coalesced per shard and sent in batches (`guilds.sync`,
 * one transaction each) carrying the shard lease's fence, so the GUILD_CREATE burst after READY costs a
 * handful of calls and a stale owner's reports are refused. A failed call is retried with the next
 * flush (newer reports of a guild replace older ones); a refused fence drops the batch.
 *
 * @example
 * const reporter = new GuildReporter((op, input, o) => ops.write(op, input, o), log);
 * reporter.observe(payload, shard);
 * lifecycle.onShutdown('guild-reports', () => reporter.close());
 */
export class GuildReporter {
  private readonly opts: GuildReporterOptions;
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly write: GuildSyncWrite,
    private readonly log: Logger,
    opts: Partial<GuildReporterOptions> = {},
  ) {
    this.opts = { ...GUILD_REPORTER_DEFAULTS, ...opts };
  }

  /** Takes note of a dispatch (only guild membership changes matter). */
  observe(payload: GatewayDispatchPayload, shard: HeldShard): void {
    if (this.closed) return;
    if (payload.t === 'GUILD_CREATE' || payload.t === 'GUILD_UPDATE') {
      const g = payload.d;
      const p = this.slot(shard);
      p.leave.delete(g.id);
      p.upsert.set(g.id, {
        id: g.id,
        name: g.name,
        ownerId: g.owner_id ?? null,
        icon: g.icon ?? null,
        ...('member_count' in g && typeof g.member_count === 'number' ? { memberCount: g.member_count } : {}),
      });
    } else if (payload.t === 'GUILD_DELETE') {
      if (payload.d.unavailable) return; // an outage, not a departure
      const p = this.slot(shard);
      p.upsert.delete(payload.d.id);
      p.leave.add(payload.d.id);
    } else return;
    const size = [...this.pending.values()].reduce((n, p) => n + p.upsert.size + p.leave.size, 0);
    if (size >= this.opts.maxBatch) this.schedule(0);
    else this.schedule(this.opts.flushMs);
  }

  /** Sends everything noted so far. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sending = this.sending.then(() => this.sendAll());
    return this.sending;
  }

  /** Sends what is pending and stops. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private slot(shard: HeldShard): Pending {
    const key = `${shard.generation}:${shard.shardId}`;
    let p = this.pending.get(key);
    if (!p) this.pending.set(key, (p = { shard, upsert: new Map(), leave: new Set() }));
    p.shard = shard; // the newest lease's fence
    return p;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), ms);
  }

  private async sendAll(): Promise<void> {
    for (const [key, p] of [...this.pending]) {
      while (p.upsert.size + p.leave.size > 0) {
        const upsert = [...p.upsert.values()].slice(0, this.opts.maxBatch);
        const leave = [...p.leave].slice(0, this.opts.maxBatch - upsert.length);
        const { shardId, generation, epoch } = p.shard;
        try {
          await this.write('guilds.sync', { upsert, leave }, { fence: { shardId, generation, epoch } });
        } catch (err) {
          if (err instanceof AppError && err.code === 'stale_epoch') {
            this.log.info({ shardId, generation }, 'guild reports refused: the shard has a newer owner');
            this.pending.delete(key);
            break;
          }
          this.log.warn(
            { err, shardId, guilds: upsert.length + leave.length },
            'guild report failed; retrying',
          );
          if (!this.closed) this.schedule(this.opts.flushMs * 5);
          return;
        }
        // Drop what was sent unless a newer report of the guild arrived meanwhile.
        for (const g of upsert) if (p.upsert.get(g.id) === g) p.upsert.delete(g.id);
        for (const id of leave) p.leave.delete(id);
      }
      if (p.upsert.size + p.leave.size === 0) this.pending.delete(key);
    }
  }
}
