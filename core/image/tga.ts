import { InvalidImageError } from '../errors.js';
import type { RawPixels } from './bmp.js';
import { checkDecodeBudget, notEnoughDataError } from './invalid-image.js';

/**
 * Truevision TGA as PIL 9.4's TgaImagePlugin reads it: colour-mapped (8-bit indices into a 16/24/32-bit palette),
 * true-colour 16 (5-5-5), 24 and 32 bits (BGRA), greyscale 8 bits and 8 + 8 alpha; uncompressed or RLE; any of the
 * four origins. The pixels equal PIL's (test/integration/pil-formats.test.ts compares them byte for byte).
 *
 * Own code, not a package: @lunapaint/tga-codec 0.2.0 matched PIL on 8, 24 and 32 bits when tried, but widens 5-bit
 * channels by bit replication where PIL takes floor(v · 255 / 31) (1,635 of 3,404 bytes differed on a 16-bit file),
 * and its npm package ships 289 MB of test images into every install; the format is an 18-byte header and a raster.
 */

const TYPES = new Set([1, 2, 3, 9, 10, 11]);
const DEPTHS = new Set([1, 8, 16, 24, 32]);

/**
 * TGA has no magic number (the optional footer is at the end, and most writers leave it out); like PIL, a header whose
 * fields all make sense is taken as one. Only tried after every format with a signature has been ruled out.
 */
export function looksLikeTga(bytes: Uint8Array): boolean {
  if (bytes.length < 18) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return (
    (bytes[1] === 0 || bytes[1] === 1) &&
    TYPES.has(bytes[2]!) &&
    DEPTHS.has(bytes[16]!) &&
    view.getUint16(12, true) > 0 &&
    view.getUint16(14, true) > 0
  );
}

export function decodeTga(bytes: Uint8Array, limitInputPixels: number): RawPixels {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const [idLength, hasMap, type, depth, flags] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[16]!, bytes[17]!];
  const width = view.getUint16(12, true);
  const height = view.getUint16(14, true);
  const layout = pixelLayout(type & 7, depth);
  // The raster (RLE unpacked, up to 4 bytes a pixel) and the output (up to 4).
  checkDecodeBudget('TGA', width, height, layout.bytes + layout.channels, limitInputPixels);
  let position = 18 + idLength;
  let palette: Uint8Array | undefined;
  if (hasMap) {
    const [start, length, mapDepth] = [view.getUint16(3, true), view.getUint16(5, true), bytes[7]!];
    const entryBytes = Math.ceil(mapDepth / 8);
    if (![16, 24, 32].includes(mapDepth)) throw failed(`${mapDepth}-bit palette entries`);
    if (start + length > 256) throw failed(`a palette of entries ${start}..${start + length - 1}, past 255`);
    if (position + length * entryBytes > bytes.length) throw truncated('its palette');
    palette = readPalette(bytes.subarray(position, position + length * entryBytes), start, mapDepth);
    position += length * entryBytes;
  }
  if (layout.kind === 'palette' && !palette) throw failed('a colour-mapped image without a palette');
  const count = width * height;
  // An RLE packet is a header byte and at least one pixel for up to 128 pixels: fewer bytes cannot hold the image.
  if (type & 8 && count > Math.ceil((bytes.length - position) / (1 + layout.bytes)) * 128)
    throw notEnoughDataError('TGA', `${count} pixels from ${bytes.length - position} bytes of RLE data`);
  const raster =
    type & 8
      ? unpackRle(bytes, position, count, layout.bytes)
      : bytes.subarray(position, position + count * layout.bytes);
  if (raster.length < count * layout.bytes) throw truncated('its pixel data');

  const channels = layout.channels;
  const out = Buffer.alloc(count * channels);
  const bottomUp = (flags & 0x20) === 0;
  const rightToLeft = (flags & 0x10) !== 0;
  for (let row = 0; row < height; row++) {
    const y = bottomUp ? height - 1 - row : row;
    for (let column = 0; column < width; column++) {
      const x = rightToLeft ? width - 1 - column : column;
      const from = (row * width + column) * layout.bytes;
      writePixel(layout.kind, raster, from, out, (y * width + x) * channels, palette);
    }
  }
  return { pixels: out, width, height, channels };
}

type PixelKind = 'grey' | 'grey-alpha' | 'bgr15' | 'bgr' | 'bgra' | 'palette';

/** PIL's table: (image type without the RLE bit, bits per pixel) → how a pixel is stored. */
function pixelLayout(type: number, depth: number): { kind: PixelKind; bytes: number; channels: 1 | 2 | 3 | 4 } {
  if (type === 3 && depth === 8) return { kind: 'grey', bytes: 1, channels: 1 };
  if (type === 3 && depth === 16) return { kind: 'grey-alpha', bytes: 2, channels: 2 };
  if (type === 2 && depth === 16) return { kind: 'bgr15', bytes: 2, channels: 3 };
  if (type === 2 && depth === 24) return { kind: 'bgr', bytes: 3, channels: 3 };
  if (type === 2 && depth === 32) return { kind: 'bgra', bytes: 4, channels: 4 };
  // A 32-bit palette carries alpha; the others come out as RGB.
  if (type === 1 && depth === 8) return { kind: 'palette', bytes: 1, channels: 4 };
  throw failed(`image type ${type} with ${depth} bits per pixel`);
}

function writePixel(
  kind: PixelKind,
  raster: Uint8Array,
  p: number,
  out: Buffer,
  q: number,
  palette?: Uint8Array,
): void {
  switch (kind) {
    case 'grey':
      out[q] = raster[p]!;
      return;
    case 'grey-alpha':
      out[q] = raster[p]!;
      out[q + 1] = raster[p + 1]!;
      return;
    case 'bgr15':
      expand15(raster[p]! | (raster[p + 1]! << 8), out, q);
      return;
    case 'bgr':
    case 'bgra':
      out[q] = raster[p + 2]!;
      out[q + 1] = raster[p + 1]!;
      out[q + 2] = raster[p]!;
      if (kind === 'bgra') out[q + 3] = raster[p + 3]!;
      return;
    case 'palette':
      out.set(palette!.subarray(raster[p]! * 4, raster[p]! * 4 + 4), q);
  }
}

/** 0RRRRRGGGGGBBBBB, little-endian; PIL ignores the top (attribute) bit and widens each channel as floor(v · 255 / 31). */
function expand15(pixel: number, out: Uint8Array, q: number): void {
  out[q] = Math.floor((((pixel >> 10) & 31) * 255) / 31);
  out[q + 1] = Math.floor((((pixel >> 5) & 31) * 255) / 31);
  out[q + 2] = Math.floor(((pixel & 31) * 255) / 31);
}

/** 256 RGBA entries; indices below the map's first entry and past its end are black, as in PIL's zero-filled palette. */
function readPalette(entries: Uint8Array, first: number, depth: number): Uint8Array {
  const palette = new Uint8Array(256 * 4);
  const size = depth / 8;
  for (let i = 0; first + i < 256 && (i + 1) * size <= entries.length; i++) {
    const q = (first + i) * 4;
    const p = i * size;
    if (depth === 16) expand15(entries[p]! | (entries[p + 1]! << 8), palette, q);
    else palette.set([entries[p + 2]!, entries[p + 1]!, entries[p]!], q);
    palette[q + 3] = depth === 32 ? entries[p + 3]! : 255;
  }
  return palette;
}

/** RLE packets: a header byte, then one pixel repeated (top bit set) or that many literal pixels; count = low 7 bits + 1. */
function unpackRle(bytes: Uint8Array, start: number, count: number, pixelBytes: number): Uint8Array {
  const out = new Uint8Array(count * pixelBytes);
  let p = start;
  let q = 0;
  while (q < out.length && p < bytes.length) {
    const header = bytes[p++]!;
    const n = Math.min((header & 0x7f) + 1, (out.length - q) / pixelBytes);
    if (header & 0x80) {
      if (p + pixelBytes > bytes.length) break;
      for (let i = 0; i < n; i++, q += pixelBytes) out.set(bytes.subarray(p, p + pixelBytes), q);
      p += pixelBytes;
    } else {
      const literal = bytes.subarray(p, p + n * pixelBytes);
      out.set(literal, q);
      q += literal.length;
      p += literal.length;
    }
  }
  return out.subarray(0, q);
}

function failed(detail: string): InvalidImageError {
  return new InvalidImageError('decode-failed', `TGA could not be decoded: ${detail} (not a layout PIL reads either)`);
}

function truncated(what: string): InvalidImageError {
  return new InvalidImageError('truncated', `truncated TGA: the file ends inside ${what}`);
}
