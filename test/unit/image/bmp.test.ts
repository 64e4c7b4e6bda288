import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { InvalidImageError } from '../../../core/errors.js';
import { decodeToRgb } from '../../../core/image/preprocess.js';
import { IMAGENET_SPEC } from '../../helpers/image-fixtures.js';

/** A bottom-up BMP with a BITMAPINFOHEADER, written here by hand so the test does not check the decoder by itself. */
function bmp(width: number, height: number, rgba: Buffer, bits: 24 | 32): Buffer {
  const bytesPerPixel = bits / 8;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  const file = Buffer.alloc(54 + stride * height);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(bits, 28);
  file.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const q = 54 + (height - 1 - y) * stride + x * bytesPerPixel;
      file[q] = rgba[p + 2]!;
      file[q + 1] = rgba[p + 1]!;
      file[q + 2] = rgba[p]!;
      if (bits === 32) file[q + 3] = rgba[p + 3]!;
    }
  }
  return file;
}

function gradient(width: number, height: number, alpha: (x: number, y: number) => number): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      rgba.set([(x * 7) % 256, (y * 5) % 256, (x * y) % 256, alpha(x, y)], (y * width + x) * 4);
  }
  return rgba;
}

async function asPng(width: number, height: number, rgba: Buffer, channels: 3 | 4): Promise<Buffer> {
  const raw = channels === 4 ? rgba : Buffer.from(rgba.filter((_, i) => i % 4 !== 3));
  return sharp(raw, { raw: { width, height, channels } }).png().toBuffer();
}

test('a 24-bit BMP decodes to exactly the crop the same pixels give as PNG', async () => {
  const [w, h] = [301, 211];
  const pixels = gradient(w, h, () => 255);
  const fromBmp = await decodeToRgb(bmp(w, h, pixels, 24), IMAGENET_SPEC);
  assert.deepEqual(fromBmp, await decodeToRgb(await asPng(w, h, pixels, 3), IMAGENET_SPEC));
});

test('a 32-bit BMP without an alpha mask ignores its fourth byte, as PIL does (BGRX)', async () => {
  const [w, h] = [260, 240];
  const pixels = gradient(w, h, (x) => (x < 130 ? 0 : 255));
  const fromBmp = await decodeToRgb(bmp(w, h, pixels, 32), IMAGENET_SPEC);
  assert.deepEqual(fromBmp, await decodeToRgb(await asPng(w, h, pixels, 3), IMAGENET_SPEC));
});

test('a cut-off BMP is a truncated reject', async () => {
  const whole = bmp(
    300,
    300,
    gradient(300, 300, () => 255),
    24,
  );
  await assert.rejects(decodeToRgb(whole.subarray(0, 5000), IMAGENET_SPEC), (err: unknown) => {
    assert.ok(err instanceof InvalidImageError);
    assert.equal(err.kind, 'truncated', err.message);
    assert.match(err.message, /^truncated BMP/);
    return true;
  });
});
