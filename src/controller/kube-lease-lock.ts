import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { type Clock, systemClock } from '../coordination/index.js';
import type { KubeApi } from './kube-client.js';
import type { LeaderLock, LockAttempt } from './leader-election.js';

/**
 * Options of {@link kubeLeaseLock}.
 *
 * @example
 * const opts: KubeLeaseLockOptions = { name: 'guildhall-controller', identity: 'controller-0_ab12', leaseDurationMs: 15_000 };
 */
export interface KubeLeaseLockOptions {
  /** Lease name (`LEADER_LEASE_NAME`); the namespace is the API's. */
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly clock?: Clock | undefined;
}

/** The spec fields that make up a leader election record. */
interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaseTransitions: number;
}

/**
 * A {@link LeaderLock} on a `coordination.k8s.io/v1` Lease, with client-go's semantics: the Lease records
 * holder, acquire/renew times and transitions; every write is optimistic (the `resourceVersion` read is
 * sent back, so a concurrent writer gets 409 Conflict and loses). Expiry is judged with the **local**
 * clock from when this process last saw the record change (not from `renewTime`), so clock skew between
 * nodes does not matter. Release clears the holder so a standby takes over at once.
 *
 * @example
 * const lock = kubeLeaseLock(api, { name: 'guildhall-controller', identity, leaseDurationMs: 15_000 });
 */
export function kubeLeaseLock(api: KubeApi, opts: KubeLeaseLockOptions): LeaderLock {
  const clock = opts.clock ?? systemClock;
  const seconds = Math.max(1, Math.ceil(opts.leaseDurationMs / 1000));
  let observed: { key: string; at: number } | undefined;
  let last: V1Lease | undefined;

  const observe = (record: LeaseRecord | null) => {
    const key = JSON.stringify(record);
    if (observed?.key !== key) observed = { key, at: clock.now() };
  };

  return {
    description: `Lease ${api.namespace}/${opts.name}`,
    async tryAcquireOrRenew(signal): Promise<LockAttempt> {
      const now = clock.now();
      const mine = (prev: LeaseRecord | null): V1Lease['spec'] => {
        const renewing = prev?.holderIdentity === opts.identity;
        return {
          holderIdentity: opts.identity,
          leaseDurationSeconds: seconds,
          acquireTime: renewing && prev ? microTime(prev.acquireTime) : new V1MicroTime(now),
          renewTime: new V1MicroTime(now),
          leaseTransitions: renewing ? (prev?.leaseTransitions ?? 0) : (prev?.leaseTransitions ?? -1) + 1,
        };
      };

      const current = await api.readLease(opts.name, signal);
      if (!current) {
        const created = await api.createLease(
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: opts.name, namespace: api.namespace },
            spec: mine(null),
          },
          signal,
        );
        if (!created) return { held: false, holder: null };
        last = created;
        observe(recordOf(created));
        return { held: true };
      }

      const record = recordOf(current);
      observe(record);
      const holder = record?.holderIdentity || null;
      const durationMs = (record?.leaseDurationSeconds ?? seconds) * 1000;
      const valid = holder !== null && (observed?.at ?? now) + durationMs > now;
      if (holder !== opts.identity && valid) return { held: false, holder };

      const updated = await api.replaceLease(
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...current.metadata, name: opts.name },
          spec: { ...current.spec, ...mine(record) },
        },
        signal,
      );
      if (!updated) return { held: false, holder };
      last = updated;
      observe(recordOf(updated));
      return { held: true };
    },
    async release() {
      if (!last) return;
      const lease = last;
      last = undefined;
      const signal = AbortSignal.timeout(Math.max(1_000, opts.leaseDurationMs / 3));
      const current = await api.readLease(opts.name, signal);
      if (!current || recordOf(current)?.holderIdentity !== opts.identity) return;
      const now = new V1MicroTime(clock.now());
      await api.replaceLease(
        {
          ...current,
          metadata: { ...current.metadata, name: opts.name },
          spec: {
            ...current.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: lease.spec?.leaseTransitions ?? 0,
          },
        },
        signal,
      );
    },
  };
}

function recordOf(lease: V1Lease): LeaseRecord | null {
  const s = lease.spec;
  if (!s) return null;
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: timeString(s.acquireTime),
    renewTime: timeString(s.renewTime),
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

/** client-node hands MicroTime fields back as strings or Dates depending on the path; compare as text. */
function timeString(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : '';
}

function microTime(v: string): V1MicroTime {
  const ms = Date.parse(v);
  return new V1MicroTime(Number.isNaN(ms) ? Date.now() : ms);
}
