import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  KubeConfig,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../errors/app-error.js';

/** Where the service account token, CA and namespace live inside a pod. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * How to reach the Kubernetes API: an explicit URL (tests, `kubectl proxy`, out-of-cluster) with an
 * optional bearer token, or the in-cluster service (`KUBERNETES_SERVICE_HOST`/`_PORT` plus the mounted
 * service account token and CA).
 *
 * @example
 * const conn: KubeConnection = { server: 'http://127.0.0.1:8001' };
 */
export interface KubeConnection {
  readonly server: string;
  readonly token?: string | undefined;
  /** Read the token from this file (refreshed every minute, like client-go). */
  readonly tokenFile?: string | undefined;
  readonly caFile?: string | undefined;
}

/**
 * The Kubernetes connection the config describes, or null when the controller runs outside a cluster
 * with no API URL (then nothing is scaled and leader election uses the coordination lock).
 *
 * @example
 * const conn = kubeConnectionFromConfig(ctx.config.controller);
 */
export function kubeConnectionFromConfig(c: {
  readonly kubernetesApiUrl?: string | undefined;
  readonly kubernetesToken?: string | undefined;
  readonly kubernetesServiceHost?: string | undefined;
  readonly kubernetesServicePort?: number | undefined;
}): KubeConnection | null {
  if (c.kubernetesApiUrl) return { server: c.kubernetesApiUrl.replace(/\/+$/, ''), token: c.kubernetesToken };
  if (!c.kubernetesServiceHost) return null;
  const host = c.kubernetesServiceHost.includes(':')
    ? `[${c.kubernetesServiceHost}]`
    : c.kubernetesServiceHost;
  return {
    server: `https://${host}:${c.kubernetesServicePort ?? 443}`,
    tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
    caFile: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
  };
}

/**
 * A `KubeConfig` for a {@link KubeConnection} (plain `http://` servers are allowed for local proxies
 * and tests).
 *
 * @example
 * const kc = kubeConfigFor({ server: 'http://127.0.0.1:8001', token: 'dev' });
 */
export function kubeConfigFor(conn: KubeConnection): KubeConfig {
  const kc = new KubeConfig();
  const user: Record<string, unknown> = { name: 'guildhall-controller' };
  if (conn.token) user.token = conn.token;
  if (conn.tokenFile) user.authProvider = { name: 'tokenFile', config: { tokenFile: conn.tokenFile } };
  kc.loadFromOptions({
    clusters: [
      {
        name: 'cluster',
        server: conn.server,
        caFile: conn.caFile,
        // client-node refuses http:// unless this is set; TLS servers are still verified with the CA.
        skipTLSVerify: conn.server.startsWith('http:'),
      },
    ],
    users: [user],
    contexts: [{ name: 'guildhall', cluster: 'cluster', user: 'guildhall-controller' }],
    currentContext: 'guildhall',
  });
  return kc;
}

/**
 * A failed Kubernetes API call, normalized: the HTTP code (0 when no answer: timeout, connection
 * refused), the API `Status.reason` (`Forbidden`, `Conflict`, `NotFound`, `Timeout`, …) and message.
 *
 * @example
 * catch (err) { if (err instanceof KubeApiError && err.reason === 'Forbidden') log.error(err.message); }
 */
export class KubeApiError extends AppError {
  constructor(
    readonly operation: string,
    readonly httpCode: number,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      httpCode >= 400 && httpCode < 600 ? httpCode : 503,
      `kubernetes_${reason.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()}`,
      `${operation}: ${httpCode ? `${httpCode} ${reason}: ` : `${reason}: `}${message}`,
      { operation, httpCode, reason },
      options,
    );
    this.name = 'KubeApiError';
  }
}

/**
 * Options of {@link KubeApi}.
 *
 * @example
 * const opts: KubeApiOptions = { namespace: 'guildhall', requestTimeoutMs: 5_000 };
 */
export interface KubeApiOptions {
  readonly namespace: string;
  /** Bound of every request; the request is aborted after it. */
  readonly requestTimeoutMs: number;
  /** Registry for `guildhall_controller_kubernetes_requests_total`. */
  readonly metrics?: Registry | undefined;
}

/**
 * The scale subresource of the shard StatefulSet.
 *
 * @example
 * const s: ScaleInfo = { replicas: 3, statusReplicas: 3, selector: 'app=guildhall,component=shard' };
 */
export interface ScaleInfo {
  readonly replicas: number;
  readonly statusReplicas: number;
  readonly selector: string | null;
}

/**
 * The few Kubernetes calls the controller makes (and nothing else; `k8s/rbac.yaml` grants exactly these),
 * through @kubernetes/client-node 1.x. Every call is bounded by `requestTimeoutMs` and the caller's
 * signal, and fails with a {@link KubeApiError}.
 *
 * @example
 * const api = new KubeApi(kubeConfigFor(conn), { namespace: 'guildhall', requestTimeoutMs: 5_000 });
 * const scale = await api.readScale('guildhall-shard', signal);
 */
export class KubeApi {
  private readonly coordination: CoordinationV1Api;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly requests: Counter<'resource' | 'verb' | 'code'> | undefined;

  constructor(
    kc: KubeConfig,
    readonly opts: KubeApiOptions,
  ) {
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.requests = opts.metrics
      ? new Counter({
          name: 'guildhall_controller_kubernetes_requests_total',
          help: 'Kubernetes API requests made by the controller, by resource, verb and HTTP code (0: no answer).',
          labelNames: ['resource', 'verb', 'code'],
          registers: [opts.metrics],
        })
      : undefined;
  }

  get namespace(): string {
    return this.opts.namespace;
  }

  /** The Lease, or null when it does not exist. */
  async readLease(name: string, signal: AbortSignal): Promise<V1Lease | null> {
    try {
      return await this.call('leases', 'get', signal, (o) =>
        this.coordination.readNamespacedLease({ name, namespace: this.namespace }, o),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.httpCode === 404) return null;
      throw err;
    }
  }

  /** Creates the Lease; null when it already exists (409 AlreadyExists). */
  async createLease(body: V1Lease, signal: AbortSignal): Promise<V1Lease | null> {
    try {
      return await this.call('leases', 'create', signal, (o) =>
        this.coordination.createNamespacedLease({ namespace: this.namespace, body }, o),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.httpCode === 409) return null;
      throw err;
    }
  }

  /** Replaces the Lease (optimistic: `metadata.resourceVersion` must be current); null on 409 Conflict. */
  async replaceLease(body: V1Lease, signal: AbortSignal): Promise<V1Lease | null> {
    try {
      return await this.call('leases', 'update', signal, (o) =>
        this.coordination.replaceNamespacedLease(
          { name: body.metadata?.name ?? '', namespace: this.namespace, body },
          o,
        ),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.httpCode === 409) return null;
      throw err;
    }
  }

  readStatefulSet(name: string, signal: AbortSignal): Promise<V1StatefulSet> {
    return this.call('statefulsets', 'get', signal, (o) =>
      this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace }, o),
    );
  }

  async readScale(name: string, signal: AbortSignal): Promise<ScaleInfo> {
    const s = await this.call('statefulsets/scale', 'get', signal, (o) =>
      this.apps.readNamespacedStatefulSetScale({ name, namespace: this.namespace }, o),
    );
    return {
      replicas: s.spec?.replicas ?? 0,
      statusReplicas: s.status?.replicas ?? 0,
      selector: s.status?.selector ?? null,
    };
  }

  /** Sets `spec.replicas` through the scale subresource (JSON merge patch). */
  async patchScale(name: string, replicas: number, signal: AbortSignal): Promise<ScaleInfo> {
    const s = await this.call(
      'statefulsets/scale',
      'patch',
      signal,
      (o) =>
        this.apps.patchNamespacedStatefulSetScale(
          { name, namespace: this.namespace, body: { spec: { replicas } } },
          o,
        ),
      PatchStrategy.MergePatch,
    );
    return {
      replicas: s.spec?.replicas ?? 0,
      statusReplicas: s.status?.replicas ?? 0,
      selector: s.status?.selector ?? null,
    };
  }

  async listPods(labelSelector: string, signal: AbortSignal): Promise<V1Pod[]> {
    const list = await this.call('pods', 'list', signal, (o) =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }, o),
    );
    return list.items;
  }

  createEvent(body: CoreV1Event, signal: AbortSignal): Promise<CoreV1Event> {
    return this.call('events', 'create', signal, (o) =>
      this.core.createNamespacedEvent({ namespace: this.namespace, body }, o),
    );
  }

  private async call<T>(
    resource: string,
    verb: string,
    signal: AbortSignal,
    fn: (options: Parameters<CoordinationV1Api['readNamespacedLease']>[1]) => Promise<T>,
    contentType?: string,
  ): Promise<T> {
    const operation = `${verb} ${resource}`;
    const bound = AbortSignal.any([signal, AbortSignal.timeout(this.opts.requestTimeoutMs)]);
    // The object-parameter API passes call-time options straight to the observable API: middleware
    // returns client-node's Observable. It sets the abort signal and, for patches, the content type.
    const middleware = {
      pre: (ctx: RequestContext) => {
        ctx.setSignal(bound);
        if (contentType) ctx.setHeaderParam('Content-Type', contentType);
        return new Observable(Promise.resolve(ctx));
      },
      post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
    };
    const options: Parameters<CoordinationV1Api['readNamespacedLease']>[1] = {
      middleware: [middleware],
      middlewareMergeStrategy: 'append',
    };
    try {
      const result = await fn(options);
      this.requests?.inc({ resource, verb, code: '2xx' });
      return result;
    } catch (err) {
      const e = normalize(operation, err, signal, this.opts.requestTimeoutMs);
      this.requests?.inc({ resource, verb, code: String(e.httpCode) });
      throw e;
    }
  }
}

function normalize(operation: string, err: unknown, caller: AbortSignal, timeoutMs: number): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const code = (err as ApiException<unknown>).code;
    const status = parseStatus((err as ApiException<unknown>).body);
    return new KubeApiError(
      operation,
      code,
      status?.reason || reasonFor(code),
      status?.message || 'no Status body',
      { cause: err },
    );
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.name === 'AbortError' || (e as { type?: string }).type === 'aborted') {
    if (caller.aborted)
      return new KubeApiError(operation, 0, 'Aborted', 'aborted by the caller', { cause: e });
    return new KubeApiError(operation, 0, 'Timeout', `no answer within ${timeoutMs} ms`, { cause: e });
  }
  return new KubeApiError(operation, 0, 'Unreachable', e.message, { cause: e });
}

function parseStatus(body: unknown): { reason?: string; message?: string } | null {
  let v = body;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body);
    } catch {
      return body ? { message: body.slice(0, 300) } : null;
    }
  }
  if (v && typeof v === 'object') {
    const o = v as { reason?: unknown; message?: unknown };
    return {
      ...(typeof o.reason === 'string' ? { reason: o.reason } : {}),
      ...(typeof o.message === 'string' ? { message: o.message } : {}),
    };
  }
  return null;
}

function reasonFor(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? `HTTP${code}`;
}
