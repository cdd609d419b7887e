// A stand-in for a Kubernetes API server: no API server (or kind/k3s cluster) can run in this sandbox, so
// this small real HTTP server on 127.0.0.1 implements exactly the endpoints the controller calls, with the
// API server's behaviour where it matters: resourceVersion and 409 Conflict on stale updates, 409
// AlreadyExists, 404 NotFound, Status objects, MicroTime validation on Leases, merge/strategic/JSON
// patch on the scale subresource and 415 for other content types, label selectors on pod lists, RBAC
// (403 Forbidden for anything the given rules do not allow), bearer-token identities, and switches to
// answer 403 / fail / delay on demand. Every successful write is logged with the writer's identity so
// tests can assert that one controller wrote at a time.
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PolicyRule } from '../../src/controller/rbac.js';

export interface WriteLogEntry {
  readonly at: number;
  readonly user: string;
  readonly verb: string;
  readonly resource: string;
  readonly name: string;
  readonly detail?: unknown;
}

export interface RequestLogEntry {
  readonly at: number;
  readonly user: string;
  readonly method: string;
  readonly path: string;
  readonly verb: string;
  readonly resource: string;
  readonly code: number;
}

interface Stored {
  obj: Record<string, unknown>;
  rv: number;
}

interface StatefulSet {
  name: string;
  uid: string;
  replicas: number;
  labels: Record<string, string>;
  rv: number;
  /** pod name → creation time */
  pods: Map<string, number>;
}

type Fault =
  | { kind: 'status'; code: number; reason: string; times: number }
  | { kind: 'delay'; ms: number; times: number };

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export interface FakeKubeOptions {
  readonly namespace?: string;
  /** token → user name; requests without a known token get 401. */
  readonly users?: Record<string, string>;
  /** When given, requests not allowed by these rules get 403 (like RBAC for the controller's Role). */
  readonly rules?: readonly PolicyRule[];
  /** Users bound to `rules` (default: every known user); others are allowed nothing. */
  readonly subjects?: readonly string[];
  /** Pods become Ready this long after they are created by a scale-up. */
  readonly podReadyAfterMs?: number;
}

export class FakeKube {
  readonly writes: WriteLogEntry[] = [];
  readonly requests: RequestLogEntry[] = [];
  readonly events: Record<string, unknown>[] = [];
  private readonly leases = new Map<string, Stored>();
  private readonly statefulSets = new Map<string, StatefulSet>();
  private readonly faults = new Map<string, Fault>();
  private readonly forbidden = new Set<string>();
  private readonly blockedUsers = new Map<string, number>();
  private rv = 100;
  private server: Server | undefined;
  readonly namespace: string;
  private readonly users: Map<string, string>;

  constructor(private readonly opts: FakeKubeOptions = {}) {
    this.namespace = opts.namespace ?? 'default';
    this.users = new Map(Object.entries(opts.users ?? {}));
  }

  url = '';

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  addUser(token: string, name: string): void {
    this.users.set(token, name);
  }

  addStatefulSet(name: string, replicas: number, labels: Record<string, string>): void {
    const sts: StatefulSet = { name, uid: randomUUID(), replicas: 0, labels, rv: ++this.rv, pods: new Map() };
    this.statefulSets.set(name, sts);
    this.setReplicas(sts, replicas);
  }

  replicas(name: string): number {
    return this.statefulSets.get(name)?.replicas ?? -1;
  }

  podNames(name: string): string[] {
    return [...(this.statefulSets.get(name)?.pods.keys() ?? [])];
  }

  lease(name: string): Record<string, unknown> | undefined {
    return this.leases.get(name)?.obj;
  }

  leaseHolder(name: string): string | undefined {
    const spec = this.lease(name)?.spec as { holderIdentity?: string } | undefined;
    return spec?.holderIdentity || undefined;
  }

  /** 403 for `verb` on `resource` (e.g. 'statefulsets/scale', 'patch'); verb '*' for all. */
  forbid(resource: string, verb = '*'): void {
    this.forbidden.add(`${resource}|${verb}`);
  }

  allow(resource: string, verb = '*'): void {
    this.forbidden.delete(`${resource}|${verb}`);
  }

  /** The next `times` requests for `verb resource` answer `code` with `reason`. */
  failNext(resource: string, verb: string, code: number, reason: string, times = 1): void {
    this.faults.set(`${resource}|${verb}`, { kind: 'status', code, reason, times });
  }

  /** The next `times` requests for `verb resource` are answered only after `ms` (then processed). */
  delayNext(resource: string, verb: string, ms: number, times = 1): void {
    this.faults.set(`${resource}|${verb}`, { kind: 'delay', ms, times });
  }

  /** Every request of `user` hangs for `ms` and then gets 503 (a partitioned client). */
  blockUser(user: string, ms: number): void {
    this.blockedUsers.set(user, ms);
  }

  unblockUser(user: string): void {
    this.blockedUsers.delete(user);
  }

  // -------------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token !== undefined ? this.users.get(token) : undefined;
    const route = this.route(req.method ?? 'GET', url.pathname);
    if (route) route.labelSelector = url.searchParams.get('labelSelector') ?? '';
    const log = (code: number) =>
      this.requests.push({
        at: Date.now(),
        user: user ?? '?',
        method: req.method ?? '',
        path: url.pathname,
        verb: route?.verb ?? '?',
        resource: route?.resource ?? '?',
        code,
      });
    const send = (code: number, obj: unknown) => {
      log(code);
      if (res.destroyed) return;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (user === undefined) {
      send(401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const blockMs = this.blockedUsers.get(user);
    if (blockMs !== undefined) {
      await sleep(blockMs);
      send(503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      return;
    }
    if (!route) {
      send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    if (route.namespace !== this.namespace) {
      // Everything the controller touches lives in one namespace; others are empty.
      if (route.verb === 'list') {
        send(200, {
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(this.rv) },
          items: [],
        });
        return;
      }
    }
    if (!this.authorized(route, user) || this.isForbidden(route)) {
      const what = route.name ? `${qualified(route)} "${route.name}"` : qualified(route);
      send(
        403,
        status(
          403,
          'Forbidden',
          `${what} is forbidden: User "${user}" cannot ${route.verb} resource "${route.resource.split('/')[0]}"${route.resource.includes('/') ? ` (subresource "${route.resource.split('/')[1]}")` : ''} in API group "${route.group}" in the namespace "${route.namespace}"`,
          { name: route.name, group: route.group, kind: route.resource },
        ),
      );
      return;
    }
    const fault = this.faults.get(`${route.resource}|${route.verb}`);
    if (fault) {
      if (--fault.times <= 0) this.faults.delete(`${route.resource}|${route.verb}`);
      if (fault.kind === 'status') {
        send(
          fault.code,
          status(fault.code, fault.reason, `injected ${fault.reason} for ${route.verb} ${route.resource}`),
        );
        return;
      }
      await sleep(fault.ms);
    }
    const [code, obj] = this.dispatch(route, req.headers['content-type'] ?? '', body, user);
    send(code, obj);
  }

  private route(method: string, path: string): Route | null {
    let m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const verb =
        method === 'GET'
          ? m[2]
            ? 'get'
            : 'list'
          : method === 'POST'
            ? 'create'
            : method === 'PUT'
              ? 'update'
              : method === 'PATCH'
                ? 'patch'
                : 'delete';
      return { group: 'coordination.k8s.io', resource: 'leases', namespace: m[1]!, name: m[2], verb };
    }
    m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets\/([^/]+)(\/scale)?$/.exec(path);
    if (m) {
      const verb =
        method === 'GET' ? 'get' : method === 'PATCH' ? 'patch' : method === 'PUT' ? 'update' : 'delete';
      return {
        group: 'apps',
        resource: m[3] ? 'statefulsets/scale' : 'statefulsets',
        namespace: m[1]!,
        name: m[2],
        verb,
      };
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|events)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const verb = method === 'GET' ? (m[3] ? 'get' : 'list') : method === 'POST' ? 'create' : 'update';
      return { group: '', resource: m[2]!, namespace: m[1]!, name: m[3], verb };
    }
    return null;
  }

  private authorized(r: Route, user: string): boolean {
    if (!this.opts.rules) return true;
    if (this.opts.subjects && !this.opts.subjects.includes(user)) return false;
    return this.opts.rules.some(
      (rule) =>
        rule.apiGroups.includes(r.group) &&
        rule.resources.includes(r.resource) &&
        rule.verbs.includes(r.verb) &&
        (!rule.resourceNames || (r.name !== undefined && rule.resourceNames.includes(r.name))),
    );
  }

  private isForbidden(r: Route): boolean {
    return this.forbidden.has(`${r.resource}|*`) || this.forbidden.has(`${r.resource}|${r.verb}`);
  }

  private dispatch(r: Route, contentType: string, body: string, user: string): [number, unknown] {
    const ns = this.namespace;
    if (r.resource === 'leases') {
      if (r.verb === 'get') {
        const s = this.leases.get(r.name!);
        return s ? [200, s.obj] : [404, notFound(r)];
      }
      const lease = parseJson(body) as Record<string, unknown> | null;
      if (!lease || typeof lease !== 'object') return [400, status(400, 'BadRequest', 'invalid JSON body')];
      const meta = (lease.metadata ?? {}) as Record<string, unknown>;
      const invalid = validateLease(lease);
      if (invalid)
        return [
          422,
          status(422, 'Invalid', `Lease.coordination.k8s.io "${String(meta.name)}" is invalid: ${invalid}`),
        ];
      if (r.verb === 'create') {
        const name = meta.name;
        if (typeof name !== 'string' || !name)
          return [
            422,
            status(
              422,
              'Invalid',
              'Lease.coordination.k8s.io "" is invalid: metadata.name: Required value: name or generateName is required',
            ),
          ];
        if (this.leases.has(name))
          return [
            409,
            status(409, 'AlreadyExists', `leases.coordination.k8s.io "${name}" already exists`, {
              name,
              group: 'coordination.k8s.io',
              kind: 'leases',
            }),
          ];
        const rv = ++this.rv;
        const obj = {
          ...lease,
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            ...meta,
            namespace: ns,
            uid: randomUUID(),
            resourceVersion: String(rv),
            creationTimestamp: new Date().toISOString(),
          },
        };
        this.leases.set(name, { obj, rv });
        this.writes.push({
          at: Date.now(),
          user,
          verb: 'create',
          resource: 'leases',
          name,
          detail: lease.spec,
        });
        return [201, obj];
      }
      if (r.verb === 'update') {
        const cur = this.leases.get(r.name!);
        if (!cur) return [404, notFound(r)];
        if (meta.name !== r.name)
          return [
            400,
            status(
              400,
              'BadRequest',
              `the name of the object (${String(meta.name)}) does not match the name on the URL (${r.name})`,
            ),
          ];
        if (meta.resourceVersion !== undefined && meta.resourceVersion !== String(cur.rv))
          return [
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on leases.coordination.k8s.io "${r.name}": the object has been modified; please apply your changes to the latest version and try again`,
              { name: r.name, group: 'coordination.k8s.io', kind: 'leases' },
            ),
          ];
        const rv = ++this.rv;
        const curMeta = cur.obj.metadata as Record<string, unknown>;
        const obj = {
          ...lease,
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...curMeta, ...meta, resourceVersion: String(rv) },
        };
        this.leases.set(r.name!, { obj, rv });
        this.writes.push({
          at: Date.now(),
          user,
          verb: 'update',
          resource: 'leases',
          name: r.name!,
          detail: lease.spec,
        });
        return [200, obj];
      }
      return [
        405,
        status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
      ];
    }

    if (r.resource === 'statefulsets' || r.resource === 'statefulsets/scale') {
      const sts = this.statefulSets.get(r.name!);
      if (!sts) return [404, notFound({ ...r, resource: 'statefulsets' })];
      if (r.resource === 'statefulsets') {
        if (r.verb !== 'get') return [405, status(405, 'MethodNotAllowed', 'not supported by this fake')];
        return [200, this.statefulSetObject(sts)];
      }
      if (r.verb === 'get') return [200, this.scaleObject(sts)];
      if (r.verb !== 'patch') return [405, status(405, 'MethodNotAllowed', 'not supported by this fake')];
      const type = contentType.split(';')[0]!.trim();
      const parsed = parseJson(body);
      let replicas: unknown;
      if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
          return [
            400,
            status(
              400,
              'BadRequest',
              `error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}`,
            ),
          ];
        replicas = ((parsed as { spec?: { replicas?: unknown } }).spec ?? {}).replicas;
        if (replicas === undefined) replicas = sts.replicas;
      } else if (type === 'application/json-patch+json') {
        if (!Array.isArray(parsed))
          return [
            400,
            status(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'),
          ];
        replicas = sts.replicas;
        for (const op of parsed as { op?: string; path?: string; value?: unknown }[]) {
          if ((op.op === 'replace' || op.op === 'add') && op.path === '/spec/replicas') replicas = op.value;
          else
            return [
              422,
              status(422, 'Invalid', `unsupported JSON patch operation in this fake: ${JSON.stringify(op)}`),
            ];
        }
      } else {
        return [
          415,
          status(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
          ),
        ];
      }
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
        return [
          422,
          status(
            422,
            'Invalid',
            `Scale.autoscaling "${sts.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          ),
        ];
      const from = sts.replicas;
      this.setReplicas(sts, replicas);
      this.writes.push({
        at: Date.now(),
        user,
        verb: 'patch',
        resource: 'statefulsets/scale',
        name: sts.name,
        detail: { from, to: replicas, contentType: type },
      });
      return [200, this.scaleObject(sts)];
    }

    if (r.resource === 'pods') {
      if (r.verb !== 'list') return [405, status(405, 'MethodNotAllowed', 'not supported by this fake')];
      return [200, this.podList(r)];
    }

    if (r.resource === 'events') {
      if (r.verb !== 'create') return [405, status(405, 'MethodNotAllowed', 'not supported by this fake')];
      const ev = parseJson(body) as Record<string, unknown> | null;
      if (!ev || typeof ev !== 'object') return [400, status(400, 'BadRequest', 'invalid JSON body')];
      const meta = (ev.metadata ?? {}) as Record<string, unknown>;
      if (meta.namespace !== undefined && meta.namespace !== r.namespace)
        return [
          400,
          status(
            400,
            'BadRequest',
            'the namespace of the provided object does not match the namespace sent on the request',
          ),
        ];
      const involved = ev.involvedObject as Record<string, unknown> | undefined;
      if (!involved?.kind || !involved.name || typeof ev.reason !== 'string')
        return [422, status(422, 'Invalid', 'Event "" is invalid: involvedObject and reason are required')];
      const name =
        typeof meta.name === 'string' && meta.name
          ? meta.name
          : typeof meta.generateName === 'string'
            ? `${meta.generateName}${randomUUID().slice(0, 8)}`
            : '';
      if (!name)
        return [
          422,
          status(
            422,
            'Invalid',
            'Event "" is invalid: metadata.name: Required value: name or generateName is required',
          ),
        ];
      const obj = {
        ...ev,
        metadata: {
          ...meta,
          name,
          namespace: r.namespace,
          resourceVersion: String(++this.rv),
          uid: randomUUID(),
        },
      };
      this.events.push(obj);
      this.writes.push({
        at: Date.now(),
        user,
        verb: 'create',
        resource: 'events',
        name,
        detail: { reason: ev.reason, message: ev.message },
      });
      return [201, obj];
    }
    return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
  }

  private setReplicas(sts: StatefulSet, replicas: number): void {
    sts.replicas = replicas;
    sts.rv = ++this.rv;
    // The StatefulSet controller: pods 0..n-1 exist (ordered scale-down removes the highest first).
    for (let i = 0; i < replicas; i++) {
      const name = `${sts.name}-${i}`;
      if (!sts.pods.has(name)) sts.pods.set(name, Date.now());
    }
    for (const name of [...sts.pods.keys()]) {
      const ordinal = Number(name.slice(sts.name.length + 1));
      if (ordinal >= replicas) sts.pods.delete(name);
    }
  }

  private selector(sts: StatefulSet): string {
    return Object.entries(sts.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }

  private statefulSetObject(sts: StatefulSet) {
    const ready = this.readyPods(sts);
    return {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: sts.name,
        namespace: this.namespace,
        uid: sts.uid,
        resourceVersion: String(sts.rv),
        generation: 1,
      },
      spec: {
        replicas: sts.replicas,
        serviceName: sts.name,
        selector: { matchLabels: sts.labels },
        template: {
          metadata: { labels: sts.labels },
          spec: { containers: [{ name: 'shard', image: 'guildhall' }] },
        },
      },
      status: {
        replicas: sts.pods.size,
        readyReplicas: ready,
        currentReplicas: sts.pods.size,
        observedGeneration: 1,
      },
    };
  }

  private scaleObject(sts: StatefulSet) {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: sts.name, namespace: this.namespace, uid: sts.uid, resourceVersion: String(sts.rv) },
      spec: { replicas: sts.replicas },
      status: { replicas: sts.pods.size, selector: this.selector(sts) },
    };
  }

  private readyPods(sts: StatefulSet): number {
    const now = Date.now();
    return [...sts.pods.values()].filter((t) => now - t >= (this.opts.podReadyAfterMs ?? 0)).length;
  }

  private podList(r: Route) {
    return {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.rv) },
      items: this.pods(r),
    };
  }

  private pods(r: Route) {
    const now = Date.now();
    const out: unknown[] = [];
    for (const sts of this.statefulSets.values()) {
      if (!matches(sts.labels, r.labelSelector ?? '')) continue;
      for (const [name, created] of sts.pods) {
        const ready = now - created >= (this.opts.podReadyAfterMs ?? 0);
        out.push({
          metadata: {
            name,
            namespace: this.namespace,
            labels: { ...sts.labels, 'statefulset.kubernetes.io/pod-name': name },
            uid: `${sts.uid}-${name}`,
            creationTimestamp: new Date(created).toISOString(),
          },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
        });
      }
    }
    return out;
  }
}

interface Route {
  readonly group: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string | undefined;
  readonly verb: string;
  labelSelector?: string;
}

function qualified(r: Route): string {
  const base = r.resource.split('/')[0]!;
  return r.group ? `${base}.${r.group}` : base;
}

function notFound(r: Route) {
  return status(404, 'NotFound', `${qualified(r)} "${r.name}" not found`, {
    name: r.name,
    group: r.group,
    kind: r.resource,
  });
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function validateLease(lease: Record<string, unknown>): string | null {
  const spec = (lease.spec ?? {}) as Record<string, unknown>;
  for (const f of ['acquireTime', 'renewTime']) {
    const v = spec[f];
    if (v !== undefined && (typeof v !== 'string' || !MICRO_TIME.test(v)))
      return `spec.${f}: Invalid value: ${JSON.stringify(v)}: must be RFC 3339 with microseconds (2006-01-02T15:04:05.000000Z)`;
  }
  const d = spec.leaseDurationSeconds;
  if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d) || d <= 0))
    return `spec.leaseDurationSeconds: Invalid value: ${JSON.stringify(d)}: must be greater than 0`;
  return null;
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, comma-separated. */
function matches(labels: Record<string, string>, selector: string): boolean {
  for (const term of selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) {
      if (!(term in labels)) return false;
      continue;
    }
    const [, k, op, v] = m;
    const has = labels[k!.trim()];
    if (op === '!=' ? has === v!.trim() : has !== v!.trim()) return false;
  }
  return true;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
    req.on('error', () => resolve(data));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
