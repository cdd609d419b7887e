// Shared helpers of the controller integration tests: spawn controller child processes, build an
// in-process controller role from an environment, poll until a condition holds, and record who wrote
// the controller status over time.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  type ControllerHandle,
  type ControllerRoleDeps,
  controllerRole,
  readControllerStatus,
} from '../../src/controller/index.js';
import type { Coordination } from '../../src/coordination/index.js';
import { type RoleContext, createRoleContext } from '../../src/runtime.js';
import { type SimulatorHandle, createSimulator } from '../../src/sim/index.js';
import { ROOT, childEnv, waitForLine } from '../helpers/cli.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 25 ms; resolves with the elapsed ms, rejects after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export interface ChildController {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly identity: string;
  kill(): Promise<void>;
}

/** Spawns tests/controller/fixtures/controller-child.ts with `env`; resolves once it is listening. */
export async function spawnController(env: Record<string, string>): Promise<ChildController> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tests/controller/fixtures/controller-child.ts')],
    {
      cwd: ROOT,
      env: childEnv({ LOG_LEVEL: 'warn', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await waitForLine(proc, /^CONTROLLER /, 60_000).catch((err: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${err.message}\n${stderr}`);
  });
  const [, url, identity] = line.trim().split(' ');
  return {
    proc,
    url: url!,
    identity: identity!,
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** An in-process controller role (real config parsing, real HTTP server) and its shutdown. */
export async function startController(
  env: Record<string, string>,
  deps: ControllerRoleDeps = {},
): Promise<{ ctx: RoleContext; handle: ControllerHandle; stop: () => Promise<void> }> {
  const ctx = createRoleContext('controller', {
    LOG_LEVEL: 'silent',
    METRICS_DEFAULT: 'false',
    CONTROLLER_PORT: '0',
    ...env,
  });
  const handle = await controllerRole(ctx, deps);
  return { ctx, handle, stop: async () => void (await ctx.lifecycle.shutdown('test')) };
}

/** Records every distinct controller status write (leader + updatedAt) seen by polling Redis. */
export function watchStatusWriters(coordination: Coordination, everyMs = 20) {
  const seen: { leader: string; at: number }[] = [];
  let last = '';
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const s = await readControllerStatus(coordination);
        if (s && `${s.leader}@${s.updatedAt}` !== last) {
          last = `${s.leader}@${s.updatedAt}`;
          seen.push({ leader: s.leader, at: Date.parse(s.updatedAt) });
        }
      } catch {
        // Redis hiccup: keep polling.
      }
      await sleep(everyMs);
    }
  })();
  return {
    seen,
    /** Leaders in order of their writes, consecutive repeats collapsed: [A, B] means "A, then only B". */
    blocks: () => seen.map((s) => s.leader).filter((l, i, a) => i === 0 || a[i - 1] !== l),
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Collapses consecutive repeats: ['a','a','b','b'] → ['a','b']. */
export function blocks(values: string[]): string[] {
  return values.filter((v, i, a) => i === 0 || a[i - 1] !== v);
}

/**
 * The Discord simulator (src/sim) with small guilds (the controller only needs GET /gateway/bot and the
 * guild count), optionally on a given port and token (to bring "Discord" back after an outage).
 */
export async function startSimulator(
  guilds: number,
  opts: { port?: number; token?: string } = {},
): Promise<SimulatorHandle> {
  return createSimulator({ guilds, membersPerGuild: 1, channelsPerGuild: 1, rolesPerGuild: 2, ...opts });
}

/** Adds guilds to the simulator's world (the bot joins them quietly), so Discord's recommendation grows. */
export function addGuilds(sim: SimulatorHandle, count: number): void {
  for (let i = 0; i < count; i++) sim.world.addGuild({ members: 1, channels: 1, roles: 2, announce: false });
}
