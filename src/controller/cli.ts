import { type Clock, type Coordination, createCoordination, systemClock } from '../coordination/index.js';
import { AppError } from '../errors/app-error.js';
import type { RoleContext } from '../runtime.js';
import { CONTROLLER_LOCK_GENERATION } from './coordination-lock.js';
import { type ControllerPlan, generationsToRun, planPhase } from './plan.js';
import { observeGeneration } from './readiness.js';
import { submitReshardRequest } from './requests.js';
import { type ControllerStatus, answerFor, readControllerStatus } from './status.js';

/**
 * Where CLI output goes (stdout for results, stderr for progress), injectable for tests.
 *
 * @example
 * const io: CommandIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), isTTY: false };
 */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Draw the progress bar in place (`\r`) instead of one line per change. */
  readonly isTTY?: boolean | undefined;
}

/**
 * What the CLI functions can be handed instead of building them from the config (tests, role `all`).
 *
 * @example
 * await planCommand(ctx, {}, { coordination, io });
 */
export interface CliDeps {
  readonly coordination?: Coordination | undefined;
  readonly io?: CommandIo | undefined;
  readonly clock?: Clock | undefined;
  /** Status polling interval (default 500 ms). */
  readonly pollMs?: number | undefined;
}

const processIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

async function withCoordination<T>(
  ctx: RoleContext,
  deps: CliDeps,
  fn: (c: Coordination) => Promise<T>,
): Promise<T> {
  if (deps.coordination) return fn(deps.coordination);
  if (!ctx.config.redis.url)
    throw new AppError(
      400,
      'redis_required',
      'REDIS_URL is not set: the plan lives in Redis (in role `all` it is in memory and only the running process sees it)',
    );
  const c = await createCoordination({
    redisUrl: ctx.config.redis.url,
    keyPrefix: ctx.config.redis.keyPrefix,
    log: ctx.log.child({ module: 'coordination' }),
    redis: { commandTimeoutMs: ctx.config.coordination.redisCommandTimeoutMs },
  });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * `guildhall plan`: prints the published shard plan (phase, generations), the controller status
 * (leader, conditions, counts, reshard progress) and every generation's leases as a table (shard,
 * holder, epoch, expiry, READY). With `json`, prints `{ plan, status, leases }` instead.
 *
 * @example
 * // src/cli.ts
 * program.command('plan').option('--json').action((o) => runOnce('tool', async (ctx) =>
 *   (await import('./controller/index.js')).planCommand(ctx, { json: o.json })));
 */
export async function planCommand(
  ctx: RoleContext,
  opts: { readonly json?: boolean | undefined } = {},
  deps: CliDeps = {},
): Promise<void> {
  const io = deps.io ?? processIo;
  const clock = deps.clock ?? systemClock;
  await withCoordination(ctx, deps, async (c) => {
    const plan = (await c.plans.get()) as ControllerPlan | null;
    const status = await readControllerStatus(c);
    const [lock] = await c.leases.holders(CONTROLLER_LOCK_GENERATION);
    const generations = plan ? generationsToRun(plan) : [];
    const observed = await Promise.all(
      generations.map(async (g) => ({
        ...g,
        readiness: await observeGeneration(c, g.generation, g.totalShards),
      })),
    );
    const leases = await Promise.all(
      generations.map(async (g) => ({
        generation: g.generation,
        holders: await c.leases.holders(g.generation),
      })),
    );
    if (opts.json) {
      io.out(`${JSON.stringify({ plan, status, leases: observed.map((o) => ({ ...o })) }, null, 2)}\n`);
      return;
    }
    const now = clock.now();
    const lines: string[] = [];
    if (!plan) {
      lines.push('No shard plan published yet (is a controller running?).');
    } else {
      lines.push(
        `Plan: generation ${plan.generation} · ${plan.totalShards} shards · max_concurrency ${plan.maxConcurrency} · ${plan.shardsPerPod} shards/pod · phase ${planPhase(plan)}`,
      );
      if (plan.next)
        lines.push(
          `  next: generation ${plan.next.generation} · ${plan.next.totalShards} shards (shadow, started ${ago(now, plan.next.startedAt)})`,
        );
      if (plan.previous)
        lines.push(
          `  previous: generation ${plan.previous.generation} · ${plan.previous.totalShards} shards (draining since ${ago(now, plan.previous.cutoverAt)})`,
        );
      if (plan.aborted)
        lines.push(
          `  last rollback: generation ${plan.aborted.generation} (${plan.aborted.totalShards} shards) ${ago(now, plan.aborted.at)}: ${plan.aborted.reason}`,
        );
    }
    lines.push(...statusLines(status, lock?.holder ?? null, now));
    for (const o of observed) {
      lines.push('');
      lines.push(
        `Generation ${o.generation} (${o.mode}): ${o.readiness.leased}/${o.totalShards} leased, ${o.readiness.ready}/${o.totalShards} READY`,
      );
      const held = new Map(
        leases.find((l) => l.generation === o.generation)?.holders.map((h) => [h.shardId, h]),
      );
      lines.push(
        ...table(
          ['SHARD', 'HOLDER', 'EPOCH', 'EXPIRES', 'READY'],
          o.readiness.shards.map((s) => {
            const h = held.get(s.shardId);
            return [
              String(s.shardId),
              s.holder ?? '-',
              s.epoch === null ? '-' : String(s.epoch),
              h ? `${((h.expiresAt - now) / 1000).toFixed(1)}s` : '-',
              s.ready ? 'yes' : 'no',
            ];
          }),
        ),
      );
    }
    io.out(`${lines.join('\n')}\n`);
  });
}

/**
 * Options of {@link reshardCommand}.
 *
 * @example
 * const o: ReshardCommandOptions = { shards: 12, wait: true };
 */
export interface ReshardCommandOptions {
  readonly shards?: number | undefined;
  /** Abort the reshard in flight (roll back to the current generation). */
  readonly abort?: boolean | undefined;
  /** Follow the reshard to its end with a progress bar on stderr. */
  readonly wait?: boolean | undefined;
  /** How long to wait for the leader to answer (default 30 s). */
  readonly answerTimeoutMs?: number | undefined;
  /** How long `wait` follows the reshard before giving up (default 1 h). */
  readonly waitTimeoutMs?: number | undefined;
}

/**
 * `guildhall reshard --shards N [--wait]` (and `--abort`): asks the leading controller (request key in
 * Redis plus a pub/sub wake-up) to reshard, prints its answer (refusals fail with the refusal code, e.g.
 * `not_multiple_of_max_concurrency`, `identify_budget_insufficient`), and with `wait` draws progress
 * (phase, READY/total) on stderr until the reshard completed (exit 0) or rolled back (error
 * `reshard_rolled_back`).
 *
 * @example
 * // src/cli.ts
 * program.command('reshard').requiredOption('--shards <n>', 'new shard count', Number).option('--wait')
 *   .action((o) => runOnce('tool', async (ctx) => (await import('./controller/index.js')).reshardCommand(ctx, o)));
 */
export async function reshardCommand(
  ctx: RoleContext,
  opts: ReshardCommandOptions,
  deps: CliDeps = {},
): Promise<void> {
  const io = deps.io ?? processIo;
  const clock = deps.clock ?? systemClock;
  const pollMs = deps.pollMs ?? 500;
  if (!opts.abort && (opts.shards === undefined || !Number.isSafeInteger(opts.shards) || opts.shards < 1))
    throw new AppError(
      400,
      'invalid_shard_count',
      `--shards must be a positive whole number (got ${String(opts.shards)})`,
    );
  await withCoordination(ctx, deps, async (c) => {
    const request = await submitReshardRequest(c, {
      ...(opts.abort ? { abort: true } : { shards: opts.shards }),
      requestedBy: `cli:${ctx.config.shard.podName}`,
    });
    const answerBy = clock.now() + (opts.answerTimeoutMs ?? 30_000);
    let status: ControllerStatus | null = null;
    let answer: ReturnType<typeof answerFor>;
    for (;;) {
      status = await readControllerStatus(c);
      answer = answerFor(status, request.id);
      if (answer) break;
      if (clock.now() > answerBy)
        throw new AppError(
          504,
          'controller_unavailable',
          `no controller answered the reshard request within ${Math.round((opts.answerTimeoutMs ?? 30_000) / 1000)} s (is a controller running and leading?); the request stays pending for an hour`,
        );
      await clock.sleep(pollMs);
    }
    if (answer.outcome === 'refused')
      throw new AppError(
        409,
        answer.code ?? 'reshard_refused',
        `reshard refused: ${answer.message ?? answer.code}`,
      );
    io.out(
      opts.abort
        ? `Abort accepted: rolling back to generation ${status?.plan?.generation}.\n`
        : `Reshard accepted: ${status?.reshard?.fromShards ?? '?'} → ${opts.shards} shards (generation ${status?.reshard?.toGeneration ?? '?'}).\n`,
    );
    if (!opts.wait) return;

    const until = clock.now() + (opts.waitTimeoutMs ?? 60 * 60_000);
    let lastLine = '';
    const draw = (line: string) => {
      if (line === lastLine) return;
      lastLine = line;
      io.err(io.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    };
    for (;;) {
      status = await readControllerStatus(c);
      const last = status?.lastReshard;
      if (opts.abort ? status?.reshard === null : last?.requestId === request.id) {
        if (io.isTTY) io.err('\n');
        if (opts.abort || last?.outcome === 'completed') {
          io.out(
            opts.abort
              ? `Rolled back: generation ${status?.plan?.generation} with ${status?.plan?.totalShards} shards.\n`
              : `Reshard completed: generation ${last!.toGeneration} with ${last!.toShards} shards is active.\n`,
          );
          return;
        }
        throw new AppError(
          500,
          'reshard_rolled_back',
          `reshard rolled back: ${last?.reason ?? 'unknown reason'}`,
        );
      }
      const r = status?.reshard;
      if (r)
        draw(
          progressLine(
            r.phase,
            r.phase === 'overlap' ? r.ready : r.total - Math.min(r.total, r.leased),
            r.total,
            r.phase === 'draining' ? `${r.leased} old leases held` : `${r.leased} leased`,
          ),
        );
      if (clock.now() > until)
        throw new AppError(
          504,
          'reshard_wait_timeout',
          'gave up waiting; the reshard continues (see `guildhall plan`)',
        );
      await clock.sleep(pollMs);
    }
  });
}

/**
 * One progress line: `[#########-----------] 9/20 READY · overlap · 20 leased`.
 *
 * @example
 * progressLine('overlap', 9, 20, '20 leased');
 */
export function progressLine(phase: string, done: number, total: number, extra = ''): string {
  const width = 24;
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} READY · ${phase}${extra ? ` · ${extra}` : ''}`;
}

function statusLines(status: ControllerStatus | null, lockHolder: string | null, now: number): string[] {
  if (!status) return [`Controller: no status yet${lockHolder ? ` (leader ${lockHolder})` : ''}.`];
  const c = status.counts;
  const lines = [
    `Controller: leader ${status.leader} · status ${ago(now, Date.parse(status.updatedAt))} · recommended ${status.desired.recommendedShards ?? '?'} · target ${status.desired.targetShards ?? '?'}${status.desired.source === 'fixed' ? ' (fixed)' : ''}`,
    `  shards ${c.leased}/${c.totalShards} leased, ${c.ready}/${c.totalShards} READY · replicas ${c.replicas ?? '-'} (want ${c.desiredReplicas ?? '-'}) · pods ready ${c.podsReady ?? '-'}/${c.podsTotal ?? '-'} · identify budget ${status.identifyBudget ? `${status.identifyBudget.remaining}/${status.identifyBudget.total}` : 'unknown'}`,
  ];
  if (status.desired.blocked)
    lines.push(`  blocked: ${status.desired.blocked.code}: ${status.desired.blocked.message}`);
  if (status.reshard)
    lines.push(
      `  reshard: ${progressLine(status.reshard.phase, status.reshard.ready, status.reshard.total, `generation ${status.reshard.fromGeneration} → ${status.reshard.toGeneration}`)}`,
    );
  if (status.lastReshard)
    lines.push(
      `  last reshard: ${status.lastReshard.fromShards} → ${status.lastReshard.toShards} ${status.lastReshard.outcome}${status.lastReshard.reason ? ` (${status.lastReshard.reason})` : ''}`,
    );
  if (status.lastError)
    lines.push(`  last error: ${status.lastError.message} (${ago(now, Date.parse(status.lastError.at))})`);
  lines.push('Conditions:');
  lines.push(
    ...table(
      ['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'],
      status.conditions.map((x) => [
        x.type,
        x.status,
        x.reason,
        ago(now, Date.parse(x.lastTransitionTime)),
        x.message,
      ]),
    ).map((l) => `  ${l}`),
  );
  return lines;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

function ago(now: number, then: number): string {
  if (!Number.isFinite(then)) return '?';
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s ago`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m ago`;
}
