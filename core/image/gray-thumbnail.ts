import sharp from 'sharp';
import { sharpInput } from './sharp-input.js';

const LIMIT_INPUT_PIXELS = 100_000_000;

/**
 * An image's `side`² grayscale thumbnail (oriented, alpha on white, stretched to the square; one byte a pixel,
 * row-major): what core/quality/image-signature.ts hashes. JPEGs are shrunk on load, so a small image costs about
 * 3 ms of CPU.
 */
export async function grayThumbnail(bytes: Uint8Array, side: number): Promise<Uint8Array> {
  const { input, options } = sharpInput(bytes, LIMIT_INPUT_PIXELS);
  const raw = await sharp(input, { ...options, limitInputPixels: LIMIT_INPUT_PIXELS, autoOrient: true, pages: 1 })
    .flatten({ background: '#ffffff' })
    .resize(side, side, { fit: 'fill' })
    .grayscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (raw.info.channels !== 1 || raw.data.length !== side * side)
    throw new Error(`thumbnail of ${raw.info.channels} channels, ${raw.data.length} bytes`);
  return raw.data;
}
