import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { inlineOriginals } from '../../../core/report/inline-originals.js';
import { garbage, jpeg, pattern, png } from '../../helpers/image-fixtures.js';
import { withTempDir } from '../../helpers/paths.js';

test('without an image library, browser formats are inlined as they are, told apart by their bytes', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const [small, photo, tiff] = await Promise.all([png(40, 30), jpeg(64, 48), pattern(40, 30).tiff().toBuffer()]);
    await store.put('a/named-jpg-but-png.jpg', small);
    await store.put('a/photo.jpeg', photo);
    await store.put('a/scan.tif', tiff);
    await store.put('a/noise.jpg', garbage(512));

    const { thumbnails, failed } = await inlineOriginals(store, [
      'a/named-jpg-but-png.jpg',
      'a/photo.jpeg',
      'a/scan.tif',
      'a/noise.jpg',
      'a/gone.jpg',
    ]);
    assert.equal(thumbnails.get('a/named-jpg-but-png.jpg'), `data:image/png;base64,${small.toString('base64')}`);
    assert.equal(thumbnails.get('a/photo.jpeg'), `data:image/jpeg;base64,${photo.toString('base64')}`);
    assert.deepEqual(
      failed.map((f) => f.key),
      ['a/scan.tif', 'a/noise.jpg', 'a/gone.jpg'],
    );
    assert.match(failed[0]!.reason, /not a JPEG, PNG, GIF or WebP/);
    assert.match(failed[2]!.reason, /gone\.jpg/);
  }));

test('a file over the per-image limit, and files past the total budget, are named instead of inlined', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const photo = await jpeg(64, 48);
    for (const name of ['first', 'second', 'third']) await store.put(`${name}.jpg`, photo);
    const big = await pattern(400, 300).jpeg({ quality: 100 }).toBuffer();
    await store.put('big.jpg', big);

    const limits = { perImage: big.length - 1, total: photo.length * 2 };
    const { thumbnails, failed } = await inlineOriginals(
      store,
      ['big.jpg', 'first.jpg', 'second.jpg', 'third.jpg'],
      limits,
    );
    assert.deepEqual(
      [...thumbnails.keys()],
      ['first.jpg', 'second.jpg'],
      'in the order given, until the budget is spent',
    );
    assert.match(failed.find((f) => f.key === 'big.jpg')!.reason, /too large to inline/);
    assert.match(failed.find((f) => f.key === 'third.jpg')!.reason, /budget .* is spent/);
  }));
