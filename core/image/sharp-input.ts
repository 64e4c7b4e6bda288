import type { SharpOptions } from 'sharp';
import { InvalidImageError } from '../errors.js';
import { decodeBmp, type RawPixels } from './bmp.js';
import { decodeIco, isIco } from './ico.js';
import { sniffFormat } from './invalid-image.js';
import { decodeNetpbm, isNetpbm } from './netpbm.js';
import { decodeTga, looksLikeTga } from './tga.js';

/**
 * What sharp is handed for a file's bytes. The libvips inside sharp's prebuilt binaries reads JPEG, PNG, GIF, WebP,
 * TIFF and AVIF; PIL (hence torchvision's ImageFolder) also reads BMP, Netpbm, TGA and ICO, so those are decoded here
 * and passed on as raw pixels (an ICO's PNG entry as its PNG bytes): resize, crop and normalization stay one pipeline.
 */
export interface SharpInput {
  input: Uint8Array;
  options: Pick<SharpOptions, 'raw'>;
}

export const DECODED_FORMATS = 'JPEG, PNG, GIF, WebP, TIFF, AVIF, BMP, PPM/PGM/PBM, TGA, ICO';

export function sharpInput(bytes: Uint8Array, limitInputPixels: number): SharpInput {
  const format = sniffFormat(bytes);
  if (format === 'BMP') return raw(decodeBmp(bytes, limitInputPixels));
  if (format !== undefined) return { input: bytes, options: {} };
  if (isNetpbm(bytes)) return raw(decodeNetpbm(bytes, limitInputPixels));
  if (isIco(bytes)) {
    const icon = decodeIco(bytes, limitInputPixels);
    return 'png' in icon ? { input: icon.png, options: {} } : raw(icon);
  }
  // libvips renders SVG (librsvg), PIL refuses it: a text format that can pull in other files and expand entities.
  if (looksLikeSvg(bytes))
    throw new InvalidImageError(
      'unsupported-format',
      `SVG image: PIL does not read it, so neither does cnn-codes (it decodes ${DECODED_FORMATS}); rasterize it, e.g. to PNG`,
    );
  const other = otherPilFormat(bytes);
  if (other) {
    throw new InvalidImageError(
      'unsupported-format',
      `${other} image: PIL reads this format, cnn-codes does not decode it (it decodes ${DECODED_FORMATS}); convert it, e.g. to PNG`,
    );
  }
  // Last: TGA has no signature, only a header whose fields make sense.
  if (looksLikeTga(bytes)) return raw(decodeTga(bytes, limitInputPixels));
  return { input: bytes, options: {} };
}

/** An SVG document: optional BOM, XML declaration, comments or doctype, then an <svg element, in the first 4 kB. */
function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString('latin1');
  return /^(\xef\xbb\xbf)?\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>\s*)*<svg[\s>]/i.test(
    head,
  );
}

function raw({ pixels, width, height, channels }: RawPixels): SharpInput {
  return { input: pixels, options: { raw: { width, height, channels } } };
}

/**
 * Formats PIL 9.4 opens that are not decoded here, recognised by their signatures so the reject names them instead of
 * showing first bytes. Rare in image datasets (JPEG 2000 aside, which sharp's prebuilt libvips lacks too).
 */
function otherPilFormat(bytes: Uint8Array): string | undefined {
  const text = String.fromCharCode(...bytes.subarray(0, 12));
  const startsWith = (...magic: number[]) => magic.every((b, i) => bytes[i] === b);
  // A true-colour TGA starts 0 0 2 0 too; a cursor lists at least one image.
  if (startsWith(0, 0, 2, 0) && (bytes[4]! | bytes[5]!) !== 0) return 'CUR (Windows cursor)';
  if (startsWith(0xff, 0x4f, 0xff, 0x51) || text.startsWith('\0\0\0\x0cjP  ')) return 'JPEG 2000';
  if (text.startsWith('8BPS')) return 'PSD';
  if (text.startsWith('icns')) return 'ICNS';
  if (text.startsWith('DDS ')) return 'DDS';
  if (text.startsWith('qoif')) return 'QOI';
  if (text.startsWith('SIMPLE  =')) return 'FITS';
  if (text.startsWith('#define')) return 'XBM';
  if (text.startsWith('/* XPM */')) return 'XPM';
  if (startsWith(0x59, 0xa6, 0x6a, 0x95)) return 'Sun raster';
  if (startsWith(0x01, 0xda)) return 'SGI';
  if (bytes[0] === 0x0a && [0, 2, 3, 4, 5].includes(bytes[1]!) && bytes[2] === 1) return 'PCX';
  if (startsWith(0xb1, 0x68, 0xde, 0x3a)) return 'DCX';
  return undefined;
}
