import sharp from 'sharp';
import { sharpInput } from '../image/sharp-input.js';
import type { BlobStore } from '../ports/blob-store.js';
import {
  emptySignatures,
  IMAGE_SIGNATURES_KEY,
  perceptualHash,
  setSignatureHex,
  SIGNATURE_BYTES,
  SIGNATURE_SIDE,
  signatureHex,
  type ImageSignatures,
} from './image-signature.js';

/** Images decoded at once (sharp's own threads do the work; as for the report's thumbnails, see THUMBNAIL_CONCURRENCY). */
const CONCURRENCY = 4;
const LIMIT_INPUT_PIXELS = 100_000_000;
const VERSION = 1;
const HEX = /^[0-9a-f]{16}$/;

interface CacheFile {
  version: number;
  side: number;
  /** Content hash → signature (16 hex digits). */
  signatures: Record<string, string>;
}

/**
 * Signatures of `entries`: cached ones from IMAGE_SIGNATURES_KEY, the others decoded from `data` (oriented, alpha on
 * white, a SIGNATURE_SIDE² grayscale thumbnail stretched to the square) and added to the cache. An image that cannot
 * be read gets none. Cost: one decode per new image, about 3 ms of CPU at 128–256 px (shrink-on-load for JPEG).
 */
export async function readImageSignatures(
  data: BlobStore,
  workspace: BlobStore,
  entries: ReadonlyArray<{ key: string; contentHash: string }>,
): Promise<ImageSignatures> {
  const out = emptySignatures(entries.length);
  const cache = validCache(await workspace.getJson<unknown>(IMAGE_SIGNATURES_KEY).catch(() => undefined));
  const missing: number[] = [];
  entries.forEach((e, row) => {
    const hex = cache.signatures[e.contentHash];
    if (hex !== undefined) setSignatureHex(out, row, hex);
    else missing.push(row);
  });
  if (missing.length === 0) return out;
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let m = next++; m < missing.length; m = next++) {
      const row = missing[m]!;
      const gray = await thumbnail(await data.get(entries[row]!.key)).catch(() => undefined);
      if (!gray) continue;
      perceptualHash(gray, out.bits, row * SIGNATURE_BYTES);
      out.present[row] = 1;
      cache.signatures[entries[row]!.contentHash] = signatureHex(out.bits, row);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, lane));
  await workspace.put(IMAGE_SIGNATURES_KEY, JSON.stringify(cache));
  return out;
}

async function thumbnail(bytes: Uint8Array): Promise<Uint8Array> {
  const { input, options } = sharpInput(bytes, LIMIT_INPUT_PIXELS);
  const raw = await sharp(input, { ...options, limitInputPixels: LIMIT_INPUT_PIXELS, autoOrient: true, pages: 1 })
    .flatten({ background: '#ffffff' })
    .resize(SIGNATURE_SIDE, SIGNATURE_SIDE, { fit: 'fill' })
    .grayscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (raw.info.channels !== 1 || raw.data.length !== SIGNATURE_SIDE * SIGNATURE_SIDE)
    throw new Error(`thumbnail of ${raw.info.channels} channels, ${raw.data.length} bytes`);
  return raw.data;
}

/** The cache as written by this version, else an empty one (a file of another version or shape is rebuilt). */
function validCache(value: unknown): CacheFile {
  const empty: CacheFile = { version: VERSION, side: SIGNATURE_SIDE, signatures: {} };
  if (typeof value !== 'object' || value === null) return empty;
  const file = value as Partial<CacheFile>;
  if (file.version !== VERSION || file.side !== SIGNATURE_SIDE) return empty;
  if (typeof file.signatures !== 'object' || file.signatures === null) return empty;
  const signatures: Record<string, string> = {};
  for (const [hash, hex] of Object.entries(file.signatures))
    if (typeof hex === 'string' && HEX.test(hex)) signatures[hash] = hex;
  return { ...empty, signatures };
}
