import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { listImageFolder } from '../../../core/dataset/image-folder.js';
import { DataError } from '../../../core/errors.js';
import { HYMENOPTERA, withTempDir } from '../../helpers/paths.js';

test('hymenoptera lists as torchvision ImageFolder does: 245 train, 153 val, classes sorted', async () => {
  const ds = await listImageFolder(new FsBlobStore(HYMENOPTERA));
  assert.deepEqual(ds.classes, ['ants', 'bees']);
  assert.equal(ds.items.filter((i) => i.split === 'train').length, 245);
  assert.equal(ds.items.filter((i) => i.split === 'val').length, 153);
  assert.equal(ds.splitSynthesized, false);
  assert.ok(ds.items.some((i) => i.key === 'train/ants/ant photos.jpg'));
  assert.deepEqual(ds.ignored.map((i) => i.key).sort(), ['PROVENANCE.md', 'SHA256SUMS']);
});

test('a folder without splits gets a seeded, stratified val split that is the same on every run', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    for (const c of ['cats', 'dogs', 'fish']) for (let i = 0; i < 10; i++) await store.put(`${c}/${i}.jpg`, `${c}${i}`);
    await store.put('.hidden/x.jpg', 'x');
    await store.put('notes.txt', 'x');
    const a = await listImageFolder(store, '', { seed: 7 });
    const b = await listImageFolder(store, '', { seed: 7 });
    const c = await listImageFolder(store, '', { seed: 8 });
    assert.equal(a.splitSynthesized, true);
    for (let label = 0; label < 3; label++) assert.equal(a.items.filter((i) => i.label === label && i.split === 'val').length, 2);
    assert.deepEqual(a.items, b.items);
    assert.notDeepEqual(a.items.map((i) => i.split), c.items.map((i) => i.split));
  }));

test('empty, single-class and missing folders are DataErrors that say what was expected', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await assert.rejects(listImageFolder(store), (e: unknown) => e instanceof DataError && /<split>\/<class>\/<image>/.test(e.message));
    await store.put('train/only/1.jpg', 'x');
    await assert.rejects(listImageFolder(store), /at least 2 classes/);
  }));
