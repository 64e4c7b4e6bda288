import { decode } from 'bmp-ts';
import { InvalidImageError, errorMessage } from '../errors.js';
import { tooLargeError } from './invalid-image.js';

/** Decoded pixels that sharp takes as raw input. */
export interface RawPixels {
  pixels: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * BMP, which PIL (hence torchvision) reads but the libvips inside sharp's prebuilt binaries does not: decoded by
 * bmp-ts (1, 4, 8, 16, 24 and 32 bits, RLE4/RLE8, bit fields) and handed to sharp as raw pixels, so resize, crop and
 * normalization stay the same pipeline as every other format. The decoder fills alpha with 0 where the file has none
 * (24-bit, paletted, 32-bit with an unused fourth byte), so an all-zero alpha channel means "opaque", as PIL reads it.
 */
export function decodeBmp(bytes: Uint8Array, limitInputPixels: number): RawPixels {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 26)
    throw new InvalidImageError('truncated', `truncated BMP: ${buffer.length} bytes, shorter than its header`);
  // Checked before decoding: the decoder allocates width × height × 4 bytes up front.
  const width = Math.abs(buffer.readInt32LE(18));
  const height = Math.abs(buffer.readInt32LE(22));
  if (width * height > limitInputPixels) throw tooLargeError(width, height, limitInputPixels);
  let rgba: Buffer;
  try {
    rgba = decode(buffer, { toRGBA: true }).data;
  } catch (err) {
    // Reading past the end of the buffer is how a cut-off file shows itself to the decoder.
    const kind = err instanceof RangeError ? 'truncated' : 'decode-failed';
    throw new InvalidImageError(
      kind,
      `${kind === 'truncated' ? 'truncated BMP' : 'BMP could not be decoded'}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (width === 0 || height === 0 || rgba.length !== width * height * 4) {
    throw new InvalidImageError(
      'decode-failed',
      `BMP could not be decoded: ${width}×${height} pixels, ${rgba.length} bytes of pixel data`,
    );
  }
  let hasAlpha = false;
  for (let i = 3; i < rgba.length && !hasAlpha; i += 4) hasAlpha = rgba[i] !== 0;
  if (hasAlpha) return { pixels: rgba, width, height, channels: 4 };
  const rgb = Buffer.allocUnsafe(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p]!;
    rgb[q + 1] = rgba[p + 1]!;
    rgb[q + 2] = rgba[p + 2]!;
  }
  return { pixels: rgb, width, height, channels: 3 };
}
