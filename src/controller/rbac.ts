/**
 * One RBAC policy rule (rbac.authorization.k8s.io/v1 `PolicyRule`).
 *
 * @example
 * const r: PolicyRule = { apiGroups: [''], resources: ['pods'], verbs: ['list'] };
 */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[] | undefined;
  readonly verbs: readonly string[];
}

/**
 * Names the RBAC manifests refer to; defaults in {@link RBAC_DEFAULTS} match the config defaults
 * (`K8S_NAMESPACE`, `SHARD_STATEFULSET`, `LEADER_LEASE_NAME`).
 *
 * @example
 * rbacObjects({ ...RBAC_DEFAULTS, namespace: 'guildhall' });
 */
export interface RbacOptions {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly leaseName: string;
  readonly statefulSet: string;
}

/**
 * RBAC defaults (the `default` namespace; kustomize's `namespace:` rewrites it).
 *
 * @example
 * const yaml = renderRbacYaml(RBAC_DEFAULTS);
 */
export const RBAC_DEFAULTS = {
  namespace: 'default',
  serviceAccount: 'guildhall-controller',
  leaseName: 'guildhall-controller',
  statefulSet: 'guildhall-shard',
} as const satisfies RbacOptions;

/**
 * Exactly the permissions the controller uses (see `KubeApi`): Lease create (no name exists yet) and
 * get/update of its own Lease; get of the shard StatefulSet; get/patch of its scale subresource; pod
 * list (readiness; the selector is the StatefulSet's); event create (scaling and reshard events).
 *
 * @example
 * controllerRules(RBAC_DEFAULTS).length; // 6
 */
export function controllerRules(o: RbacOptions): PolicyRule[] {
  return [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: [o.leaseName],
      verbs: ['get', 'update'],
    },
    { apiGroups: ['apps'], resources: ['statefulsets'], resourceNames: [o.statefulSet], verbs: ['get'] },
    {
      apiGroups: ['apps'],
      resources: ['statefulsets/scale'],
      resourceNames: [o.statefulSet],
      verbs: ['get', 'patch'],
    },
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  ];
}

/**
 * The ServiceAccount, Role and RoleBinding of the controller, as plain objects (the Helm chart renders
 * the same objects; `k8s/rbac.yaml` is {@link renderRbacYaml} of the defaults, checked by a test).
 *
 * @example
 * const [sa, role, binding] = rbacObjects(RBAC_DEFAULTS);
 */
export function rbacObjects(o: RbacOptions): Record<string, unknown>[] {
  const labels = { 'app.kubernetes.io/name': 'guildhall', 'app.kubernetes.io/component': 'controller' };
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: o.serviceAccount, namespace: o.namespace, labels },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: o.serviceAccount, namespace: o.namespace, labels },
      rules: controllerRules(o),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: o.serviceAccount, namespace: o.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: o.serviceAccount },
      subjects: [{ kind: 'ServiceAccount', name: o.serviceAccount, namespace: o.namespace }],
    },
  ];
}

/**
 * Renders {@link rbacObjects} as a multi-document YAML file. Block style; every string scalar is a
 * single-quoted YAML scalar, so no value can be misread (`''`, `yes`, `1.0`); the layout is what prettier
 * produces, so the repository's `prettier --check` accepts the file.
 *
 * @example
 * writeFileSync('k8s/rbac.yaml', renderRbacYaml(RBAC_DEFAULTS));
 */
export function renderRbacYaml(o: RbacOptions): string {
  const header = [
    '# Generated from src/controller/rbac.ts (renderRbacYaml) — do not edit by hand; a test checks it.',
    "# The controller's exact Kubernetes permissions: its leader-election Lease, the shard StatefulSet",
    '# and its scale subresource, pod list (readiness) and event create. The Helm chart renders the same rules.',
  ];
  return `${header.join('\n')}\n${rbacObjects(o)
    .map((doc) => `---\n${yamlLines(doc, 0).join('\n')}\n`)
    .join('')}`;
}

function yamlLines(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    const out: string[] = [];
    for (const item of value) {
      if (isObject(item) || Array.isArray(item)) {
        const inner = yamlLines(item, indent + 2);
        out.push(`${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
      } else out.push(`${pad}- ${scalar(item)}`);
    }
    return out;
  }
  if (isObject(value)) {
    const out: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const key = /^[A-Za-z][A-Za-z0-9./_-]*$/.test(k) ? k : JSON.stringify(k);
      if ((isObject(v) && Object.keys(v).length > 0) || (Array.isArray(v) && v.length > 0))
        out.push(`${pad}${key}:`, ...yamlLines(v, indent + 2));
      else out.push(`${pad}${key}: ${isObject(v) ? '{}' : Array.isArray(v) ? '[]' : scalar(v)}`);
    }
    return out;
  }
  return [`${pad}${scalar(value)}`];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  return `'${String(v).replace(/'/g, "''")}'`;
}
