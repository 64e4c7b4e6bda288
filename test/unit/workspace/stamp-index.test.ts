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
