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

export async function makeThumbnails(data: BlobStore, keys: readonly string[], size = 160): Promise<Thumbnails> {
  const thumbnails = new Map<string, string>();
  const failed: Thumbnails['failed'] = [];
  await Promise.all(
    keys.map(async (key) => {
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
    }),
  );
  return { thumbnails, failed };
}
