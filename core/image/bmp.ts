import { decode } from 'bmp-ts';
import { InvalidImageError, errorMessage } from '../errors.js';
import { checkDecodeBudget, notEnoughDataError } from './invalid-image.js';

/** Decoded 8-bit pixels that sharp takes as raw input: grey, grey + alpha, RGB or RGBA, interleaved. */
export interface RawPixels {
  pixels: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * BMP, which PIL (hence torchvision) reads but the libvips inside sharp's prebuilt binaries does not: decoded by
 * bmp-ts (1, 4, 8, 16, 24 and 32 bits, RLE4/RLE8, bit fields) and handed to sharp as raw pixels, so resize, crop and
 * normalization stay the same pipeline as every other format. The decoder fills alpha with 0 where the file has none
 * (24-bit, paletted, 32-bit with an unused fourth byte), so an all-zero alpha channel means "opaque", as PIL reads it.
 */
export function decodeBmp(bytes: Uint8Array, limitInputPixels: number): RawPixels {
  const { rgba, width, height } = decodeBmpRgba(bytes, limitInputPixels, 'BMP');
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

/**
 * The decoder's RGBA with alpha as bmp-ts fills it. `what` names the file in messages: a BMP, or an ICO entry that the
 * ICO reader wrapped in a BMP file header.
 *
 * bmp-ts 1.0.9 is asked for its native A-B-G-R layout and swizzled here: with `toRGBA` its 4- and 8-bit paths still
 * write ABGR and its 1-bit path misplaces alpha. Its RLE paths misplace every pixel in either layout and its 4-bit path
 * stops after one row when the width is odd, so RLE4/RLE8 (as PIL's BmpRleDecoder reads them) and 4-bit files are
 * expanded here into an uncompressed 8-bit file first. Checked against PIL's pixels in
 * test/integration/pil-formats.test.ts.
 */
export function decodeBmpRgba(
  bytes: Uint8Array,
  limitInputPixels: number,
  what: string,
): { rgba: Buffer; width: number; height: number } {
  let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 34)
    throw new InvalidImageError('truncated', `truncated ${what}: ${buffer.length} bytes, shorter than its header`);
  // Checked before decoding: the decoder allocates width × height × 4 bytes up front.
  // Unsigned, as bmp-ts allocates from it (and PIL reads an icon's): a "negative" width is 2³² − |w| pixels wide.
  const width = buffer.readUInt32LE(18);
  const height = Math.abs(buffer.readInt32LE(22));
  checkLayout(buffer, width, height, what);
  checkDecodeBudget(what, width, height, BMP_BYTES_PER_PIXEL, limitInputPixels);
  // PIL ignores "colours used" above 8 bits; bmp-ts would build a palette of that many entries (2²⁵: 0.4 s) first.
  if (buffer.readUInt16LE(28) > 8 && buffer.length >= 50 && buffer.readUInt32LE(46) !== 0) {
    buffer = Buffer.from(buffer);
    buffer.writeUInt32LE(0, 46);
  }
  checkDeclaredData(buffer, width, height, what);
  const compression = buffer.readUInt32LE(30);
  if (compression === RLE8 || compression === RLE4) buffer = expandRle(buffer, width, height, compression === RLE4);
  else if (compression === 0 && buffer.readUInt16LE(28) === 4) buffer = expandNibbles(buffer, width, height);
  let abgr: Buffer;
  try {
    abgr = decode(buffer).data;
  } catch (err) {
    // Reading past the end of the buffer is how a cut-off file shows itself to the decoder.
    const kind = err instanceof RangeError ? 'truncated' : 'decode-failed';
    throw new InvalidImageError(
      kind,
      `${kind === 'truncated' ? `truncated ${what}` : `${what} could not be decoded`}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (width === 0 || height === 0 || abgr.length !== width * height * 4) {
    throw new InvalidImageError(
      'decode-failed',
      `${what} could not be decoded: ${width}×${height} pixels, ${abgr.length} bytes of pixel data`,
    );
  }
  const rgba = Buffer.allocUnsafe(abgr.length);
  for (let p = 0; p < abgr.length; p += 4) {
    rgba[p] = abgr[p + 3]!;
    rgba[p + 1] = abgr[p + 2]!;
    rgba[p + 2] = abgr[p + 1]!;
    rgba[p + 3] = abgr[p]!;
  }
  return { rgba, width, height };
}

const RLE8 = 1;
const RLE4 = 2;
const BITFIELDS = 3;

/** Peak bytes a pixel over the decode: RLE indices and their 8-bit file (2), bmp-ts's ABGR (4), RGBA (4), RGB (3). */
const BMP_BYTES_PER_PIXEL = 14;

const DEPTHS = new Set([1, 4, 8, 16, 24, 32]);

/**
 * The layouts PIL 9.4's BmpImagePlugin reads (its "Unsupported BMP …" errors), checked before anything loops over rows:
 * a 0×399,754,622 image has no pixels for the budget to count but that many rows to walk.
 */
function checkLayout(file: Buffer, width: number, height: number, what: string): void {
  const unsupported = (detail: string) =>
    new InvalidImageError('decode-failed', `${what} could not be decoded: ${detail} (PIL refuses it too)`);
  if (width === 0 || height === 0) throw unsupported(`${width}×${height} pixels`);
  const bits = file.readUInt16LE(28);
  if (!DEPTHS.has(bits)) throw unsupported(`${bits} bits per pixel`);
  const compression = file.readUInt32LE(30);
  if (compression > BITFIELDS) throw unsupported(`compression ${compression}`);
  const colours = file.length >= 50 ? file.readUInt32LE(46) : 0;
  if (bits <= 8 && colours > 2 ** bits) throw unsupported(`a palette of ${colours} colours for ${bits}-bit pixels`);
}

/**
 * What PIL refuses before decoding, checked here because bmp-ts would zero-fill or allocate first: pixel data that
 * starts past the end of the file, bit fields whose masks are all zero, and an uncompressed raster longer than the bytes
 * after the pixel offset ("not enough image data").
 */
function checkDeclaredData(file: Buffer, width: number, height: number, what: string): void {
  const pixelStart = file.readUInt32LE(10);
  if (pixelStart >= file.length)
    throw notEnoughDataError(what, `pixel data at byte ${pixelStart} of a ${file.length}-byte file`);
  const headerEnd = 14 + file.readUInt32LE(14);
  if (pixelStart < headerEnd)
    throw new InvalidImageError(
      'decode-failed',
      `${what} could not be decoded: its pixel data (byte ${pixelStart}) starts inside its header (to byte ${headerEnd})`,
    );
  const compression = file.readUInt32LE(30);
  const bits = file.readUInt16LE(28);
  if (compression === BITFIELDS && file.length >= 66 && [54, 58, 62].every((at) => file.readUInt32LE(at) === 0))
    throw new InvalidImageError('decode-failed', `${what} could not be decoded: its colour bit masks are all zero`);
  if (compression === 0 || compression === BITFIELDS) {
    const rowBytes = Math.ceil((width * bits) / 8);
    const stride = Math.ceil(rowBytes / 4) * 4;
    const needed = height === 0 ? 0 : stride * (height - 1) + rowBytes;
    if (file.length - pixelStart < needed)
      throw notEnoughDataError(
        what,
        `${width}×${height} at ${bits} bits need ${needed} bytes, the file has ${file.length - pixelStart}`,
      );
  }
}

/**
 * An RLE8/RLE4 BMP → the same picture as an uncompressed 8-bit BMP (same header and palette). Follows PIL 9.4's
 * BmpRleDecoder step by step, quirks included (a delta skips "right + up · width" pixels), so the indices equal PIL's.
 */
function expandRle(file: Buffer, width: number, height: number, rle4: boolean): Buffer {
  const pixelStart = file.readUInt32LE(10);
  const total = width * height;
  const data = new Uint8Array(total);
  let n = 0;
  let x = 0;
  let p = pixelStart;
  while (n < total && p + 1 < file.length) {
    const count = file[p++]!;
    const byte = file[p++]!;
    if (count) {
      const run = Math.min(count, Math.max(0, width - x));
      for (let i = 0; i < run && n < total; i++) data[n++] = rle4 ? (i % 2 === 0 ? byte >> 4 : byte & 0x0f) : byte;
      x += run;
    } else if (byte === 0) {
      n = Math.ceil(n / width) * width;
      x = 0;
    } else if (byte === 1) {
      break;
    } else if (byte === 2) {
      if (p + 4 > file.length) break;
      const [right, up] = [file[p + 2]!, file[p + 3]!];
      p += 4;
      n = Math.min(total, n + right + up * width);
      x = n % width;
    } else {
      const byteCount = rle4 ? byte >> 1 : byte;
      const literal = file.subarray(p, p + byteCount);
      p += literal.length;
      for (const b of literal) {
        if (rle4) {
          if (n < total) data[n++] = b >> 4;
          if (n < total) data[n++] = b & 0x0f;
        } else if (n < total) data[n++] = b;
      }
      if (literal.length < byteCount) break;
      x += byte;
      if (p % 2 !== 0) p++;
    }
  }
  // PIL's BmpRleDecoder hands what it expanded to a raw decoder, which raises when it falls short of the raster.
  if (n < total) throw notEnoughDataError(rle4 ? 'BMP (RLE4)' : 'BMP (RLE8)', `${n} of ${total} pixels`);
  return eightBitFile(file, width, height, data, rle4 ? 16 : 256);
}

/** Uncompressed 4-bit → 8-bit indices, rows as stored (each padded to 32 bits). */
function expandNibbles(file: Buffer, width: number, height: number): Buffer {
  const pixelStart = file.readUInt32LE(10);
  const stride = Math.ceil(width / 8) * 4;
  if (file.length < pixelStart + stride * height)
    throw new InvalidImageError(
      'truncated',
      `truncated BMP: ${file.length} bytes, ${pixelStart + stride * height} expected`,
    );
  const data = new Uint8Array(width * height);
  for (let row = 0; row < height; row++)
    for (let x = 0; x < width; x++) {
      const b = file[pixelStart + row * stride + (x >> 1)]!;
      data[row * width + x] = x % 2 === 0 ? b >> 4 : b & 0x0f;
    }
  return eightBitFile(file, width, height, data, 16);
}

/** The same header and palette over an uncompressed 8-bit raster of `indices` (width × height, rows in file order). */
function eightBitFile(
  file: Buffer,
  width: number,
  height: number,
  indices: Uint8Array,
  defaultPalette: number,
): Buffer {
  const pixelStart = file.readUInt32LE(10);
  const stride = Math.ceil(width / 4) * 4;
  const out = Buffer.alloc(pixelStart + stride * height);
  out.set(file.subarray(0, pixelStart));
  out.writeUInt32LE(out.length, 2);
  out.writeUInt16LE(8, 28);
  out.writeUInt32LE(0, 30);
  out.writeUInt32LE(file.readUInt32LE(46) || defaultPalette, 46);
  for (let row = 0; row < height; row++)
    out.set(indices.subarray(row * width, (row + 1) * width), pixelStart + row * stride);
  return out;
}
