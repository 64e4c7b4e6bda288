import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { InvalidImageError, type InvalidImageKind } from '../../../core/errors.js';
import { decodeToRgb, type DecodeOptions } from '../../../core/image/preprocess.js';
import * as fx from '../../helpers/image-fixtures.js';

const { IMAGENET_SPEC: SPEC, CROP_BYTES } = fx;

async function assertRejects(bytes: Uint8Array, kind: InvalidImageKind, message: RegExp, options?: DecodeOptions) {
  await assert.rejects(decodeToRgb(bytes, SPEC, options), (err: unknown) => {
    assert.ok(err instanceof InvalidImageError, `expected InvalidImageError, got ${String(err)}`);
    assert.equal(err.kind, kind, `kind for "${err.message}"`);
    assert.match(err.message, message);
    return true;
  });
}

/** Mean absolute difference in 0..255 levels. */
function meanAbsDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function channelMeans(rgb: Buffer): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < rgb.length; i++) sums[i % 3]! += rgb[i]!;
  return sums.map((s) => s / (rgb.length / 3)) as [number, number, number];
}

describe('decodeToRgb rejects bad input with a specific kind and message', () => {
  it('zero bytes → empty', () => assertRejects(new Uint8Array(0), 'empty', /^empty file: 0 bytes$/));

  it('truncated JPEG → truncated', async () => {
    await assertRejects(fx.truncate(await fx.jpeg()), 'truncated', /^truncated JPEG: premature end of JPEG image$/);
  });

  it('truncated PNG → truncated, though libvips only says "read error"', async () => {
    await assertRejects(fx.truncate(await fx.png(), 0.6), 'truncated', /^truncated PNG: libpng read error$/);
  });

  it('truncated GIF → truncated', async () => {
    await assertRejects(
      fx.truncate(await fx.animatedGif(), 0.3),
      'truncated',
      /^truncated GIF: .*unexpected end of GIF/i,
    );
  });

  it('truncated WebP → truncated, although libwebp would decode it', async () => {
    const webp = await fx.pattern().webp({ quality: 90 }).toBuffer();
    await assertRejects(
      fx.truncate(webp, 0.9),
      'truncated',
      /^truncated WebP: header declares \d+ bytes, file has \d+$/,
    );
  });

  it('corrupt but complete JPEG → decode-failed, not truncated', async () => {
    await assertRejects(await fx.corruptJpeg(), 'decode-failed', /^JPEG could not be decoded: corrupt JPEG data/i);
  });

  it('random bytes → unsupported-format, naming the first bytes', async () => {
    await assertRejects(
      fx.garbage(),
      'unsupported-format',
      /^unsupported image format \(first bytes: 00 [0-9a-f ]+\)$/,
    );
  });

  it('a PNG header claiming 30000×30000 → too-large, without decoding', async () => {
    const bomb = await fx.pngClaimingSize(30000, 30000);
    await assertRejects(bomb, 'too-large', /^image is 30000×30000 = 900 MP, over the 100 MP limit$/);
  });

  it('limitInputPixels is an option', async () => {
    await assertRejects(
      await fx.jpeg(320, 240),
      'too-large',
      /^image is 320×240 = 76800 pixels, over the 1000 pixels limit$/,
      {
        limitInputPixels: 1000,
      },
    );
  });

  it('a 1×20000 sliver → too-large, because Resize(256) would make it 256×5120000', async () => {
    const sliver = await fx.pattern(20000, 1).png().toBuffer();
    await assertRejects(
      sliver,
      'too-large',
      /^resizing would make the image 5120000×256 = 1310.7 MP, over the 100 MP limit$/,
    );
  });
});

describe('decodeToRgb normalizes odd but valid images to 224×224 8-bit sRGB', () => {
  it('CMYK JPEG → 3 channels with the colours of the RGB original', async () => {
    const cmyk = await fx.cmykJpeg();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const fromCmyk = await decodeToRgb(cmyk, SPEC);
    const fromRgb = await decodeToRgb(await fx.mutedPng(), SPEC);
    assert.equal(fromCmyk.length, CROP_BYTES);
    // sRGB → generic CMYK profile → sRGB loses some blue (measured: channel drift ≤ 11, mean abs 6.2 levels); an
    // uninverted Adobe CMYK or a naive 255−C conversion would be off by far more.
    const drift = channelMeans(fromCmyk).map((m, c) => Math.abs(m - channelMeans(fromRgb)[c]!));
    assert.ok(Math.max(...drift) < 16, `channel mean drift ${drift.map((d) => d.toFixed(1)).join(', ')}`);
    assert.ok(meanAbsDiff(fromCmyk, fromRgb) < 10, `mean abs diff ${meanAbsDiff(fromCmyk, fromRgb).toFixed(1)}`);
  });

  it('greyscale → three identical channels', async () => {
    const grey = await fx.greyscalePng();
    assert.equal((await sharp(grey).metadata()).channels, 1);
    const rgb = await decodeToRgb(grey, SPEC);
    assert.equal(rgb.length, CROP_BYTES);
    for (let i = 0; i < rgb.length; i += 3) {
      assert.ok(rgb[i] === rgb[i + 1] && rgb[i] === rgb[i + 2], `pixel ${i / 3} is not grey`);
    }
  });

  it('16-bit PNG → the same 8-bit values as its 8-bit twin', async () => {
    const deep = await fx.png16();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    const rgb = await decodeToRgb(deep, SPEC);
    assert.equal(rgb.length, CROP_BYTES);
    assert.ok(meanAbsDiff(rgb, await decodeToRgb(await fx.png(), SPEC)) < 1);
  });

  it('RGBA PNG → transparent pixels become white, opaque ones keep their colour', async () => {
    const rgb = await decodeToRgb(await fx.halfTransparentPng(), SPEC);
    const reference = await decodeToRgb(await fx.png(), SPEC);
    // Source 320×240 → 341×256 → crop from x = 58: the source's transparent half ends at resized x ≈ 170, crop x ≈ 112.
    const pixel = (buf: Buffer, x: number, y: number) =>
      Array.from(buf.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3));
    assert.deepEqual(pixel(rgb, 20, 100), [255, 255, 255]);
    assert.deepEqual(pixel(rgb, 200, 100), pixel(reference, 200, 100));
  });

  // 200×150 is enlarged, which takes the affine path: orientation must hold there too.
  for (const [width, height] of [
    [320, 240],
    [200, 150],
  ] as const) {
    it(`EXIF orientation 6 → rotated like the manually rotated image (${width}×${height})`, async () => {
      const plain = await fx.jpeg(width, height);
      const tagged = fx.withExifOrientation(plain, 6);
      assert.equal((await sharp(tagged).metadata()).orientation, 6);
      // The same decoded pixels, rotated 90° clockwise by hand and stored losslessly.
      const { data, info } = await sharp(plain).raw().toBuffer({ resolveWithObject: true });
      const rotatedByHand = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
        .rotate(90)
        .png()
        .toBuffer();
      const fromExif = await decodeToRgb(tagged, SPEC);
      assert.ok(meanAbsDiff(fromExif, await decodeToRgb(rotatedByHand, SPEC)) < 0.5);
      assert.ok(meanAbsDiff(fromExif, await decodeToRgb(plain, SPEC)) > 20, 'orientation was ignored');
    });
  }

  for (const [name, make] of [
    ['palette PNG', fx.palettePng],
    ['WebP', fx.webp],
    ['TIFF', fx.tiff],
  ] as const) {
    it(`${name} → decodes like the PNG original`, async () => {
      const rgb = await decodeToRgb(await make(), SPEC);
      assert.equal(rgb.length, CROP_BYTES);
      assert.ok(meanAbsDiff(rgb, await decodeToRgb(await fx.png(), SPEC)) < 3);
    });
  }

  it('animated GIF → the first frame only', async () => {
    const gif = await fx.animatedGif();
    assert.equal((await sharp(gif).metadata()).pages, 2);
    const rgb = await decodeToRgb(gif, SPEC);
    assert.equal(rgb.length, CROP_BYTES);
    const [r, , b] = channelMeans(rgb);
    assert.ok(r > 60 && b < 200, `looks like the blue second frame: mean R ${r.toFixed(0)}, B ${b.toFixed(0)}`);
    assert.ok(
      meanAbsDiff(rgb, await decodeToRgb(await fx.png(), SPEC)) < 12,
      'not the first frame (GIF palette allowed)',
    );
  });
});
