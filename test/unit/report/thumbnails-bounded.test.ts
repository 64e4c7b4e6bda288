import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BlobStore } from '../../../core/ports/blob-store.js';
import { makeThumbnails, THUMBNAIL_CONCURRENCY } from '../../../core/report/html-thumbnails.js';
import { rle8Bomb } from '../../helpers/hostile-files.js';
import { png } from '../../helpers/image-fixtures.js';

test('D1: report thumbnails are decoded a few at a time, so twelve hostile files cost a few budgets, not twelve', async () => {
  const good = await png(64, 48);
  let inFlight = 0;
  let peak = 0;
  const store = {
    async get(key: string) {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return key.startsWith('bad') ? rle8Bomb(2000, 2000) : good;
    },
  } as unknown as BlobStore;
  const keys = [...Array.from({ length: 12 }, (_, i) => `bad${i}.bmp`), 'good.png'];
  const { thumbnails, failed } = await makeThumbnails(store, keys);
  assert.ok(peak <= THUMBNAIL_CONCURRENCY, `${peak} files read at once`);
  assert.deepEqual([...thumbnails.keys()], ['good.png']);
  assert.deepEqual(
    failed.map((f) => f.key),
    keys.slice(0, 12),
  );
  assert.match(failed[0]!.reason, /not enough image data/);
});
