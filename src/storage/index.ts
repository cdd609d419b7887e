import type { Kysely } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Logger } from '../logging/logger.js';
import { type DatabaseOptions, openDatabase } from './database.js';
import { EventStore } from './events.js';
import type { Database } from './schema.js';

export { eventId, eventIdForSnowflake, eventTime, EVENT_ID_PATTERN } from './event-id.js';
export { EVENT_KINDS, type EventKind, isEventKind } from './event-kinds.js';
export {
  EventStore,
  activityEventSchema,
  type ActivityEvent,
  type IngestResult,
  type StoredEvent,
} from './events.js';
export { migrate, MIGRATIONS, LATEST_VERSION } from './migrations.js';
export { openDatabase, databasePath, APPLICATION_ID, type DatabaseOptions } from './database.js';
export type { Database } from './schema.js';

/** The api pod's storage: Kysely for domain tables, the partitioned {@link EventStore} for activity. */
export interface Storage {
  readonly file: string;
  readonly db: Kysely<Database>;
  readonly sqlite: BetterSqlite3.Database;
  readonly events: EventStore;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

/**
 * Opens the database (refusing foreign, corrupt or newer files), migrates it if asked, and builds the
 * event store. Only the api role (or `all`) calls this.
 *
 * @example
 * const storage = openStorage(config.storage, { migrate: true, log });
 * storage.events.ingest(batch);
 * await storage.close();
 */
export function openStorage(
  opts: DatabaseOptions,
  o: { migrate: boolean; log?: Logger; trace?: (sql: string) => void; now?: () => number },
): Storage {
  const { file, db, sqlite } = openDatabase(opts, o);
  const events = new EventStore(sqlite, { now: o.now });
  let open = true;
  return {
    file,
    db,
    sqlite,
    events,
    get isOpen() {
      return open && sqlite.open;
    },
    async close() {
      if (!open) return;
      open = false;
      await db.destroy(); // closes the better-sqlite3 handle too
    },
  };
}
