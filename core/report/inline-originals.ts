import { errorMessage } from '../errors.js';
import type { BlobStore } from '../ports/blob-store.js';

/** Formats every browser decodes, told apart by their first bytes (file names can lie). */
const BROWSER_FORMATS: Array<{ mime: string; matches: (b: Uint8Array) => boolean }> = [
  { mime: 'image/jpeg', matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/png', matches: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  { mime: 'image/gif', matches: (b) => ascii(b, 0, 4) === 'GIF8' },
  { mime: 'image/webp', matches: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP' },
];

/** Thumbnail data URIs by image key, and the images that could not be shown with the reason. */
export interface Thumbnails {
  thumbnails: Map<string, string>;
  failed: Array<{ key: string; reason: string }>;
}

export interface InlineLimits {
  /** Largest single file inlined as it is. */
  perImage: number;
  /** All inlined files together, so a report of many large mistakes stays a file people can open and mail. */
  total: number;
}

export const DEFAULT_INLINE_LIMITS: InlineLimits = { perImage: 256 * 1024, total: 4 * 1024 * 1024 };

/**
 * Thumbnails without an image library: where sharp cannot load (the evaluate Lambda bundles no native code), the
 * report still shows the misclassified images by inlining the original files the browser can decode itself; the
 * page's CSS scales them. Keys are taken in the order given (most confident mistakes first) until the budget is spent.
 */
export async function inlineOriginals(
  data: BlobStore,
  keys: readonly string[],
  limits: InlineLimits = DEFAULT_INLINE_LIMITS,
): Promise<Thumbnails> {
  const thumbnails = new Map<string, string>();
  const failed: Thumbnails['failed'] = [];
  let spent = 0;
  for (const key of keys) {
    let bytes: Uint8Array;
    try {
      bytes = await data.get(key);
    } catch (err) {
      failed.push({ key, reason: errorMessage(err) });
      continue;
    }
    const format = BROWSER_FORMATS.find((f) => f.matches(bytes));
    if (!format)
      failed.push({ key, reason: 'not a JPEG, PNG, GIF or WebP file, and no image library here to convert it' });
    else if (bytes.length > limits.perImage)
      failed.push({
        key,
        reason: `${kB(bytes.length)} is too large to inline without an image library (limit ${kB(limits.perImage)})`,
      });
    else if (spent + bytes.length > limits.total)
      failed.push({ key, reason: `the report's image budget (${kB(limits.total)}) is spent` });
    else {
      spent += bytes.length;
      thumbnails.set(key, `data:${format.mime};base64,${Buffer.from(bytes).toString('base64')}`);
    }
  }
  return { thumbnails, failed };
}

function ascii(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...b.subarray(start, end));
}

function kB(n: number): string {
  return `${Math.round(n / 1024)} kB`;
}
