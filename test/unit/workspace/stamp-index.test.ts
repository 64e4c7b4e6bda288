import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { SqliteStampIndex } from '../../../core/adapters/sqlite-stamp-index.js';
import { isStampable, MemoryStampIndex, type StampIndex } from '../../../core/workspace/stamp-index.js';
import { withTempDir } from '../../helpers/paths.js';

function contract(index: StampIndex): void {
  index.set('a.jpg', 'v1', 'hash-a');
  assert.equal(index.get('a.jpg', 'v1'), 'hash-a');
  assert.equal(index.get('a.jpg', 'v2'), undefined, 'another version of the file is not trusted');
  index.set('a.jpg', 'v2', 'hash-a2');
  assert.equal(index.get('a.jpg', 'v1'), undefined, 'the newer stamp replaces the older');
  index.delete('a.jpg');
  assert.equal(index.get('a.jpg', 'v2'), undefined);
}

test('a stamp is trusted only at the version it was taken at (memory and SQLite alike)', () =>
  withTempDir(async (dir) => {
    contract(new MemoryStampIndex());
    const sqlite = new SqliteStampIndex(path.join(dir, 'index.sqlite'));
    contract(sqlite);
    sqlite.close();
  }));

test('SQLite stamps persist once committed, not before, and two handles on one file see each other’s commits', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'ws', 'index.sqlite');
    const first = new SqliteStampIndex(file);
    const second = new SqliteStampIndex(file);
    first.set('x', 'v', 'h');
    assert.equal(second.get('x', 'v'), undefined, 'buffered until commit');
    first.commit();
    assert.equal(second.get('x', 'v'), 'h');
    second.set('y', 'v', 'g');
    second.close();
    first.close();
    const reopened = new SqliteStampIndex(file);
    assert.deepEqual([reopened.get('x', 'v'), reopened.get('y', 'v')], ['h', 'g']);
    reopened.close();
  }));

test('a file modified within the racy window is hashed again next time, not stamped', () => {
  const now = 1_000_000;
  assert.equal(isStampable(now - 100, now), false);
  assert.equal(isStampable(now - 10_000, now), true);
  assert.equal(isStampable(undefined, now), true);
});

test('getMany answers exactly what get answers, through runs of the table, gaps, pending writes and any key order', () =>
  withTempDir(async (dir) => {
    const sqlite = new SqliteStampIndex(path.join(dir, 'index.sqlite'));
    const memory = new MemoryStampIndex();
    // 5,000 stored keys (more than one run), every seventh skipped, with keys outside ASCII (UTF-8 order ≠ UTF-16).
    const keyOf = (i: number) => `data/${['a', 'é', '\uffff', '😀'][i % 4]}/${String(i).padStart(5, '0')}.jpg`;
    for (const index of [sqlite, memory]) {
      for (let i = 0; i < 5000; i++) if (i % 7 !== 0) index.set(keyOf(i), `v${i % 3}`, `hash-${i}`);
      index.commit();
      index.set(keyOf(14), 'v2', 'pending'); // buffered, not committed
      index.delete(keyOf(15));
    }
    const requests = [
      ...Array.from({ length: 5000 }, (_, i) => ({ key: keyOf(i), version: `v${i % 3}` })),
      ...Array.from({ length: 300 }, (_, i) => ({ key: keyOf(i * 13), version: 'v1' })), // other versions, repeats
      { key: 'data/zzz-not-stored.jpg', version: 'v0' },
      { key: '', version: 'v0' },
    ].sort(() => 0.5 - Math.random());
    const expected = requests.map((r) => sqlite.get(r.key, r.version));
    assert.deepEqual(sqlite.getMany(requests), expected);
    assert.deepEqual(memory.getMany(requests), expected);
    assert.equal(expected.filter((v) => v !== undefined).length > 4000, true);
    // Scattered keys: a few requests among many stored rows.
    const sparse = [keyOf(4999), keyOf(1), keyOf(2500)].map((key, i) => ({
      key,
      version: `v${[4999, 1, 2500][i]! % 3}`,
    }));
    assert.deepEqual(sqlite.getMany(sparse), ['hash-4999', 'hash-1', 'hash-2500']);
    assert.deepEqual(sqlite.getMany([]), []);
    sqlite.close();
  }));
