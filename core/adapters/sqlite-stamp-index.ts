import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { StampIndex } from '../workspace/stamp-index.js';
import { compareKeys } from '../workspace/manifest-store.js';
import { openWorkspaceIndex } from './workspace-index-db.js';

const RUN_ROWS = 1024;
const MIN_RUN_ROWS = 16;

/**
 * The workspace's stamp index in Node's built-in SQLite (one file, WAL): a lookup is one indexed read, updating k
 * stamps is k row writes in one transaction, and several processes can share the file (bench/index.ts measured it
 * against append-only JSON segments; see docs/benchmarks.md, "Workspace index").
 */
export class SqliteStampIndex implements StampIndex {
  private readonly db: DatabaseSync;
  private readonly select: StatementSync;
  private readonly upsert: StatementSync;
  private readonly remove: StatementSync;
  /** The rows from a key on, in key order: `getMany`'s merge reads the table in these runs. */
  private readonly range: StatementSync;
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
    this.range = this.db.prepare('SELECT key, version, value FROM stamps WHERE key >= ? ORDER BY key LIMIT ?');
    this.range.setReturnArrays(true);
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

  /**
   * A merge of the requests, sorted by key, with runs of the table read from the first unanswered key on: one query
   * answers up to RUN_ROWS keys (bench: 125 k stamps in ~0.15 s against ~1.2 s as a query each). A run's length
   * follows how many of its rows were asked for, so keys scattered through a large table cost about a query each.
   */
  getMany(requests: ReadonlyArray<{ key: string; version: string }>): Array<string | undefined> {
    const out = new Array<string | undefined>(requests.length).fill(undefined);
    const order: number[] = [];
    requests.forEach((r, i) => {
      if (this.pending.has(r.key) || this.options.preload) out[i] = this.get(r.key, r.version);
      else order.push(i);
    });
    // A listing comes sorted already: checking costs a pass, sorting n log n comparisons.
    const before = (a: number, b: number) => compareKeys(requests[a]!.key, requests[b]!.key);
    if (order.some((i, at) => at > 0 && before(order[at - 1]!, i) > 0)) order.sort(before);
    let limit = MIN_RUN_ROWS;
    for (let at = 0; at < order.length;) {
      const rows = this.range.all(requests[order[at]!]!.key, limit) as unknown as Array<[string, string, string]>;
      // A short run reached the end of the table: no key after its last row is stored.
      const last = rows.length < limit ? undefined : rows[rows.length - 1]![0];
      let r = 0;
      let hits = 0;
      for (; at < order.length; at++) {
        const request = requests[order[at]!]!;
        if (last !== undefined && compareKeys(request.key, last) > 0) break;
        while (r < rows.length && compareKeys(rows[r]![0], request.key) < 0) r++;
        const row = rows[r];
        if (row && row[0] === request.key && row[1] === request.version) {
          out[order[at]!] = row[2];
          hits++;
        }
      }
      limit = Math.min(RUN_ROWS, Math.max(MIN_RUN_ROWS, 2 * hits));
    }
    return out;
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
