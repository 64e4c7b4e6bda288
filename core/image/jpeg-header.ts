/**
 * The few facts about a JPEG that decide whether the fast path may take it, read from the marker segments before the
 * first scan (a few hundred bytes, no decoding). Anything unexpected answers `undefined`: the caller then leaves the
 * image to libvips, which decodes or rejects it with a specific reason.
 */
export interface JpegHeader {
  width: number;
  height: number;
  /** 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK. */
  components: number;
  precision: number;
  /** EXIF orientation tag (1 when absent). */
  orientation: number;
  /** The file ends with the EOI marker (a cut-off download does not). */
  complete: boolean;
}

import { notEnoughDataError } from './invalid-image.js';

const SOI = 0xd8;
const SOS = 0xda;
const APP1 = 0xe1;

/**
 * Throws a 'truncated' InvalidImageError when the bytes after the first scan's marker cannot hold the frame it declares:
 * every 8×8 luma block takes at least one bit of entropy-coded data, so a 1 kB file declaring 10000×10000 is refused
 * here instead of having a decoder allocate 300 MB for it.
 */
export function readJpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let orientation = 1;
  let frame: Pick<JpegHeader, 'width' | 'height' | 'components' | 'precision'> | undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = view.getUint16(at + 2);
    const body = at + 4;
    if (length < 2 || body + length - 2 > bytes.length) return undefined;
    if (isStartOfFrame(marker)) {
      if (length < 8) return undefined;
      frame = {
        precision: bytes[body]!,
        height: view.getUint16(body + 1),
        width: view.getUint16(body + 3),
        components: bytes[body + 5]!,
      };
    } else if (marker === APP1) {
      orientation = exifOrientation(bytes, body, length - 2) ?? orientation;
    } else if (marker === SOS) {
      if (frame) checkScanHolds(frame, bytes.length - at);
      break;
    }
    at = body + length - 2;
  }
  if (!frame || frame.width === 0 || frame.height === 0) return undefined;
  const n = bytes.length;
  return { ...frame, orientation, complete: bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9 };
}

function checkScanHolds(frame: { width: number; height: number }, scanBytes: number): void {
  const blocks = Math.ceil(frame.width / 8) * Math.ceil(frame.height / 8);
  const needed = Math.ceil(blocks / 8);
  if (scanBytes < needed)
    throw notEnoughDataError(
      'JPEG',
      `${frame.width}×${frame.height} has ${blocks} blocks of at least a bit each, the scan has ${scanBytes} bytes`,
    );
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Tag 0x0112 of IFD0 in an "Exif\0\0" APP1 segment; undefined when absent or unreadable. */
function exifOrientation(bytes: Uint8Array, start: number, length: number): number | undefined {
  if (length < 14 || String.fromCharCode(...bytes.subarray(start, start + 6)) !== 'Exif\0\0') return undefined;
  const tiff = start + 6;
  const end = start + length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const little = bytes[tiff] === 0x49;
  if (!little && bytes[tiff] !== 0x4d) return undefined;
  const u16 = (p: number) => view.getUint16(p, little);
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return undefined;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return undefined;
    if (u16(entry) === 0x0112) return u16(entry + 8);
  }
  return undefined;
}
