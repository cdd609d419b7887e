import { z } from 'zod';
import { EVENT_KINDS } from '../../storage/index.js';
import { tags } from '../../domain/platform-ops.js';
import { isoTime, snowflake } from '../../domain/schemas.js';
import { AnalyticsQueries } from '../analytics-queries.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute } from '../http/route.js';
import { bucketShape, guildParams, rangeShape, resolveRange } from './common.js';

const queries = new WeakMap<ApiDeps, AnalyticsQueries>();
function q(deps: ApiDeps): AnalyticsQueries {
  let x = queries.get(deps);
  if (!x) queries.set(deps, (x = new AnalyticsQueries(deps.storage.sqlite, deps.storage.events)));
  return x;
}

const cache = {
  ttlMs: 60_000,
  tags: ({ params }: { params: { guildId: string } }) => [tags.analytics(params.guildId)],
};
const point = z.strictObject({ t: isoTime, count: z.number().int() });
const seriesResponse = (id: string) =>
  z
    .strictObject({ from: isoTime, to: isoTime, bucket: z.enum(['hour', 'day']), points: z.array(point) })
    .meta({ id });
const maxDays = (bucket: 'hour' | 'day') => (bucket === 'hour' ? 31 : 400);
const limitShape = (def: number, max: number) => ({
  limit: z.coerce.number().int().min(1).max(max).default(def),
});
const channelCount = z.strictObject({ channelId: z.string(), count: z.number().int() });

const byKindSchema = z.strictObject(
  Object.fromEntries(EVENT_KINDS.map((k) => [k, z.number().int()])) as Record<
    (typeof EVENT_KINDS)[number],
    z.ZodNumber
  >,
);

/**
 * Activity analytics of a guild, from the rollups (viewer and up; cached per guild and query).
 *
 * @example
 * createApiApp(deps); // mounts analyticsRoutes under /api/v1/guilds/:guildId/analytics
 */
export const analyticsRoutes = [
  defineRoute({
    id: 'analytics.overview',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/overview',
    tag: 'analytics',
    summary: 'Dashboard summary (default: last 30 days) with change against the previous period',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject(rangeShape),
    response: z
      .strictObject({
        from: isoTime,
        to: isoTime,
        byKind: byKindSchema,
        messages: z.number().int(),
        messagesChangePercent: z.number().nullable(),
        joins: z.number().int(),
        leaves: z.number().int(),
        netMembers: z.number().int(),
        voiceSessions: z.number().int(),
        commands: z.number().int(),
        activeUsers: z.number().int(),
        avgDailyActiveUsers: z.number(),
        peakDailyActiveUsers: z.number().int(),
        busiestHourUtc: z.number().int().nullable(),
        topChannels: z.array(channelCount),
      })
      .meta({ id: 'AnalyticsOverview' }),
    cache,
    handler: ({ deps, params, query }) =>
      q(deps).overview(params.guildId, resolveRange(query, deps.now(), { bucket: 'hour', maxDays: 400 })),
  }),
  defineRoute({
    id: 'analytics.messages',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/messages',
    tag: 'analytics',
    summary: 'Messages per hour or day (optionally of one channel)',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, ...bucketShape, channelId: snowflake.optional() }),
    response: seriesResponse('Series'),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: query.bucket, maxDays: maxDays(query.bucket) });
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        bucket: query.bucket,
        points: q(deps).series(params.guildId, r, query.bucket, ['message'], query.channelId),
      };
    },
  }),
  defineRoute({
    id: 'analytics.series',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/series',
    tag: 'analytics',
    summary: 'Any event kind per hour or day',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({
      ...rangeShape,
      ...bucketShape,
      kind: z.enum(EVENT_KINDS),
      channelId: snowflake.optional(),
    }),
    response: seriesResponse('Series'),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: query.bucket, maxDays: maxDays(query.bucket) });
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        bucket: query.bucket,
        points: q(deps).series(params.guildId, r, query.bucket, [query.kind], query.channelId),
      };
    },
  }),
  defineRoute({
    id: 'analytics.members',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/members',
    tag: 'analytics',
    summary: 'Joins vs leaves per hour or day',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, ...bucketShape }),
    response: z
      .strictObject({
        from: isoTime,
        to: isoTime,
        bucket: z.enum(['hour', 'day']),
        joins: z.number().int(),
        leaves: z.number().int(),
        points: z.array(
          z.strictObject({
            t: isoTime,
            joins: z.number().int(),
            leaves: z.number().int(),
            net: z.number().int(),
          }),
        ),
      })
      .meta({ id: 'MemberFlow' }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: query.bucket, maxDays: maxDays(query.bucket) });
      const joins = q(deps).series(params.guildId, r, query.bucket, ['member_join']);
      const leaves = q(deps).series(params.guildId, r, query.bucket, ['member_leave']);
      const points = joins.map((p, i) => ({
        t: p.t,
        joins: p.count,
        leaves: leaves[i]!.count,
        net: p.count - leaves[i]!.count,
      }));
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        bucket: query.bucket,
        joins: points.reduce((s, p) => s + p.joins, 0),
        leaves: points.reduce((s, p) => s + p.leaves, 0),
        points,
      };
    },
  }),
  defineRoute({
    id: 'analytics.voice',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/voice',
    tag: 'analytics',
    summary: 'Voice sessions started and ended per hour or day',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, ...bucketShape, channelId: snowflake.optional() }),
    response: z
      .strictObject({
        from: isoTime,
        to: isoTime,
        bucket: z.enum(['hour', 'day']),
        points: z.array(z.strictObject({ t: isoTime, joins: z.number().int(), leaves: z.number().int() })),
      })
      .meta({ id: 'VoiceSeries' }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: query.bucket, maxDays: maxDays(query.bucket) });
      const joins = q(deps).series(params.guildId, r, query.bucket, ['voice_join'], query.channelId);
      const leaves = q(deps).series(params.guildId, r, query.bucket, ['voice_leave'], query.channelId);
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        bucket: query.bucket,
        points: joins.map((p, i) => ({ t: p.t, joins: p.count, leaves: leaves[i]!.count })),
      };
    },
  }),
  defineRoute({
    id: 'analytics.topChannels',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/channels/top',
    tag: 'analytics',
    summary: 'Channels with the most events of a kind (default: messages)',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({
      ...rangeShape,
      kind: z.enum(EVENT_KINDS).default('message'),
      ...limitShape(10, 50),
    }),
    response: z.strictObject({ from: isoTime, to: isoTime, items: z.array(channelCount) }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: 'hour', maxDays: 400 });
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        items: q(deps).topChannels(params.guildId, r, query.kind, query.limit),
      };
    },
  }),
  defineRoute({
    id: 'analytics.topMembers',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/members/top',
    tag: 'analytics',
    summary: 'Members with the most messages, with their active days (range ≤ 92 days)',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, ...limitShape(10, 100) }),
    response: z.strictObject({
      from: isoTime,
      to: isoTime,
      items: z.array(
        z.strictObject({ userId: z.string(), messages: z.number().int(), activeDays: z.number().int() }),
      ),
    }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: 'hour', maxDays: 92 });
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        items: q(deps).topMembers(params.guildId, r, query.limit),
      };
    },
  }),
  defineRoute({
    id: 'analytics.activeUsers',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/active-users',
    tag: 'analytics',
    summary: 'Daily active users and distinct users over the range',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject(rangeShape),
    response: z
      .strictObject({
        from: isoTime,
        to: isoTime,
        distinctUsers: z.number().int(),
        points: z.array(z.strictObject({ t: isoTime, users: z.number().int() })),
      })
      .meta({ id: 'ActiveUsers' }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: 'day', maxDays: 400 });
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        ...q(deps).activeUsers(params.guildId, r),
      };
    },
  }),
  defineRoute({
    id: 'analytics.retention',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/retention',
    tag: 'analytics',
    summary: 'Retention cohorts: joined → first message → still active after 7 / 30 days (range ≤ 92 days)',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, cohort: z.enum(['day', 'week']).default('week') }),
    response: z
      .strictObject({
        from: isoTime,
        to: isoTime,
        cohort: z.enum(['day', 'week']),
        cohorts: z.array(
          z.strictObject({
            cohortStart: isoTime,
            joined: z.number().int(),
            sentFirstMessage: z.number().int(),
            eligible7d: z.number().int(),
            activeAfter7d: z.number().int(),
            eligible30d: z.number().int(),
            activeAfter30d: z.number().int(),
          }),
        ),
      })
      .meta({ id: 'Retention' }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: 'day', maxDays: 92 });
      const WEEK = 7 * 86_400_000;
      // Week cohorts: stretch the range to whole weeks from its start.
      const range =
        query.cohort === 'week'
          ? { fromMs: r.fromMs, toMs: r.fromMs + Math.ceil((r.toMs - r.fromMs) / WEEK) * WEEK }
          : r;
      return {
        from: new Date(range.fromMs).toISOString(),
        to: new Date(range.toMs).toISOString(),
        cohort: query.cohort,
        cohorts: q(deps).retention(
          params.guildId,
          range,
          query.cohort === 'week' ? WEEK : 86_400_000,
          deps.now(),
        ),
      };
    },
  }),
  defineRoute({
    id: 'analytics.commands',
    method: 'get',
    path: '/api/v1/guilds/:guildId/analytics/commands',
    tag: 'analytics',
    summary: 'Command usage by command name (range ≤ 92 days)',
    access: { guild: 'viewer' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, ...limitShape(20, 100) }),
    response: z
      .strictObject({
        from: isoTime,
        to: isoTime,
        total: z.number().int(),
        commands: z.array(z.strictObject({ name: z.string(), count: z.number().int() })),
      })
      .meta({ id: 'CommandUsage' }),
    cache,
    handler: ({ deps, params, query }) => {
      const r = resolveRange(query, deps.now(), { bucket: 'hour', maxDays: 92 });
      return {
        from: new Date(r.fromMs).toISOString(),
        to: new Date(r.toMs).toISOString(),
        ...q(deps).commands(params.guildId, r, query.limit),
      };
    },
  }),
];
