import sharp from 'sharp';
import { errorMessage } from '../errors.js';
import { sharpInput } from '../image/sharp-input.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Thumbnails } from './inline-originals.js';

/**
 * Small JPEG data URIs (about 3–6 kB each), so the report stays one file. An image that cannot be read is left out
 * and named in `failed`; the report then shows the tile without a picture instead of failing.
 */
const LIMIT_INPUT_PIXELS = 100_000_000;

/**
 * Thumbnails decoded at once. All at once, 12 hostile BMPs in val took `run` to 3.6 GB (issue 23): each decode may
 * hold the decoders' memory budget, so the peak is this many budgets, whatever the number of images.
 */
export const THUMBNAIL_CONCURRENCY = 4;

export async function makeThumbnails(data: BlobStore, keys: readonly string[], size = 160): Promise<Thumbnails> {
  const thumbnails = new Map<string, string>();
  const failed: Thumbnails['failed'] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) await thumbnail(keys[i]!);
  };
  const thumbnail = async (key: string): Promise<void> => {
    try {
      // The formats the pipeline decodes itself (BMP, Netpbm, TGA, ICO) get their thumbnail the same way.
      const { input, options } = sharpInput(await data.get(key), LIMIT_INPUT_PIXELS);
      const jpeg = await sharp(input, {
        ...options,
        limitInputPixels: LIMIT_INPUT_PIXELS,
        autoOrient: true,
        pages: 1,
      })
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        .jpeg({ quality: 72, mozjpeg: true })
        .toBuffer();
      thumbnails.set(key, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
    } catch (err) {
      failed.push({ key, reason: errorMessage(err) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(THUMBNAIL_CONCURRENCY, keys.length) }, lane));
  // Lanes finish in any order; the report lists failures in the order it asked for them.
  const order = new Map(keys.map((k, i) => [k, i]));
  failed.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  return { thumbnails, failed };
}
