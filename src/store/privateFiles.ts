// The SQLite store holds conversation references, the audit trail and sealed hand-off secrets: nobody
// but syncbot's own user may read it (issue 20 found it world-readable). The folders syncbot creates
// for it are 0700, and the database with its -wal/-shm/-journal files 0600 whatever the umask. A folder
// that already exists is left as it is: SQLITE_PATH may point into a shared directory such as /tmp.

import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";

const SIDECARS = ["-wal", "-shm", "-journal"];

/** Before the database is opened: its folders (those created now) 0700, the file itself 0600. */
export function preparePrivateDatabase(path: string): void {
  const folder = resolve(dirname(path));
  const firstCreated = mkdirSync(folder, { recursive: true, mode: 0o700 });
  // The mode given to mkdir is reduced by the umask: set it on each folder created now, innermost first.
  for (let dir = folder; firstCreated; dir = dirname(dir)) {
    chmodSync(dir, 0o700);
    if (dir === resolve(firstCreated) || dirname(dir) === dir) break;
  }
  closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
}

/** After WAL mode is on: SQLite creates the -wal and -shm files with the database's mode; made sure here. */
export function tightenSidecars(path: string): void {
  for (const suffix of SIDECARS) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
}
