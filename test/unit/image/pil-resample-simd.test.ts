import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJpegExact, decodeJpegFast } from '../../../core/image/fast-jpeg.js';
import { planResizeAndCrop } from '../../../core/image/geometry.js';
import { resizeAndCropRgb, type PilKernel } from '../../../core/image/pil-resample.js';
import { resampleKernel } from '../../../core/image/pil-resample-simd.js';
import { DEFAULT_LIMIT_INPUT_PIXELS } from '../../../core/image/preprocess.js';
import * as fx from '../../helpers/image-fixtures.js';

/** A deterministic noisy image: edges and extremes exercise the clipping at 0 and 255 of cubic and lanczos. */
function noise(width: number, height: number, channels: 3 | 4, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    data[i] = (s >>> 16) % 7 === 0 ? 255 * ((s >>> 20) & 1) : (s >>> 16) & 0xff;
  }
  return data;
}

test('the WebAssembly SIMD passes give the JavaScript passes’ bytes for every kernel, size and channel count', () => {
  assert.ok(resampleKernel(), 'Node has WebAssembly SIMD');
  const sizes: Array<[number, number]> = [
    [375, 500],
    [500, 333],
    [301, 257],
    [260, 300],
    [299, 1000],
  ];
  let checked = 0;
  for (const [height, width] of sizes) {
    for (const channels of [3, 4] as const) {
      const image = { data: noise(width, height, channels, height * width + channels), width, height, channels };
      const plan = planResizeAndCrop(height, width, fx.IMAGENET_SPEC);
      for (const kernel of ['linear', 'cubic', 'lanczos3'] as PilKernel[]) {
        const js = resizeAndCropRgb(image, plan.resized, plan.crop, kernel, { simd: false });
        const simd = resizeAndCropRgb(image, plan.resized, plan.crop, kernel);
        assert.equal(simd.length, 224 * 224 * 3);
        assert.ok(Buffer.from(js).equals(Buffer.from(simd)), `${width}×${height}×${channels} ${kernel}`);
        checked += 1;
      }
    }
  }
  assert.equal(checked, 30);
});

test('the libvips-decoded fast path equals the WebAssembly-decoded one, and declines what it declines', async () => {
  const sharp = (await import('sharp')).default;
  const loadSharp = () => Promise.resolve(sharp);
  const spec = fx.IMAGENET_SPEC;
  for (const bytes of [
    await fx.jpeg(320, 240),
    await fx.jpeg(500, 375),
    await fx.pattern().greyscale().jpeg().toBuffer(),
  ]) {
    const viaVips = await decodeJpegExact(bytes, spec, DEFAULT_LIMIT_INPUT_PIXELS, loadSharp);
    assert.ok(viaVips);
    assert.ok(viaVips.equals(decodeJpegFast(bytes, spec, DEFAULT_LIMIT_INPUT_PIXELS)!));
  }
  for (const bytes of [fx.truncate(await fx.jpeg()), await fx.corruptJpeg(), await fx.png(), await fx.cmykJpeg()])
    assert.equal(await decodeJpegExact(bytes, spec, DEFAULT_LIMIT_INPUT_PIXELS, loadSharp), undefined);
});

test('a JPEG followed by zero padding takes the fast path with the same crop; other trailing bytes do not', async () => {
  const sharp = (await import('sharp')).default;
  const loadSharp = () => Promise.resolve(sharp);
  const spec = fx.IMAGENET_SPEC;
  const bytes = await fx.jpeg(320, 240);
  const plain = (await decodeJpegExact(bytes, spec, DEFAULT_LIMIT_INPUT_PIXELS, loadSharp))!;
  for (const pad of [1, 3, 100]) {
    const padded = Buffer.concat([bytes, Buffer.alloc(pad)]);
    assert.ok((await decodeJpegExact(padded, spec, DEFAULT_LIMIT_INPUT_PIXELS, loadSharp))?.equals(plain), `${pad}`);
    assert.ok(decodeJpegFast(padded, spec, DEFAULT_LIMIT_INPUT_PIXELS)?.equals(plain), `${pad}, WebAssembly`);
  }
  const trailing = Buffer.concat([bytes, Buffer.from([1, 0, 0])]);
  assert.equal(await decodeJpegExact(trailing, spec, DEFAULT_LIMIT_INPUT_PIXELS, loadSharp), undefined);
});
