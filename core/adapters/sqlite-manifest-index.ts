import * as path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import type { Manifest, ManifestEntry } from '../features/manifest.js';
import { compareKeys, readManifest, type ManifestEntryIndex } from '../workspace/manifest-store.js';
import { FsBlobStore } from './fs-blob-store.js';
import { openWorkspaceIndex } from './workspace-index-db.js';

interface Row {
  key: string;
  split: string;
  label: number;
  content_hash: string;
  codes: string;
}

/**
 * The manifest's entries as rows of the workspace index, one per image, kept in key order (SQLite compares TEXT as
 * UTF-8 bytes, the order `compareKeys` gives). `replace` merges the new entries against a scan of the stored ones and
 * writes only the rows that differ, so k changed images cost k row writes; reading streams rows, one at a time.
 */
export class SqliteManifestIndex implements ManifestEntryIndex {
  readonly location: string;
  private db: DatabaseSync | undefined;
  private adopted: { entries: readonly ManifestEntry[]; digest: string } | undefined;

  /** The file is opened on first use, so commands that never read the manifest never create it. */
  constructor(private readonly file: string) {
    this.location = pathToFileURL(file).href;
  }

  private open(): DatabaseSync {
    this.db ??= openWorkspaceIndex(this.file);
    return this.db;
  }

  replace(entries: Iterable<ManifestEntry>, digest: string): { written: number; removed: number } {
    const db = this.open();
    db.exec('BEGIN IMMEDIATE');
    try {
      const changes = this.diff(db, entries);
      const upsert = db.prepare(
        'INSERT INTO entries (key, split, label, content_hash, codes) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET split = excluded.split, label = excluded.label, content_hash = excluded.content_hash, codes = excluded.codes',
      );
      const remove = db.prepare('DELETE FROM entries WHERE key = ?');
      for (const r of changes.write) upsert.run(r.key, r.split, r.label, r.content_hash, r.codes);
      for (const key of changes.remove) remove.run(key);
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('entries-digest', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(digest);
      db.exec('COMMIT');
      return { written: changes.write.length, removed: changes.remove.length };
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  /** A merge of two key-ordered streams: the stored rows and the new entries. Holds only the differences. */
  private diff(db: DatabaseSync, entries: Iterable<ManifestEntry>): { write: Row[]; remove: string[] } {
    const write: Row[] = [];
    const remove: string[] = [];
    const stored = db
      .prepare('SELECT key, split, label, content_hash, codes FROM entries ORDER BY key')
      .iterate() as Iterator<Row>;
    let old = stored.next();
    for (const e of entries) {
      const row = rowOf(e);
      while (!old.done && compareKeys(old.value.key, row.key) < 0) {
        remove.push(old.value.key);
        old = stored.next();
      }
      if (!old.done && old.value.key === row.key) {
        const o = old.value;
        if (
          o.split !== row.split ||
          o.label !== row.label ||
          o.content_hash !== row.content_hash ||
          o.codes !== row.codes
        )
          write.push(row);
        old = stored.next();
      } else {
        write.push(row);
      }
    }
    for (; !old.done; old = stored.next()) remove.push(old.value.key);
    return { write, remove };
  }

  adopt(entries: readonly ManifestEntry[], digest: string): void {
    this.adopted = { entries, digest };
  }

  /** The adopted entries while the stored digest is still theirs (one query), else the rows. */
  entries(): Iterable<ManifestEntry> {
    if (this.adopted && this.adopted.digest === this.digest()) return this.adopted.entries;
    this.adopted = undefined;
    return this.rows();
  }

  private *rows(): Iterable<ManifestEntry> {
    for (const r of this.open()
      .prepare('SELECT key, split, label, content_hash, codes FROM entries ORDER BY key')
      .iterate() as Iterable<Row>) {
      yield {
        key: r.key,
        split: r.split,
        label: r.label,
        contentHash: r.content_hash,
        codes: JSON.parse(r.codes) as ManifestEntry['codes'],
      };
    }
  }

  digest(): string | undefined {
    return (
      this.open().prepare("SELECT value FROM meta WHERE key = 'entries-digest'").get() as { value: string } | undefined
    )?.value;
  }

  count(): number {
    return (this.open().prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

function rowOf(e: ManifestEntry): Row {
  return { key: e.key, split: e.split, label: e.label, content_hash: e.contentHash, codes: JSON.stringify(e.codes) };
}

/** The workspace index's file name inside a local workspace (`<out>/index.sqlite`). */
export const WORKSPACE_INDEX_FILE = 'index.sqlite';

/** A local workspace's manifest with its entries, for tools and tests that open a workspace folder directly. */
export async function readLocalManifest(dir: string): Promise<Manifest> {
  const index = new SqliteManifestIndex(path.join(dir, WORKSPACE_INDEX_FILE));
  try {
    return await readManifest(new FsBlobStore(dir), index);
  } finally {
    index.close();
  }
}
