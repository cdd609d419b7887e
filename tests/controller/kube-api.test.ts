// The controller's Kubernetes client (@kubernetes/client-node 1.x) against tests/controller/fake-kube.ts,
// which stands in for an API server because none can run in this sandbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KubeApi,
  KubeApiError,
  RBAC_DEFAULTS,
  controllerRules,
  kubeConfigFor,
  kubeLeaseLock,
  statefulSetWorkload,
} from '../../src/controller/index.js';
import { FakeKube } from './fake-kube.js';

const signal = () => AbortSignal.timeout(5_000);

describe('KubeApi against the fake API server (RBAC = the controller Role)', () => {
  const kube = new FakeKube({
    users: { 'token-a': 'system:serviceaccount:default:guildhall-controller', 'token-b': 'other' },
    rules: controllerRules(RBAC_DEFAULTS),
    subjects: ['system:serviceaccount:default:guildhall-controller'],
  });
  let api: KubeApi;
  let apiB: KubeApi;

  beforeAll(async () => {
    await kube.start();
    kube.addStatefulSet('guildhall-shard', 1, {
      'app.kubernetes.io/name': 'guildhall',
      'app.kubernetes.io/component': 'shard',
    });
    kube.addStatefulSet('other', 2, { app: 'other' });
    api = new KubeApi(kubeConfigFor({ server: kube.url, token: 'token-a' }), {
      namespace: 'default',
      requestTimeoutMs: 500,
    });
    apiB = new KubeApi(kubeConfigFor({ server: kube.url, token: 'token-b' }), {
      namespace: 'default',
      requestTimeoutMs: 500,
    });
  });
  afterAll(() => kube.stop());

  it('creates, reads and optimistically replaces a Lease (409 on a stale resourceVersion)', async () => {
    expect(await api.readLease('guildhall-controller', signal())).toBeNull();
    const lock = kubeLeaseLock(api, {
      name: 'guildhall-controller',
      identity: 'ctl-a',
      leaseDurationMs: 15_000,
    });
    expect(await lock.tryAcquireOrRenew(signal())).toEqual({ held: true });
    const lease = await api.readLease('guildhall-controller', signal());
    expect(lease?.spec?.holderIdentity).toBe('ctl-a');
    expect(lease?.spec?.leaseDurationSeconds).toBe(15);
    // MicroTime went over the wire with microseconds (the fake validates it like the API server).
    expect((kube.lease('guildhall-controller')!.spec as { renewTime: string }).renewTime).toMatch(
      /\.\d{6}Z$/,
    );

    expect(await lock.tryAcquireOrRenew(signal())).toEqual({ held: true }); // renew
    const stale = { ...lease!, spec: { ...lease!.spec, holderIdentity: 'thief' } };
    expect(await api.replaceLease(stale, signal())).toBeNull(); // resourceVersion moved on: 409
    expect(kube.leaseHolder('guildhall-controller')).toBe('ctl-a');

    const other = kubeLeaseLock(api, {
      name: 'guildhall-controller',
      identity: 'ctl-b',
      leaseDurationMs: 15_000,
    });
    expect(await other.tryAcquireOrRenew(signal())).toEqual({ held: false, holder: 'ctl-a' });
    await lock.release();
    expect(kube.leaseHolder('guildhall-controller')).toBeUndefined();
    expect(await other.tryAcquireOrRenew(signal())).toEqual({ held: true });
    const spec = kube.lease('guildhall-controller')!.spec as {
      leaseTransitions: number;
      holderIdentity: string;
    };
    expect(spec).toMatchObject({ holderIdentity: 'ctl-b', leaseTransitions: 1 });
  });

  it('scales through the scale subresource with a JSON merge patch and lists pods by the StatefulSet selector', async () => {
    const workload = statefulSetWorkload(api, {
      name: 'guildhall-shard',
      component: 'guildhall-controller',
      instance: 'ctl-a',
    });
    expect(await workload.replicas(signal())).toBe(1);
    await workload.scale(3, signal());
    expect(kube.replicas('guildhall-shard')).toBe(3);
    expect(kube.writes.at(-1)).toMatchObject({
      verb: 'patch',
      resource: 'statefulsets/scale',
      detail: { from: 1, to: 3, contentType: 'application/merge-patch+json' },
    });
    const pods = await workload.pods(signal());
    expect(pods).toMatchObject({ total: 3, ready: 3 });
    expect([...pods!.names].sort()).toEqual(['guildhall-shard-0', 'guildhall-shard-1', 'guildhall-shard-2']);
    await workload.event({ type: 'Normal', reason: 'ScaledUp', message: '1 → 3' }, signal());
    expect(kube.events.at(-1)).toMatchObject({
      reason: 'ScaledUp',
      involvedObject: { kind: 'StatefulSet', name: 'guildhall-shard' },
      source: { component: 'guildhall-controller' },
    });
  });

  it('turns API failures into KubeApiError with the Status reason', async () => {
    // RBAC: the Role names only guildhall-shard.
    await expect(api.readScale('other', signal())).rejects.toMatchObject({
      name: 'KubeApiError',
      httpCode: 403,
      reason: 'Forbidden',
    });
    // A missing grant (switch).
    kube.forbid('statefulsets/scale', 'patch');
    const err = await api.patchScale('guildhall-shard', 4, signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).message).toMatch(
      /cannot patch resource "statefulsets" \(subresource "scale"\)/,
    );
    kube.allow('statefulsets/scale', 'patch');
    kube.failNext('statefulsets/scale', 'patch', 409, 'Conflict');
    await expect(api.patchScale('guildhall-shard', 4, signal())).rejects.toMatchObject({
      httpCode: 409,
      reason: 'Conflict',
    });
    kube.failNext('pods', 'list', 500, 'InternalError');
    await expect(api.listPods('a=b', signal())).rejects.toMatchObject({
      httpCode: 500,
      reason: 'InternalError',
    });
    kube.delayNext('statefulsets/scale', 'get', 1_500);
    await expect(api.readScale('guildhall-shard', signal())).rejects.toMatchObject({
      httpCode: 0,
      reason: 'Timeout',
    });
    // Unknown token: 401.
    await expect(
      new KubeApi(kubeConfigFor({ server: kube.url, token: 'nope' }), {
        namespace: 'default',
        requestTimeoutMs: 500,
      }).readScale('guildhall-shard', signal()),
    ).rejects.toMatchObject({ httpCode: 401 });
    // A user without the Role.
    await expect(apiB.readLease('guildhall-controller', signal())).rejects.toMatchObject({ httpCode: 403 });
  });
});
