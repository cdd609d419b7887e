// The bare-library baseline shared by the ingest benchmarks: raw better-sqlite3 prepared inserts of the
// rows into the same table shape as a month partition, with the same connection pragmas as the storage
// layer (SQLITE_WRITER_PRAGMAS), one transaction per `batch` rows.
import BetterSqlite3 from 'better-sqlite3';
import { SQLITE_WRITER_PRAGMAS } from '../src/storage/database.js';
import { partitionDdl } from '../src/storage/events.js';
import type { ActivityEvent } from '../src/storage/index.js';

export function rawInsert(file: string, rows: readonly ActivityEvent[], batch = 1000): void {
  const db = new BetterSqlite3(file);
  for (const p of SQLITE_WRITER_PRAGMAS) db.pragma(p);
  db.exec(partitionDdl('events_2026_11'));
  const insert = db.prepare(
    'INSERT INTO events_2026_11 (id, ts, guild_id, channel_id, user_id, kind, attrs) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const tx = db.transaction((rs: readonly ActivityEvent[]) => {
    for (const e of rs) {
      insert.run(
        e.id,
        e.ts,
        e.guildId,
        e.channelId,
        e.userId,
        e.kind,
        e.attrs === undefined ? null : JSON.stringify(e.attrs),
      );
    }
  });
  for (let i = 0; i < rows.length; i += batch) tx(rows.slice(i, i + batch));
  db.close();
}
