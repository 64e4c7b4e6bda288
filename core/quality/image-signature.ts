import type { BlobStore } from '../ports/blob-store.js';

/**
 * A 64-bit perceptual hash per image (pHash: the signs of the lowest 8 × 8 frequencies of a 32 × 32 grayscale
 * thumbnail against their median), the image-level check that confirms a near-duplicate candidate found on the codes.
 *
 * Why codes alone do not suffice: on the synthetic mosaics of bench/data-quality.ts (128–256 px, 6,200 images), a
 * planted copy (JPEG q60 at 80 % size) has cosine 0.817–1 to its original while distinct images' nearest neighbours
 * reach 0.94 (the mosaics share 398 source photos), so no cosine separates them: 0.88 misses 18 % of the copies, 0.82
 * finds them all and chains 5,756 images into one group. Their signatures do separate them: a copy differs from its
 * original in 0–8 bits of 63, distinct pairs at cosine ≥ 0.78 in 8–52 (1st percentile 18); bench/data-quality.ts
 * --views-only counts both over the pairs its search meets ("bitsApart" in bench/results/data-quality.json).
 */

/** Side of the grayscale thumbnail the hash is taken from. */
export const SIGNATURE_SIDE = 32;
/** Bytes per signature. */
export const SIGNATURE_BYTES = 8;
/** Lowest frequencies per axis kept (8 × 8, the DC term left out: 63 bits, the 64th always 0). */
const KEPT = 8;

/** DCT-II basis rows 0..KEPT−1 over SIGNATURE_SIDE samples. */
const BASIS = (() => {
  const out = new Float64Array(KEPT * SIGNATURE_SIDE);
  for (let u = 0; u < KEPT; u++)
    for (let x = 0; x < SIGNATURE_SIDE; x++)
      out[u * SIGNATURE_SIDE + x] = Math.cos((Math.PI * (2 * x + 1) * u) / (2 * SIGNATURE_SIDE));
  return out;
})();

/** The pHash of a SIGNATURE_SIDE² grayscale thumbnail (row-major, one byte a pixel), into out[at .. at + 8). */
export function perceptualHash(
  gray: ArrayLike<number>,
  out: Uint8Array = new Uint8Array(SIGNATURE_BYTES),
  at = 0,
): Uint8Array {
  const n = SIGNATURE_SIDE;
  if (gray.length !== n * n) throw new RangeError(`perceptualHash: gray has ${gray.length} pixels, not ${n * n}`);
  // Rows first (KEPT × n), then columns: the KEPT × KEPT lowest coefficients.
  const half = new Float64Array(KEPT * n);
  for (let v = 0; v < KEPT; v++)
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += BASIS[v * n + y]! * gray[y * n + x]!;
      half[v * n + x] = s;
    }
  const coefficients = new Float64Array(KEPT * KEPT);
  for (let v = 0; v < KEPT; v++)
    for (let u = 0; u < KEPT; u++) {
      let s = 0;
      for (let x = 0; x < n; x++) s += BASIS[u * n + x]! * half[v * n + x]!;
      coefficients[v * KEPT + u] = s;
    }
  const ac = coefficients.subarray(1);
  const sorted = Float64Array.from(ac).sort();
  const median = (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
  out.fill(0, at, at + SIGNATURE_BYTES);
  ac.forEach((c, b) => {
    if (c > median) out[at + (b >> 3)]! |= 1 << (b & 7);
  });
  return out;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, v) => {
  let c = 0;
  for (let x = v; x > 0; x >>= 1) c += x & 1;
  return c;
});

/** Bits that differ between signatures i and j of `bits` (SIGNATURE_BYTES each). */
export function hammingDistance(bits: Uint8Array, i: number, j: number): number {
  let d = 0;
  for (let b = 0; b < SIGNATURE_BYTES; b++)
    d += POPCOUNT[bits[i * SIGNATURE_BYTES + b]! ^ bits[j * SIGNATURE_BYTES + b]!]!;
  return d;
}

/** One signature per row of a search (the rows' order), and which rows have one (an unreadable image has none). */
export interface ImageSignatures {
  bits: Uint8Array;
  present: Uint8Array;
}

export function signatureHex(bits: Uint8Array, row: number): string {
  return Buffer.from(bits.subarray(row * SIGNATURE_BYTES, (row + 1) * SIGNATURE_BYTES)).toString('hex');
}

export function setSignatureHex(signatures: ImageSignatures, row: number, hex: string): void {
  signatures.bits.set(Buffer.from(hex, 'hex'), row * SIGNATURE_BYTES);
  signatures.present[row] = 1;
}

export function emptySignatures(rows: number): ImageSignatures {
  return { bits: new Uint8Array(rows * SIGNATURE_BYTES), present: new Uint8Array(rows) };
}

/** How many rows have a signature. */
export function signatureCount(signatures: ImageSignatures): number {
  let n = 0;
  for (const p of signatures.present) n += p;
  return n;
}

/** Workspace file caching each image's signature by content hash, so train and evaluate decode an image once. */
export const IMAGE_SIGNATURES_KEY = 'image-signatures.json';

export interface SignatureSource {
  /** The dataset's images (keys as in the manifest). */
  data?: BlobStore | undefined;
  /** Where the signatures are cached (IMAGE_SIGNATURES_KEY). */
  workspace: BlobStore;
}

/**
 * The signatures of `entries` (in their order): from the workspace's cache, the rest read from `data` and cached.
 * Without `data` (a workspace from `train --codes`, a serverless step whose envelope holds no images) or without sharp
 * (a Lambda bundle has no native modules), the cache's alone: the serverless train step writes it from the signatures
 * its extract workers took from the bytes they read (extractItems' `imageSignatures`). Rows it lacks stay without one;
 * undefined when it has none of them, and the near-duplicate rule then falls back to the codes alone (see
 * nearDuplicateRule).
 */
export async function imageSignaturesOf(
  source: SignatureSource,
  entries: ReadonlyArray<{ key: string; contentHash: string }>,
): Promise<ImageSignatures | undefined> {
  const cache = await readCache(source.workspace);
  const out = emptySignatures(entries.length);
  const missing: number[] = [];
  entries.forEach((e, row) => {
    const hex = cache.signatures[e.contentHash];
    if (hex !== undefined) setSignatureHex(out, row, hex);
    else missing.push(row);
  });
  if (source.data && (await loadDecoder())) {
    if (missing.length > 0) await decodeMissing(source.data, source.workspace, entries, missing, out, cache);
    return out;
  }
  return signatureCount(out) > 0 ? out : undefined;
}

/** sharp's thumbnail, imported on first need: a process without sharp (the train and evaluate Lambdas) never loads it. */
let decoder: Promise<typeof import('../image/gray-thumbnail.js') | undefined> | undefined;
function loadDecoder(): Promise<typeof import('../image/gray-thumbnail.js') | undefined> {
  decoder ??= import('../image/gray-thumbnail.js').catch(() => undefined);
  return decoder;
}

/**
 * One image's signature (16 hex digits) from its bytes: the thumbnail and hash imageSignaturesOf takes, so a signature
 * is the same whichever process computed it. Undefined when the bytes do not decode (or sharp is absent): never throws.
 */
export async function signatureOfBytes(bytes: Uint8Array): Promise<string | undefined> {
  const gray = await (await loadDecoder())?.grayThumbnail(bytes, SIGNATURE_SIDE).catch(() => undefined);
  return gray && Buffer.from(perceptualHash(gray)).toString('hex');
}

/** Content hash → signature maps of `parts` in one (absent when none has any): a shard part's, a group summary's. */
export function mergeSignatures(parts: ReadonlyArray<{ signatures?: Record<string, string> | undefined }>): {
  signatures?: Record<string, string>;
} {
  const found = parts.flatMap((p) => (p.signatures ? [p.signatures] : []));
  return found.length > 0 ? { signatures: Object.assign({}, ...found) as Record<string, string> } : {};
}

/**
 * Adds a serverless run's signatures (content hash → 16 hex digits, as its extract workers took them) to the
 * workspace's cache, which imageSignaturesOf reads; each file is written only when something is new. With `remembered`
 * (a file of the code cache per dataset, which outlives runs), they are added there too, and the workspace also gets
 * from it the signatures of `entries` the run did not read: a re-run over unchanged objects reads none of them.
 */
export async function cacheImageSignatures(
  workspace: BlobStore,
  signatures: Record<string, string> | undefined,
  entries: ReadonlyArray<{ contentHash: string }>,
  remembered?: { store: BlobStore; key: string },
): Promise<void> {
  const run = validCache({ version: VERSION, side: SIGNATURE_SIDE, signatures: signatures ?? {} }).signatures;
  if (remembered) {
    const kept = await readCache(remembered.store, remembered.key);
    if (addSignatures(kept, run)) await remembered.store.put(remembered.key, JSON.stringify(kept));
    for (const { contentHash } of entries) {
      const hex = kept.signatures[contentHash];
      if (hex !== undefined) run[contentHash] ??= hex;
    }
  }
  const cache = await readCache(workspace);
  if (addSignatures(cache, run)) await workspace.put(IMAGE_SIGNATURES_KEY, JSON.stringify(cache));
}

/** Adds `signatures` to `cache`; whether any was new. */
function addSignatures(cache: CacheFile, signatures: Record<string, string>): boolean {
  let added = false;
  for (const [hash, hex] of Object.entries(signatures))
    if (cache.signatures[hash] !== hex) {
      cache.signatures[hash] = hex;
      added = true;
    }
  return added;
}

/**
 * Pairs of rows (i < j) whose signatures are at most `maxBits` apart, by multi-index hashing: the 63 bits are cut
 * into maxBits + 1 blocks, two signatures that close agree exactly on at least one of them (pigeonhole), so only rows
 * that share a block's value are compared; a pair is reported at the first block they share. At most `perRow`
 * partners a row (the first met), so a folder of identical blank images stays linear. Rows without a signature take
 * no part. Cost: about n²/2^(63/(maxBits+1)) comparisons per block (100 k rows, 11 blocks: under 10⁹ popcounts).
 */
export function signaturePairs(signatures: ImageSignatures, maxBits: number, perRow = 10): Array<[number, number]> {
  const { bits, present } = signatures;
  const n = present.length;
  const blocks = maxBits + 1;
  const bounds = Array.from({ length: blocks + 1 }, (_, b) => Math.round((b * 63) / blocks));
  const blockValue = (row: number, b: number) => {
    let v = 0;
    for (let t = bounds[b]!; t < bounds[b + 1]!; t++)
      v = (v << 1) | ((bits[row * SIGNATURE_BYTES + (t >> 3)]! >> (t & 7)) & 1);
    return v;
  };
  const values = new Int32Array(n * blocks);
  for (let r = 0; r < n; r++) for (let b = 0; b < blocks; b++) values[r * blocks + b] = blockValue(r, b);
  const partners = new Int32Array(n);
  const out: Array<[number, number]> = [];
  for (let b = 0; b < blocks; b++) {
    const byValue = new Map<number, number[]>();
    for (let r = 0; r < n; r++) {
      if (present[r] !== 1) continue;
      const v = values[r * blocks + b]!;
      const list = byValue.get(v);
      if (list) list.push(r);
      else byValue.set(v, [r]);
    }
    for (const rows of byValue.values())
      for (let x = 0; x < rows.length; x++) {
        const i = rows[x]!;
        if (partners[i]! >= perRow) continue;
        for (let y = x + 1; y < rows.length; y++) {
          const j = rows[y]!;
          if (partners[j]! >= perRow || hammingDistance(bits, i, j) > maxBits) continue;
          let earlier = false;
          for (let e = 0; e < b && !earlier; e++) earlier = values[i * blocks + e] === values[j * blocks + e];
          if (earlier) continue;
          out.push([i, j]);
          partners[i]!++;
          partners[j]!++;
          if (partners[i]! >= perRow) break;
        }
      }
  }
  return out;
}

/**
 * Images read and signed at once, here and beside an extraction (core/use-cases/extract.ts): JPEG and small PNG are
 * decoded in the calling thread, other formats on sharp's threads (as the report's thumbnails, THUMBNAIL_CONCURRENCY);
 * it also bounds the bytes held.
 */
export const SIGNATURE_CONCURRENCY = 4;
/** 2: thumbnails by area average, JPEGs DCT-scaled (core/image/gray-thumbnail.ts); 1 was sharp's resize. */
const VERSION = 2;
const HEX = /^[0-9a-f]{16}$/;

interface CacheFile {
  version: number;
  side: number;
  /** Content hash → signature (16 hex digits). */
  signatures: Record<string, string>;
}

/**
 * The signatures of `entries`' rows `missing` (none in the cache), decoded from `data` (signatureOfBytes) into `out`
 * and added to the cache, which is written back. An image that cannot be read gets none. Cost: one decode per new
 * image, in this thread for JPEG and small PNG (core/image/gray-thumbnail.ts).
 */
async function decodeMissing(
  data: BlobStore,
  workspace: BlobStore,
  entries: ReadonlyArray<{ key: string; contentHash: string }>,
  missing: number[],
  out: ImageSignatures,
  cache: CacheFile,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let m = next++; m < missing.length; m = next++) {
      const row = missing[m]!;
      const hex = await data
        .get(entries[row]!.key)
        .then(signatureOfBytes)
        .catch(() => undefined);
      if (!hex) continue;
      setSignatureHex(out, row, hex);
      cache.signatures[entries[row]!.contentHash] = hex;
    }
  };
  await Promise.all(Array.from({ length: Math.min(SIGNATURE_CONCURRENCY, missing.length) }, lane));
  await workspace.put(IMAGE_SIGNATURES_KEY, JSON.stringify(cache));
}

async function readCache(store: BlobStore, key = IMAGE_SIGNATURES_KEY): Promise<CacheFile> {
  return validCache(await store.getJson<unknown>(key).catch(() => undefined));
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
