import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RBAC_DEFAULTS, controllerRules, rbacObjects, renderRbacYaml } from './rbac.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('RBAC', () => {
  it('k8s/rbac.yaml is the rendering of src/controller/rbac.ts (regenerate with renderRbacYaml)', () => {
    expect(readFileSync(join(root, 'k8s/rbac.yaml'), 'utf8')).toBe(renderRbacYaml(RBAC_DEFAULTS));
  });

  it('grants exactly the verbs the controller uses, on its own Lease and StatefulSet', () => {
    const grants = controllerRules(RBAC_DEFAULTS).flatMap((r) =>
      r.apiGroups.flatMap((g) =>
        r.resources.flatMap((res) =>
          r.verbs.map((v) => `${g}/${res}:${v}${r.resourceNames ? `@${r.resourceNames.join('|')}` : ''}`),
        ),
      ),
    );
    expect(grants.sort()).toEqual(
      [
        'coordination.k8s.io/leases:create',
        'coordination.k8s.io/leases:get@guildhall-controller',
        'coordination.k8s.io/leases:update@guildhall-controller',
        'apps/statefulsets:get@guildhall-shard',
        'apps/statefulsets/scale:get@guildhall-shard',
        'apps/statefulsets/scale:patch@guildhall-shard',
        '/pods:list',
        '/events:create',
      ].sort(),
    );
  });

  it('binds the Role to the ServiceAccount in the same namespace', () => {
    const [sa, role, binding] = rbacObjects({ ...RBAC_DEFAULTS, namespace: 'guildhall' }) as [
      { kind: string; metadata: { name: string; namespace: string } },
      { kind: string; metadata: { name: string } },
      {
        roleRef: { name: string; kind: string };
        subjects: { kind: string; name: string; namespace: string }[];
      },
    ];
    expect(sa.kind).toBe('ServiceAccount');
    expect(role.kind).toBe('Role');
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'guildhall' },
    ]);
    // Every scalar is quoted, so the empty core API group stays '' rather than null.
    expect(renderRbacYaml(RBAC_DEFAULTS)).toContain("      - ''\n");
  });
});
