import { InvalidImageError } from '../errors.js';

/**
 * An image file larger than this is not read (a reject of kind 'too-large'): no photo comes near it, the decoders'
 * budgets refuse far less, and a sparse file of gigabytes cost 5.9 GB when it was read whole before sniffing.
 */
export const MAX_IMAGE_BYTES = 256 * 2 ** 20;

export type SniffedFormat = 'JPEG' | 'PNG' | 'GIF' | 'WebP' | 'TIFF' | 'BMP';

const BMP_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

/** Magic bytes only: enough to name the format in a message and to look for its end marker. */
export function sniffFormat(bytes: Uint8Array): SniffedFormat | undefined {
  const startsWith = (...magic: number[]) => magic.every((b, i) => bytes[i] === b);
  if (startsWith(0xff, 0xd8, 0xff)) return 'JPEG';
  if (startsWith(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'PNG';
  if (startsWith(0x47, 0x49, 0x46, 0x38)) return 'GIF';
  if (startsWith(0x52, 0x49, 0x46, 0x46) && ascii(bytes, 8, 12) === 'WEBP') return 'WebP';
  if (startsWith(0x49, 0x49, 0x2a, 0x00) || startsWith(0x4d, 0x4d, 0x00, 0x2a)) return 'TIFF';
  // "BM" alone is weak; the DIB header sizes that follow it are few (core, V1..V5).
  if (startsWith(0x42, 0x4d) && BMP_HEADER_SIZES.has(bytes[14]! | (bytes[15]! << 8))) return 'BMP';
  return undefined;
}

/**
 * libvips reports truncation differently per format (JPEG: "premature end", PNG: only "libpng read error"), so after a
 * failed decode we also look for the format's end marker. Trailing bytes after it are legal, hence only used on failure.
 */
function endMarkerMissing(format: SniffedFormat | undefined, bytes: Uint8Array): boolean {
  const n = bytes.length;
  switch (format) {
    case 'JPEG':
      return !(bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9);
    case 'PNG':
      return ascii(bytes, n - 8, n - 4) !== 'IEND';
    case 'GIF':
      return bytes[n - 1] !== 0x3b;
    case 'WebP':
      return n < riffSize(bytes) + 8;
    default:
      return false;
  }
}

export function emptyFileError(): InvalidImageError {
  return new InvalidImageError('empty', 'empty file: 0 bytes');
}

export function tooLargeError(width: number, height: number, limitPixels: number, cause?: unknown): InvalidImageError {
  const message = `image is ${width}×${height} = ${pixelCount(width * height)}, over the ${pixelCount(limitPixels)} limit`;
  return new InvalidImageError('too-large', message, { cause });
}

/**
 * The memory a hand-written decoder (BMP, TGA, ICO, Netpbm) may take for one image, checked before it allocates: one
 * byte per pixel the input limit allows (100 MB at the default 100 MP). `bytesPerPixel` is the decoder's peak over its
 * buffers (a BMP goes through indices, an 8-bit copy, bmp-ts's ABGR and our RGBA, ~14 bytes a pixel), so the pixels a
 * hand-decoded format may hold are the limit divided by that; sharp's formats keep the plain pixel limit.
 */
export function checkDecodeBudget(
  format: string,
  width: number,
  height: number,
  bytesPerPixel: number,
  limitPixels: number,
): void {
  const pixels = width * height;
  if (pixels > limitPixels) throw tooLargeError(width, height, limitPixels);
  if (pixels * bytesPerPixel > limitPixels) {
    const budget = Math.floor(limitPixels / bytesPerPixel);
    throw new InvalidImageError(
      'too-large',
      `${format} of ${width}×${height} = ${pixelCount(pixels)} is over the ${pixelCount(budget)} this decoder holds within its memory budget (${Math.round(limitPixels / 2 ** 20)} MiB); convert it, e.g. to PNG`,
    );
  }
}

/** PIL's "not enough image data": the header declares more pixels than the file's bytes hold. */
export function notEnoughDataError(format: string, detail: string): InvalidImageError {
  return new InvalidImageError('truncated', `truncated ${format}: not enough image data (${detail})`);
}

/** A sliver (say 1×10000) passes the input limit but Resize(256) would blow it up to gigabytes. */
export function resizedTooLargeError(resized: [number, number], limitPixels: number): InvalidImageError {
  const [h, w] = resized;
  return new InvalidImageError(
    'too-large',
    `resizing would make the image ${w}×${h} = ${pixelCount(w * h)}, over the ${pixelCount(limitPixels)} limit`,
  );
}

/**
 * libwebp decodes a cut-off WebP without complaint (the missing part comes out as garbage), so its RIFF size is checked
 * before decoding.
 */
export function truncatedWebpError(bytes: Uint8Array): InvalidImageError | undefined {
  if (sniffFormat(bytes) !== 'WebP') return undefined;
  const declared = riffSize(bytes) + 8;
  if (bytes.length >= declared) return undefined;
  return new InvalidImageError(
    'truncated',
    `truncated WebP: header declares ${declared} bytes, file has ${bytes.length}`,
  );
}

/** Turns a sharp/libvips failure into a reject with a kind callers can count and a message people can act on. */
export function classifyDecodeFailure(err: unknown, bytes: Uint8Array): InvalidImageError {
  const raw = err instanceof Error ? err.message : String(err);
  const detail = libvipsDetail(raw);
  const format = sniffFormat(bytes);
  if (/exceeds pixel limit/i.test(raw)) {
    return new InvalidImageError('too-large', `image is over the pixel limit (${detail})`, { cause: err });
  }
  // libjpeg's "premature end of data segment" is corruption inside a complete file, not truncation.
  if (
    /premature end of (jpeg )?(image|file|input)|unexpected end|truncated/i.test(raw) ||
    endMarkerMissing(format, bytes)
  ) {
    return new InvalidImageError('truncated', `truncated ${format ?? 'image'}: ${detail}`, { cause: err });
  }
  if (/unsupported image format/i.test(raw) && format === undefined) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return new InvalidImageError('unsupported-format', `unsupported image format (first bytes: ${head})`, {
      cause: err,
    });
  }
  return new InvalidImageError('decode-failed', `${format ?? 'image'} could not be decoded: ${detail}`, { cause: err });
}

/** "Input buffer has corrupt header: VipsJpeg: premature end of JPEG image\n…" → "premature end of JPEG image". */
function libvipsDetail(message: string): string {
  const firstLine = message.split('\n')[0] ?? message;
  return firstLine
    .replace(/^Input (buffer|file) has corrupt header:\s*/i, 'corrupt header: ')
    .replace(/\b(VipsJpeg|vipspng|gifload(_buffer)?|webp|tiff2vips|VipsForeignLoad\w*):\s*/gi, '')
    .trim();
}

function riffSize(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(4, true);
}

/** 400000000 → "400 MP", 76800 → "76800 pixels". */
function pixelCount(pixels: number): string {
  return pixels >= 1e6 ? `${Math.round(pixels / 1e5) / 10} MP` : `${pixels} pixels`;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return start < 0 ? '' : String.fromCharCode(...bytes.subarray(start, end));
}
