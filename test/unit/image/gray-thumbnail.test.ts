import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import sharp from 'sharp';
import { grayThumbnail } from '../../../core/image/gray-thumbnail.js';
import { vipsJpeg } from '../../../core/image/vips-jpeg.js';
import { HYMENOPTERA } from '../../helpers/paths.js';

const SIDE = 32;

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** A picture no turn or mirror leaves alike: a dark top-left quadrant, a light bottom-right one, a ramp between. */
async function asymmetric(width: number, height: number): Promise<Buffer> {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = x < width / 2 && y < height / 2 ? 10 : x >= width / 2 && y >= height / 2 ? 240 : (255 * x) / width;
      rgb.fill(Math.round(v), (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .raw()
    .toBuffer();
}

test('the in-thread decode (DCT-scaled JPEG, small PNG) gives the thumbnail sharp does, on every EXIF orientation', async (t) => {
  if (!vipsJpeg()) return t.skip('no in-thread libvips on this platform: grayThumbnail is the sharp path alone');
  const raw = await asymmetric(640, 400);
  const upright = sharp(raw, { raw: { width: 640, height: 400, channels: 3 } });
  for (let orientation = 1; orientation <= 8; orientation++) {
    // Stored under each tag (turned for the ones that swap sides): both paths must show it the same way.
    const stored = await sharp(await upright.clone().png().toBuffer())
      .rotate(orientation >= 5 ? 90 : 0)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation })
      .toBuffer();
    const inThread = await grayThumbnail(stored, SIDE);
    const bySharp = await grayThumbnail(stored, SIDE, 'sharp');
    assert.ok(meanAbsDiff(inThread, bySharp) < 2, `orientation ${orientation}: ${meanAbsDiff(inThread, bySharp)}`);
  }
  const rgba = await sharp(raw, { raw: { width: 640, height: 400, channels: 3 } })
    .ensureAlpha(0.5)
    .png()
    .toBuffer();
  assert.ok(meanAbsDiff(await grayThumbnail(rgba, SIDE), await grayThumbnail(rgba, SIDE, 'sharp')) < 1);
});

test('on hymenoptera photos the in-thread thumbnails are sharp-decoded ones within a level', async (t) => {
  if (!vipsJpeg()) return t.skip('no in-thread libvips on this platform');
  const dir = path.join(HYMENOPTERA, 'val', 'bees');
  const files = (await readdir(dir)).slice(0, 20);
  let worst = 0;
  for (const f of files) {
    const bytes = await readFile(path.join(dir, f));
    worst = Math.max(worst, meanAbsDiff(await grayThumbnail(bytes, SIDE), await grayThumbnail(bytes, SIDE, 'sharp')));
  }
  assert.ok(worst < 1.5, `worst mean |Δ| ${worst}`);
});

test('a CMYK JPEG and bytes that are no image take the sharp path or fail, never a wrong thumbnail', async () => {
  const cmyk = await sharp(await asymmetric(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg()
    .toBuffer();
  const thumb = await grayThumbnail(cmyk, SIDE);
  assert.ok(meanAbsDiff(thumb, await grayThumbnail(cmyk, SIDE, 'sharp')) === 0);
  await assert.rejects(grayThumbnail(Buffer.from('not an image'), SIDE));
});
