import assert from 'node:assert/strict';
import { readdir, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { NotFoundError } from '../../../core/errors.js';
import { withTempDir } from '../../helpers/paths.js';

test('put/get/getJson/exists/delete round-trip, and missing keys are NotFoundError or undefined', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put('a/b/c.json', JSON.stringify({ x: 1 }));
    assert.deepEqual(await store.getJson('a/b/c.json'), { x: 1 });
    assert.equal(new TextDecoder().decode(await store.get('a/b/c.json')), '{"x":1}');
    assert.equal(await store.exists('a/b/c.json'), true);
    assert.equal(await store.getJson('nope.json'), undefined);
    await assert.rejects(store.get('nope.bin'), NotFoundError);
    await store.delete('a/b/c.json');
    assert.equal(await store.exists('a/b/c.json'), false);
  }));

test('putIfAbsent writes once: the second writer gets false and the first content stays', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('once', `writer ${i}`)));
    assert.equal(results.filter(Boolean).length, 1);
    const winner = results.indexOf(true);
    assert.equal(new TextDecoder().decode(await store.get('once')), `writer ${winner}`);
    assert.deepEqual(await readdir(dir), ['once'], 'no temp files left behind');
  }));

test('list returns sorted keys under a prefix and never temp files; keys cannot escape the root', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    for (const key of ['x/2', 'x/1', 'x/sub/3', 'y/1']) await store.put(key, key);
    const keys: string[] = [];
    for await (const b of store.list('x/')) keys.push(b.key);
    assert.deepEqual(keys, ['x/1', 'x/2', 'x/sub/3']);
    assert.throws(() => store.pathOf('../outside'), /escapes/);
  }));

test('a listing that does not ask about readability lists the same keys and versions, and still flags what is no file', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put('s/a.npy', 'a');
    await store.put('s/b.json', '{}');
    await symlink(path.join(dir, 'gone'), path.join(dir, 's', 'c.npy'));
    const all = async (checkReadable: boolean) => {
      const out = [];
      for await (const blob of store.list('s/', { checkReadable })) out.push(blob);
      return out;
    };
    const checked = await all(true);
    assert.deepEqual(await all(false), checked);
    assert.deepEqual(
      checked.map((b) => [b.key, b.unreadable?.kind]),
      [
        ['s/a.npy', undefined],
        ['s/b.json', undefined],
        ['s/c.npy', 'dangling-symlink'],
      ],
    );
  }));
