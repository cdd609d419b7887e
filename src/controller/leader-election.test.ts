import { describe, expect, it } from 'vitest';
import { type ShardLeases, systemClock } from '../coordination/index.js';
import { MemoryHub, createMemoryCoordination } from '../coordination/memory/index.js';
import { silentLogger } from '../logging/logger.js';
import { coordinationLock } from './coordination-lock.js';
import { checkTimings, createLeaderElector } from './leader-election.js';

const timings = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 50 };

/** Runs an elector; records when it led and when its leading signal aborted. */
function candidate(leases: ShardLeases, identity: string) {
  const lock = coordinationLock(leases, { identity, leaseDurationMs: timings.leaseDurationMs });
  const elector = createLeaderElector({ lock, identity, log: silentLogger(), ...timings });
  const stop = new AbortController();
  const terms: { start: number; end?: number; reason?: string }[] = [];
  let stopped = 0;
  const running = elector.run(
    async (leading) => {
      const term: { start: number; end?: number; reason?: string } = { start: Date.now() };
      terms.push(term);
      await new Promise<void>((resolve) =>
        leading.addEventListener('abort', () => resolve(), { once: true }),
      );
      term.end = Date.now();
      term.reason = (leading.reason as Error).message;
    },
    () => stopped++,
    stop.signal,
  );
  return {
    elector,
    terms,
    get stoppedCount() {
      return stopped;
    },
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

describe('leader election engine (coordination lock)', () => {
  it('rejects timings where the leader could outlive its lease', () => {
    expect(checkTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toEqual(
      [],
    );
    expect(
      checkTimings({ leaseDurationMs: 5_000, renewDeadlineMs: 5_000, retryPeriodMs: 2_000 }),
    ).toHaveLength(1);
    expect(() =>
      createLeaderElector({
        lock: coordinationLock(
          createMemoryCoordination({ hub: new MemoryHub(systemClock), log: silentLogger() }).leases,
          {
            identity: 'x',
            leaseDurationMs: 1_000,
          },
        ),
        identity: 'x',
        log: silentLogger(),
        leaseDurationMs: 1_000,
        renewDeadlineMs: 2_000,
      }),
    ).toThrow(/renew deadline/);
  });

  it('one of two leads; a graceful stop hands over at once', async () => {
    const hub = new MemoryHub(systemClock);
    const leases = createMemoryCoordination({ hub, log: silentLogger() }).leases;
    const a = candidate(leases, 'a');
    await until(() => a.elector.isLeader);
    const b = candidate(leases, 'b');
    await new Promise((r) => setTimeout(r, 200));
    expect(b.elector.isLeader).toBe(false);
    const t0 = Date.now();
    await a.stop();
    await until(() => b.elector.isLeader);
    expect(Date.now() - t0).toBeLessThan(timings.leaseDurationMs); // released, not expired
    expect(a.terms[0]!.end).toBeLessThanOrEqual(b.terms[0]!.start);
    expect(a.stoppedCount).toBe(1);
    await b.stop();
  });

  it('a leader whose renewals fail stops acting by the renew deadline, before the standby can acquire', async () => {
    const hub = new MemoryHub(systemClock);
    const real = createMemoryCoordination({ hub, log: silentLogger() }).leases;
    let broken = false;
    let lastRenewOk = 0;
    const flaky: ShardLeases = {
      ...real,
      acquire: (...args) => real.acquire(...args),
      renew: async (...args) => {
        if (broken) throw new Error('redis unreachable');
        const ok = await real.renew(...args);
        if (ok) lastRenewOk = Date.now();
        return ok;
      },
      holders: (g) => real.holders(g),
      release: (...args) => real.release(...args),
    };
    const a = candidate(flaky, 'a');
    await until(() => a.elector.isLeader);
    const b = candidate(real, 'b');
    await new Promise((r) => setTimeout(r, 150));
    broken = true;
    await until(() => b.elector.isLeader, 3_000);
    const aEnd = a.terms[0]!.end!;
    expect(aEnd).toBeDefined();
    expect(aEnd - lastRenewOk).toBeLessThanOrEqual(timings.renewDeadlineMs + 150);
    expect(a.terms[0]!.reason).toMatch(/no successful renewal within 400 ms/);
    expect(b.terms[0]!.start).toBeGreaterThan(aEnd);
    // The lease only lapses leaseDuration after the last renewal: B cannot have led earlier.
    expect(b.terms[0]!.start - lastRenewOk).toBeGreaterThanOrEqual(timings.leaseDurationMs - 20);
    await a.stop();
    await b.stop();
  });

  it('a leader whose renewal is refused (lease taken) stops at once', async () => {
    const hub = new MemoryHub(systemClock);
    const leases = createMemoryCoordination({ hub, log: silentLogger() }).leases;
    const a = candidate(leases, 'a');
    await until(() => a.elector.isLeader);
    // Someone takes the lock over (e.g. it lapsed during a long pause): epoch changes, renewals are refused.
    hub.leases.delete('-1:0');
    await leases.acquire(-1, 0, 'intruder', 60_000);
    await until(() => !a.elector.isLeader, 2_000);
    expect(a.terms[0]!.reason).toMatch(/lease taken by intruder/);
    await a.stop();
  });
});
