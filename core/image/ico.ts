import { InvalidImageError } from '../errors.js';
import { decodeBmpRgba, type RawPixels } from './bmp.js';
import { tooLargeError } from './invalid-image.js';

/**
 * Windows icons, read as PIL 9.4's IcoImagePlugin reads them: the largest entry (then the deepest colour, then the
 * last listed), a PNG entry as it is (sharp decodes it), a BMP entry as a DIB whose height counts the AND mask too,
 * with alpha from its fourth byte (32 bits) or from the 1-bit AND mask (anything less).
 *
 * Own directory reader, not decode-ico: that package decodes every entry with a second BMP decoder (decode-bmp) and
 * leaves the choice of entry and the mask to the caller; the directory is 16 bytes an entry, and the DIB goes through
 * the same bmp-ts path as a .bmp file.
 */

/** Reserved 0, type 1 (icon), at least one entry: PIL accepts on the first four bytes. */
export function isIco(bytes: Uint8Array): boolean {
  return bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0 && (bytes[4]! | bytes[5]!) !== 0;
}

interface Entry {
  index: number;
  area: number;
  colourDepth: number;
  bpp: number;
  size: number;
  offset: number;
}

export function decodeIco(bytes: Uint8Array, limitInputPixels: number): RawPixels | { png: Uint8Array } {
  if (bytes.length < 6) throw truncated('its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint16(4, true);
  if (bytes.length < 6 + count * 16) throw truncated('its directory');
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 6 + i * 16;
    const [width, height, colours] = [bytes[at] || 256, bytes[at + 1] || 256, bytes[at + 2]!];
    const bpp = view.getUint16(at + 6, true);
    const colourDepth = bpp || (colours !== 0 ? Math.ceil(Math.log2(colours)) : 0) || 256;
    entries.push({
      index: i,
      area: width * height,
      colourDepth,
      bpp,
      size: view.getUint32(at + 8, true),
      offset: view.getUint32(at + 12, true),
    });
  }
  // PIL sorts by colour depth, then (stable) by area, then reverses: largest, deepest, last listed first.
  entries.sort((a, b) => b.area - a.area || b.colourDepth - a.colourDepth || b.index - a.index);
  const chosen = entries[0]!;
  if (chosen.offset + chosen.size > bytes.length) throw truncated(`entry ${chosen.index}`);
  const data = bytes.subarray(chosen.offset, chosen.offset + chosen.size);
  if (data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) return { png: data };
  return decodeDibEntry(bytes, data, chosen, limitInputPixels);
}

function decodeDibEntry(file: Uint8Array, dib: Uint8Array, entry: Entry, limitInputPixels: number): RawPixels {
  if (dib.length < 40) throw truncated(`the header of entry ${entry.index}`);
  const view = new DataView(dib.buffer, dib.byteOffset, dib.length);
  const headerSize = view.getUint32(0, true);
  if (headerSize < 40) throw failed(`entry ${entry.index} has a ${headerSize}-byte DIB header`);
  // Unsigned, as PIL reads it: a "negative" width is a too-large icon, refused before anything is allocated.
  const width = view.getUint32(4, true);
  const height = Math.trunc(Math.abs(view.getInt32(8, true)) / 2);
  if (width * height > limitInputPixels) throw tooLargeError(width, height, limitInputPixels);
  const bpp = view.getUint16(14, true);
  const compression = view.getUint32(16, true);
  const paletteEntries = bpp <= 8 ? view.getUint32(32, true) || 1 << bpp : 0;
  const masks = compression === 3 && headerSize === 40 ? 12 : 0;
  const pixelStart = headerSize + masks + paletteEntries * 4;
  if (pixelStart >= dib.length) throw truncated(`the header and palette of entry ${entry.index}`);

  // A BMP file header in front and the XOR image's own height: then it is a .bmp file to the BMP decoder.
  const bmp = Buffer.alloc(14 + dib.length);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(14 + pixelStart, 10);
  bmp.set(dib, 14);
  bmp.writeInt32LE(height, 14 + 8);
  const { rgba } = decodeBmpRgba(bmp, limitInputPixels, 'ICO entry');

  if (bpp === 32) {
    // Rows of 32-bit pixels need no padding; bottom-up like the pixels.
    if (pixelStart + width * height * 4 > dib.length) throw truncated(`the pixels of entry ${entry.index}`);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        rgba[(y * width + x) * 4 + 3] = dib[pixelStart + ((height - 1 - y) * width + x) * 4 + 3]!;
  } else {
    // The AND mask ends the entry (PIL finds it from the directory's size): 1 bit a pixel, rows padded to 32 bits.
    const stride = Math.ceil(width / 32) * 4;
    const maskStart = entry.offset + entry.size - stride * height;
    if (maskStart < entry.offset) throw truncated(`the mask of entry ${entry.index}`);
    for (let y = 0; y < height; y++) {
      const row = maskStart + (height - 1 - y) * stride;
      for (let x = 0; x < width; x++) {
        const transparent = (file[row + (x >> 3)]! >> (7 - (x & 7))) & 1;
        rgba[(y * width + x) * 4 + 3] = transparent ? 0 : 255;
      }
    }
  }
  return { pixels: rgba, width, height, channels: 4 };
}

function failed(detail: string): InvalidImageError {
  return new InvalidImageError('decode-failed', `ICO could not be decoded: ${detail}`);
}

function truncated(what: string): InvalidImageError {
  return new InvalidImageError('truncated', `truncated ICO: the file ends inside ${what}`);
}
