import { z } from 'zod';
import {
  clusterPlanSchema,
  controllerStatusSchema,
  podStatusSchema,
  shardStatusSchema,
} from '../ports/cluster-view.js';
import { defineRoute } from '../http/route.js';

const source = z
  .string()
  .meta({ description: 'Where this view comes from (e.g. `single-process (stub)`, `redis`)' });

/**
 * The shard plan, shard leases and pods (superadmins).
 *
 * @example
 * const routes = [...clusterRoutes];
 */
export const clusterRoutes = [
  defineRoute({
    id: 'cluster.plan',
    method: 'get',
    path: '/api/v1/cluster/plan',
    tag: 'cluster',
    summary: 'The current shard plan',
    access: 'superadmin',
    response: z.strictObject({ source, plan: clusterPlanSchema.nullable() }),
    handler: async ({ deps }) => ({ source: deps.cluster.source, plan: await deps.cluster.plan() }),
  }),
  defineRoute({
    id: 'cluster.controller',
    method: 'get',
    path: '/api/v1/cluster/controller',
    tag: 'cluster',
    summary: 'The controller status: phase, reshard progress, counts and conditions',
    access: 'superadmin',
    response: z.strictObject({ source, status: controllerStatusSchema.nullable() }),
    handler: async ({ deps }) => ({ source: deps.cluster.source, status: await deps.cluster.controller() }),
  }),
  defineRoute({
    id: 'cluster.shards',
    method: 'get',
    path: '/api/v1/cluster/shards',
    tag: 'cluster',
    summary:
      'Every shard of every generation the plan runs, with its lease owner, epoch and status (ready, leased, unassigned)',
    access: 'superadmin',
    response: z.strictObject({ source, items: z.array(shardStatusSchema) }),
    handler: async ({ deps }) => ({ source: deps.cluster.source, items: await deps.cluster.shards() }),
  }),
  defineRoute({
    id: 'cluster.pods',
    method: 'get',
    path: '/api/v1/cluster/pods',
    tag: 'cluster',
    summary: 'Pods of the cluster and the shards they hold',
    access: 'superadmin',
    response: z.strictObject({ source, items: z.array(podStatusSchema) }),
    handler: async ({ deps }) => ({ source: deps.cluster.source, items: await deps.cluster.pods() }),
  }),
];
