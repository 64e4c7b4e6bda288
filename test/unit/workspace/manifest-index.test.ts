import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { SqliteManifestIndex } from '../../../core/adapters/sqlite-manifest-index.js';
import { SqliteStampIndex } from '../../../core/adapters/sqlite-stamp-index.js';
import { WORKSPACE_INDEX_FORMAT } from '../../../core/adapters/workspace-index-db.js';
import { DataError } from '../../../core/errors.js';
import { FeatureStore } from '../../../core/features/feature-store.js';
import type { Manifest, ManifestEntry } from '../../../core/features/manifest.js';
import { compareKeys, readManifest, writeManifest } from '../../../core/workspace/manifest-store.js';
import { PYTHON, withTempDir } from '../../helpers/paths.js';

const entry = (i: number, shard = 's0'): ManifestEntry => ({
  key: `train/c${i % 2}/img${String(i).padStart(5, '0')}.jpg`,
  split: i % 5 === 0 ? 'val' : 'train',
  label: i % 2,
  contentHash: `h${i}`,
  codes: { final: { shard, row: i } },
});

function manifestOf(entries: ManifestEntry[]): Manifest {
  return {
    version: 1,
    dataset: 'file:///data',
    model: { name: 'm', sha256: 'abc' },
    classes: ['c0', 'c1'],
    splitSynthesized: false,
    namespaces: { final: { id: 'm/final-1', dim: 4 } },
    entries,
    rejects: [],
    ignored: [],
  };
}

/** A workspace folder with its index, as the CLI opens it. */
function workspaceAt(dir: string) {
  return { workspace: new FsBlobStore(dir), index: new SqliteManifestIndex(path.join(dir, 'index.sqlite')) };
}

test('entries live in the index: manifest.json holds a summary, a re-write changes only the rows that differ', () =>
  withTempDir(async (dir) => {
    const { workspace, index } = workspaceAt(dir);
    const entries = Array.from({ length: 1000 }, (_, i) => entry(i));
    assert.deepEqual(await writeManifest(workspace, manifestOf(entries), index), { written: 1000, removed: 0 });
    const summary = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as {
      version: number;
      entries: { count: number };
    };
    assert.equal(summary.version, 2);
    assert.equal(summary.entries.count, 1000);
    assert.ok(
      (await readFile(path.join(dir, 'manifest.json'))).length < 1000,
      'the summary does not grow with the images',
    );

    assert.deepEqual(
      await writeManifest(workspace, manifestOf(entries), index),
      { written: 0, removed: 0 },
      'unchanged: nothing written',
    );
    const changed = entries.filter((_, i) => i !== 7).map((e, i) => (i === 3 ? { ...e, label: 1 - e.label } : e));
    changed.push(entry(5000, 's1'));
    assert.deepEqual(
      await writeManifest(workspace, manifestOf(changed), index),
      { written: 2, removed: 1 },
      'k changes cost k row writes',
    );

    const read = await readManifest(workspace, index);
    assert.deepEqual(
      read.entries,
      [...changed].sort((a, b) => compareKeys(a.key, b.key)),
    );
    // Another process (a fresh handle) reads the rows themselves, not the entries this one adopted.
    const fresh = new SqliteManifestIndex(path.join(dir, 'index.sqlite'));
    assert.deepEqual((await readManifest(workspace, fresh)).entries, read.entries);
    fresh.close();
    assert.equal(read.classes.length, 2);
    index.close();
  }));

test('keys are kept in code point order, the order SQLite compares TEXT in', () => {
  const keys = ['b', 'a\u{1F600}', 'a\uFF5E', 'a'];
  assert.deepEqual([...keys].sort(compareKeys), ['a', 'a\uFF5E', 'a\u{1F600}', 'b']);
  assert.deepEqual(
    [...keys].sort(compareKeys),
    [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
  );
});

test('a format-1 manifest.json (entries inline) is migrated into the index, and read the same', () =>
  withTempDir(async (dir) => {
    const { workspace, index } = workspaceAt(dir);
    const old = manifestOf([entry(3), entry(2), entry(1)]);
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(old));
    const migrated = await readManifest(workspace, index);
    assert.deepEqual(migrated.entries, [entry(2), entry(1), entry(3)], 'in key order (c0 before c1)');
    assert.equal(JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')).version, 2);
    assert.equal(index.count(), 3);
    assert.equal(index.digest(), JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')).entries.digest);
    assert.deepEqual((await readManifest(workspace, index)).entries, migrated.entries);
    index.close();
    // Without an index (an object store), format 1 is read as it is.
    await new FsBlobStore(path.join(dir, 'inline')).put('manifest.json', JSON.stringify(old));
    assert.deepEqual((await readManifest(new FsBlobStore(path.join(dir, 'inline')))).entries, old.entries);
  }));

test('never misread: an index that does not match manifest.json, an unknown format, a newer index file are refused', () =>
  withTempDir(async (dir) => {
    const { workspace, index } = workspaceAt(dir);
    await writeManifest(workspace, manifestOf([entry(1), entry(2)]), index);
    await assert.rejects(
      readManifest(workspace),
      (err: Error) => err instanceof DataError && /index\.sqlite/.test(err.message),
    );

    index.replace([entry(1)], 'elsewhere'); // an interrupted write, or an index from elsewhere
    await assert.rejects(
      readManifest(workspace, index),
      (err: Error) =>
        err instanceof DataError && /does not hold the 2 entries/.test(err.message) && /extract/.test(err.message),
    );

    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifestOf([]), version: 3 }));
    await assert.rejects(
      readManifest(workspace, index),
      (err: Error) => err instanceof DataError && /format 3/.test(err.message),
    );
    index.close();

    const newer = new DatabaseSync(path.join(dir, 'index.sqlite'));
    newer.exec(`PRAGMA user_version = ${WORKSPACE_INDEX_FORMAT + 1}`);
    newer.close();
    assert.throws(
      () => new SqliteStampIndex(path.join(dir, 'index.sqlite')),
      (err: Error) => err instanceof DataError && /newer than this cnn-codes/.test(err.message),
    );
    assert.throws(() => new SqliteManifestIndex(path.join(dir, 'index.sqlite')).count(), DataError);
  }));

test('an index file of earlier builds (stamps only, format 0) keeps its stamps and gains the entries table', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'index.sqlite');
    const old = new DatabaseSync(file);
    old.exec(
      "CREATE TABLE stamps (key TEXT PRIMARY KEY, version TEXT NOT NULL, value TEXT NOT NULL) WITHOUT ROWID; INSERT INTO stamps VALUES ('a.jpg', 'v1', 'hash-a');",
    );
    old.close();
    const stamps = new SqliteStampIndex(file);
    assert.equal(stamps.get('a.jpg', 'v1'), 'hash-a');
    stamps.close();
    const index = new SqliteManifestIndex(file);
    assert.equal(index.count(), 0);
    index.close();
    const check = new DatabaseSync(file);
    assert.equal(
      (check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
      WORKSPACE_INDEX_FORMAT,
    );
    check.close();
  }));

test('a deleted index is refilled by the next write, though manifest.json is unchanged', () =>
  withTempDir(async (dir) => {
    const { workspace, index } = workspaceAt(dir);
    const manifest = manifestOf([entry(1), entry(2)]);
    await writeManifest(workspace, manifest, index);
    index.close();
    await rm(path.join(dir, 'index.sqlite'));
    const fresh = new SqliteManifestIndex(path.join(dir, 'index.sqlite'));
    await assert.rejects(readManifest(workspace, fresh), /does not hold the 2 entries/);
    assert.deepEqual(await writeManifest(workspace, manifest, fresh), { written: 2, removed: 0 });
    assert.equal((await readManifest(workspace, fresh)).entries.length, 2);
    fresh.close();
  }));

test('numpy and sqlite3 read the codes of a workspace as docs/workspace-format.md shows', () =>
  withTempDir(async (dir) => {
    const { workspace, index } = workspaceAt(dir);
    const ns = { id: 'm/final-1', dim: 4, model: 'm', modelSha256: 'abc', cut: 'final' };
    const codes = Float32Array.from({ length: 12 }, (_, i) => i / 4);
    const shard = await new FeatureStore(workspace).writeShard(ns, ['h0', 'h1', 'h2'], codes, []);
    const entries = [0, 1, 2].map((row) => ({
      key: `train/c${row % 2}/x${row}.jpg`,
      split: 'train',
      label: row % 2,
      contentHash: `h${row}`,
      codes: { final: { shard, row } },
    }));
    await writeManifest(workspace, manifestOf(entries), index);
    index.close();
    const script = `
import json, sqlite3, numpy as np
ws = ${JSON.stringify(dir)}
ns = json.load(open(f"{ws}/manifest.json"))["namespaces"]["final"]["id"]
rows = sqlite3.connect(f"file:{ws}/index.sqlite?mode=ro", uri=True).execute("SELECT codes FROM entries WHERE split = 'train' ORDER BY key")
def code(c): loc = json.loads(c)["final"]; return np.load(f"{ws}/codes/{ns}/shards/{loc['shard']}.npy")[loc["row"]]
X = np.stack([code(c) for (c,) in rows])
print(json.dumps(X.tolist()))`;
    const X = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as number[][];
    // Key order: train/c0/x0, train/c0/x2, train/c1/x1.
    assert.deepEqual(
      X,
      [0, 2, 1].map((row) => Array.from(codes.subarray(row * 4, row * 4 + 4))),
    );
  }));
