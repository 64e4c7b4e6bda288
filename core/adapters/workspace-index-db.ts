import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DataError } from '../errors.js';

/**
 * The workspace index file (`<out>/index.sqlite`, WAL): the stamp table (file version → content hash or checked shard)
 * and the manifest's per-image entries. Its format is SQLite's `user_version`: 0 is the stamps-only file of earlier
 * builds, migrated in place by adding the entries table; a newer format than this build knows is refused.
 */
export const WORKSPACE_INDEX_FORMAT = 2;

export function openWorkspaceIndex(file: string): DatabaseSync {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { timeout: 30_000 });
  try {
    // Two runs opening a new workspace at once race to switch it to WAL; SQLite answers the loser "database is locked"
    // at once, without its busy handler (the switch needs an exclusive lock), so the set-up is retried here.
    retryWhileLocked(() => db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;'));
    const format = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (format > WORKSPACE_INDEX_FORMAT) {
      throw new DataError(
        `${file} has index format ${format}, newer than this cnn-codes reads (${WORKSPACE_INDEX_FORMAT}): use the version that wrote it, or extract into a new --out`,
      );
    }
    if (format < WORKSPACE_INDEX_FORMAT) {
      retryWhileLocked(() =>
        db.exec(`
          BEGIN IMMEDIATE;
          CREATE TABLE IF NOT EXISTS stamps (key TEXT PRIMARY KEY, version TEXT NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, split TEXT NOT NULL, label INTEGER NOT NULL, content_hash TEXT NOT NULL, codes TEXT NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
          PRAGMA user_version = ${WORKSPACE_INDEX_FORMAT};
          COMMIT;
        `),
      );
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

const SET_UP_WAIT_MS = 30_000;

function retryWhileLocked(step: () => void): void {
  const deadline = Date.now() + SET_UP_WAIT_MS;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    try {
      step();
      return;
    } catch (err) {
      if (!/database is locked|SQLITE_BUSY/i.test(String((err as Error)?.message)) || Date.now() > deadline) throw err;
      // A synchronous pause: the index is opened before any asynchronous work starts.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}
