import type { V1Pod } from '@kubernetes/client-node';
import type { KubeApi } from './kube-client.js';

/**
 * Pods of the shard StatefulSet as observed.
 *
 * @example
 * const p: PodCounts = { total: 3, ready: 2, names: ['guildhall-shard-0', 'guildhall-shard-1', 'guildhall-shard-2'] };
 */
export interface PodCounts {
  readonly total: number;
  readonly ready: number;
  readonly names: readonly string[];
}

/**
 * A Kubernetes Event the controller records on the shard StatefulSet.
 *
 * @example
 * const e: WorkloadEvent = { type: 'Normal', reason: 'ReshardStarted', message: '8 → 12 shards' };
 */
export interface WorkloadEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/**
 * What the controller scales: the shard StatefulSet (or nothing, outside a cluster). Tiny on purpose.
 *
 * @example
 * const replicas = await workload.replicas(signal);
 * if (replicas !== wanted) await workload.scale(wanted, signal);
 */
export interface ShardWorkload {
  /** e.g. `StatefulSet guildhall/guildhall-shard`, or `none`. */
  readonly description: string;
  /** `spec.replicas` from the scale subresource; null when there is no workload to scale. */
  replicas(signal: AbortSignal): Promise<number | null>;
  scale(replicas: number, signal: AbortSignal): Promise<void>;
  pods(signal: AbortSignal): Promise<PodCounts | null>;
  /** Records an event (best effort: callers log failures and carry on). */
  event(event: WorkloadEvent, signal: AbortSignal): Promise<void>;
}

/**
 * The workload when no Kubernetes API is configured (role `all`, local runs): nothing to scale.
 *
 * @example
 * const workload = kube ? statefulSetWorkload(kube, { name, component, instance }) : noWorkload;
 */
export const noWorkload: ShardWorkload = {
  description: 'none',
  replicas: async () => null,
  scale: async () => undefined,
  pods: async () => null,
  event: async () => undefined,
};

/**
 * Options of {@link statefulSetWorkload}.
 *
 * @example
 * const opts: StatefulSetWorkloadOptions = { name: 'guildhall-shard', component: 'guildhall-controller', instance: 'controller-0_ab12' };
 */
export interface StatefulSetWorkloadOptions {
  readonly name: string;
  /** Event `source.component` / `reportingComponent`. */
  readonly component: string;
  /** Event `reportingInstance` (the controller identity). */
  readonly instance: string;
  readonly now?: (() => number) | undefined;
}

/**
 * The shard StatefulSet through the Kubernetes API: replicas via the scale subresource (get/patch),
 * pods via a list with the StatefulSet's own label selector (from the scale subresource's
 * `status.selector`, falling back to `spec.selector.matchLabels`), events via core/v1 events create.
 *
 * @example
 * const workload = statefulSetWorkload(api, { name: 'guildhall-shard', component: 'guildhall-controller', instance: identity });
 */
export function statefulSetWorkload(api: KubeApi, opts: StatefulSetWorkloadOptions): ShardWorkload {
  const now = opts.now ?? Date.now;
  let selector: string | null = null;
  let uid: string | undefined;

  const resolveSelector = async (signal: AbortSignal): Promise<string> => {
    if (selector) return selector;
    const scale = await api.readScale(opts.name, signal);
    if (scale.selector) {
      selector = scale.selector;
      return selector;
    }
    const sts = await api.readStatefulSet(opts.name, signal);
    uid = sts.metadata?.uid;
    const labels = sts.spec?.selector?.matchLabels ?? {};
    selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return selector;
  };

  return {
    description: `StatefulSet ${api.namespace}/${opts.name}`,
    async replicas(signal) {
      return (await api.readScale(opts.name, signal)).replicas;
    },
    async scale(replicas, signal) {
      await api.patchScale(opts.name, replicas, signal);
    },
    async pods(signal) {
      const pods = await api.listPods(await resolveSelector(signal), signal);
      return {
        total: pods.length,
        ready: pods.filter(isReady).length,
        names: pods.map((p) => p.metadata?.name ?? '').filter((n) => n.length > 0),
      };
    },
    async event(event, signal) {
      const at = new Date(now());
      await api.createEvent(
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${opts.name}.`, namespace: api.namespace },
          involvedObject: {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            name: opts.name,
            namespace: api.namespace,
            ...(uid ? { uid } : {}),
          },
          type: event.type,
          reason: event.reason,
          message: event.message,
          source: { component: opts.component },
          reportingComponent: opts.component,
          reportingInstance: opts.instance.slice(0, 128),
          firstTimestamp: at,
          lastTimestamp: at,
          count: 1,
        },
        signal,
      );
    },
  };
}

function isReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
