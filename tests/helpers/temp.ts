import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temporary directory removed by `cleanup()`; `file(name)` gives a path inside it (e.g. a SQLite file).
 *
 * @example
 * const tmp = tempDir();
 * const storage = openStorage({ ...defaults, dataDir: tmp.path }, …);
 * afterAll(() => tmp.cleanup());
 */
export function tempDir(prefix = 'guildhall-test-'): {
  path: string;
  file: (name: string) => string;
  cleanup: () => void;
} {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name: string) => join(path, name),
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}
