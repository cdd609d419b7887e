import { Readable } from 'node:stream';
import { z } from 'zod';
import { snowflake } from '../../domain/schemas.js';
import type { StoredEvent } from '../../storage/index.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute } from '../http/route.js';
import { guildParams, rangeShape, resolveRange } from './common.js';

const CHUNK = 1000;
const COLUMNS = ['id', 'ts', 'guild_id', 'channel_id', 'user_id', 'kind', 'attrs'] as const;

/**
 * Events of a guild (optionally one user) in `[fromMs, toMs)`, oldest first, read in keyset-paged chunks.
 * Each chunk is one short synchronous query: an open better-sqlite3 iterator would block every write on
 * the connection for as long as the client takes to download, so `EventStore.iterate` is not used here.
 */
async function* eventChunks(
  deps: ApiDeps,
  q: { guildId: string; fromMs: number; toMs: number; userId?: string },
): AsyncGenerator<StoredEvent[]> {
  const tables =
    q.userId === undefined
      ? deps.storage.events.tablesForRange(q.fromMs, q.toMs)
      : deps.storage.events.partitions().map((p) => p.table);
  for (const table of tables) {
    const stmt = deps.db.prepare(
      `SELECT id, ts, guild_id, channel_id, user_id, kind, attrs FROM ${table}
       WHERE guild_id = @g AND ts >= @from AND ts < @to ${q.userId === undefined ? '' : 'AND user_id = @u'}
         AND (ts > @lastTs OR (ts = @lastTs AND id > @lastId))
       ORDER BY ts, id LIMIT ${CHUNK}`,
    );
    let lastTs = -1;
    let lastId = '';
    for (;;) {
      const rows = stmt.all({
        g: q.guildId,
        from: q.fromMs,
        to: q.toMs,
        lastTs,
        lastId,
        ...(q.userId === undefined ? {} : { u: q.userId }),
      }) as StoredEvent[];
      if (rows.length === 0) break;
      yield rows;
      const last = rows[rows.length - 1]!;
      lastTs = last.ts;
      lastId = last.id;
      if (rows.length < CHUNK) break;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}

function ndjsonLine(e: StoredEvent): string {
  return `${JSON.stringify({
    id: e.id,
    ts: new Date(e.ts).toISOString(),
    guildId: e.guild_id,
    channelId: e.channel_id,
    userId: e.user_id,
    kind: e.kind,
    attrs: e.attrs === null ? null : (JSON.parse(e.attrs) as unknown),
  })}\n`;
}

/** RFC 4180 field; cells that a spreadsheet would run as a formula are prefixed with `'`. */
function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(e: StoredEvent): string {
  return `${[e.id, new Date(e.ts).toISOString(), e.guild_id, e.channel_id, e.user_id, e.kind, e.attrs].map(csvField).join(',')}\r\n`;
}

function stream(
  deps: ApiDeps,
  q: { guildId: string; fromMs: number; toMs: number; userId?: string },
  format: 'ndjson' | 'csv',
): Readable {
  return Readable.from(
    (async function* () {
      if (format === 'csv') yield `${COLUMNS.join(',')}\r\n`;
      for await (const rows of eventChunks(deps, q))
        yield rows.map(format === 'csv' ? csvLine : ndjsonLine).join('');
    })(),
    { objectMode: false },
  );
}

const formatShape = { format: z.enum(['ndjson', 'csv']).default('ndjson') };
const TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' } as const;
const memberParams = guildParams.extend({ userId: snowflake });

/**
 * Streamed exports and per-member privacy requests (admins). Every export and deletion is audited.
 *
 * @example
 * const routes = [...exportRoutes];
 */
export const exportRoutes = [
  defineRoute({
    id: 'export.events',
    method: 'get',
    path: '/api/v1/guilds/:guildId/export/events',
    tag: 'export',
    summary: 'Stream the guild’s raw events of a range as NDJSON or CSV (range ≤ 400 days)',
    access: { guild: 'admin' },
    params: guildParams,
    query: z.strictObject({ ...rangeShape, ...formatShape }),
    raw: {
      status: 200,
      contentType: 'application/x-ndjson',
      description: 'One event per line (or CSV with a header row)',
    },
    handler: async ({ ctx, deps, params, query, actor, requestId }) => {
      const r = resolveRange(query, deps.now(), { bucket: 'hour', maxDays: 400 });
      await deps.ops.call(
        'audit.record',
        {
          action: 'export.events',
          guildId: params.guildId,
          target: null,
          details: { from: r.fromMs, to: r.toMs, format: query.format },
        },
        { kind: 'write', actor, requestId },
      );
      ctx.type = TYPES[query.format];
      ctx.set('Content-Disposition', `attachment; filename="guild-${params.guildId}-events.${query.format}"`);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = stream(deps, { guildId: params.guildId, ...r }, query.format);
    },
  }),
  defineRoute({
    id: 'privacy.export',
    method: 'get',
    path: '/api/v1/guilds/:guildId/members/:userId/export',
    tag: 'export',
    summary: 'Privacy request: stream every stored event of one member in this guild',
    access: { guild: 'admin' },
    params: memberParams,
    query: z.strictObject(formatShape),
    raw: { status: 200, contentType: 'application/x-ndjson', description: 'One event per line (or CSV)' },
    handler: async ({ ctx, deps, params, query, actor, requestId }) => {
      await deps.ops.call(
        'audit.record',
        {
          action: 'privacy.export',
          guildId: params.guildId,
          target: params.userId,
          details: { format: query.format },
        },
        { kind: 'write', actor, requestId },
      );
      ctx.type = TYPES[query.format];
      ctx.set(
        'Content-Disposition',
        `attachment; filename="guild-${params.guildId}-user-${params.userId}.${query.format}"`,
      );
      ctx.set('Cache-Control', 'no-store');
      ctx.body = stream(
        deps,
        { guildId: params.guildId, userId: params.userId, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER },
        query.format,
      );
    },
  }),
  defineRoute({
    id: 'privacy.delete',
    method: 'delete',
    path: '/api/v1/guilds/:guildId/members/:userId/data',
    tag: 'export',
    summary:
      'Privacy request: delete a member’s raw events and activity days in this guild (rollup totals stay)',
    access: { guild: 'admin' },
    params: memberParams,
    response: z.strictObject({ eventsDeleted: z.number().int(), activeDaysDeleted: z.number().int() }),
    handler: async ({ deps, params, actor, requestId }) =>
      (await deps.ops.call(
        'privacy.deleteUserData',
        { guildId: params.guildId, userId: params.userId },
        { kind: 'write', actor, requestId },
      )) as { eventsDeleted: number; activeDaysDeleted: number },
  }),
];
