import assert from 'node:assert/strict';
import { it } from 'node:test';
import sharp from 'sharp';
import { configureSharpForWorker } from '../../../core/image/preprocess.js';

it('configureSharpForWorker: one libvips thread, no operation cache', () => {
  configureSharpForWorker();
  assert.equal(sharp.concurrency(), 1);
  const cache = sharp.cache();
  assert.deepEqual([cache.memory.max, cache.files.max, cache.items.max], [0, 0, 0]);
});
