import assert from 'node:assert/strict';
import { it } from 'node:test';
import sharp from 'sharp';
import { configureSharpForWorker, decodeToRgb } from '../../../core/image/preprocess.js';
import { IMAGENET_SPEC, png } from '../../helpers/image-fixtures.js';

it('configureSharpForWorker: one libvips thread, no operation cache, once libvips is first used', async () => {
  configureSharpForWorker();
  await decodeToRgb(await png(), IMAGENET_SPEC); // a PNG always goes through libvips
  assert.equal(sharp.concurrency(), 1);
  const cache = sharp.cache();
  assert.deepEqual([cache.memory.max, cache.files.max, cache.items.max], [0, 0, 0]);
});
