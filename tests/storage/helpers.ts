import { openStorage, type Storage } from '../../src/storage/index.js';
import { tempDir } from '../helpers/temp.js';

/** A migrated storage on a fresh SQLite file in a temp dir; `trace` collects every executed SQL statement. */
export function freshStorage(opts: { now?: () => number } = {}): {
  storage: Storage;
  statements: string[];
  dir: ReturnType<typeof tempDir>;
  cleanup: () => Promise<void>;
} {
  const dir = tempDir();
  const statements: string[] = [];
  const storage = openStorage(
    { dataDir: dir.path, databaseFile: 'test.sqlite', busyTimeoutMs: 1000 },
    { migrate: true, trace: (sql) => statements.push(sql), now: opts.now },
  );
  return {
    storage,
    statements,
    dir,
    cleanup: async () => {
      await storage.close();
      dir.cleanup();
    },
  };
}
