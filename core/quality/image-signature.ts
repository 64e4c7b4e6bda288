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
 * Undefined where the images cannot be read at all: no `data` (a workspace from `train --codes`, a serverless step
 * whose envelope holds no images) or no sharp (a Lambda bundle has no native modules); the near-duplicate rule then
 * falls back to the codes alone (see nearDuplicateRule).
 */
export async function imageSignaturesOf(
  source: SignatureSource,
  entries: ReadonlyArray<{ key: string; contentHash: string }>,
): Promise<ImageSignatures | undefined> {
  if (!source.data) return undefined;
  let reader: typeof import('./image-signature-reader.js');
  try {
    reader = await import('./image-signature-reader.js');
  } catch {
    return undefined;
  }
  return reader.readImageSignatures(source.data, source.workspace, entries);
}
