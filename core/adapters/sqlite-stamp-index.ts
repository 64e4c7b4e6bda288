import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { StampIndex } from '../workspace/stamp-index.js';
import { openWorkspaceIndex } from './workspace-index-db.js';

/**
 * The workspace's stamp index in Node's built-in SQLite (one file, WAL): a lookup is one indexed read, updating k
 * stamps is k row writes in one transaction, and several processes can share the file (bench/index.ts measured it
 * against append-only JSON segments; see README "The workspace index").
 */
export class SqliteStampIndex implements StampIndex {
  private readonly db: DatabaseSync;
  private readonly select: StatementSync;
  private readonly upsert: StatementSync;
  private readonly remove: StatementSync;
  private readonly pending = new Map<string, { version: string; value: string } | null>();

  /** With `preload`, the first lookup reads the whole table into memory: one scan instead of a query per key. */
  private loaded: Map<string, { version: string; value: string }> | undefined;

  constructor(
    file: string,
    private readonly options: { preload?: boolean } = {},
  ) {
    this.db = openWorkspaceIndex(file);
    this.select = this.db.prepare('SELECT value FROM stamps WHERE key = ? AND version = ?');
    this.upsert = this.db.prepare(
      'INSERT INTO stamps (key, version, value) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value',
    );
    this.remove = this.db.prepare('DELETE FROM stamps WHERE key = ?');
  }

  get(key: string, version: string): string | undefined {
    const pending = this.pending.get(key);
    if (pending !== undefined) return pending?.version === version ? pending.value : undefined;
    if (this.options.preload) {
      this.loaded ??= this.readAll();
      const stamp = this.loaded.get(key);
      return stamp?.version === version ? stamp.value : undefined;
    }
    const row = this.select.get(key, version) as { value: string } | undefined;
    return row?.value;
  }

  set(key: string, version: string, value: string): void {
    this.pending.set(key, { version, value });
  }

  delete(key: string): void {
    this.pending.set(key, null);
  }

  /** One short write transaction for everything since the last commit, so concurrent runs never wait on a long one. */
  commit(): void {
    if (this.pending.size === 0) return;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const [key, stamp] of this.pending) {
        if (stamp) this.upsert.run(key, stamp.version, stamp.value);
        else this.remove.run(key);
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    this.pending.clear();
  }

  private readAll(): Map<string, { version: string; value: string }> {
    const all = new Map<string, { version: string; value: string }>();
    for (const row of this.db.prepare('SELECT key, version, value FROM stamps').iterate() as Iterable<{
      key: string;
      version: string;
      value: string;
    }>) {
      all.set(row.key, { version: row.version, value: row.value });
    }
    return all;
  }

  close(): void {
    this.commit();
    this.db.close();
  }
}
