import { hammingDistance, signaturePairs, type ImageSignatures } from './image-signature.js';
import { normalizeRows, searchSimilar, type SimilarPair } from './near-duplicates.js';
import { UnionFind } from './union-find.js';

/**
 * Cosine of final-layer codes (raw, not centred) at or above which two images count as the same picture. Measured by
 * bench/duplicate-threshold.ts on hymenoptera with mobilenetv2-12-int8 (docs/data-quality.md): a re-encoded copy
 * (JPEG q60 at 80 % size, WebP q70 at 60 %) against its original has median 0.937, 1st percentile 0.849; an image
 * against its most similar *different* image has median 0.796, 99th percentile 0.874, maximum 0.879. At 0.88 no
 * distinct pair is joined and 16 of 490 copies (3 %) are missed directly; most of those still join their group
 * through the other copy. Centring the codes first did not separate the two better (1 % / 99 %: 0.622 / 0.656).
 */
export const NEAR_DUPLICATE_COSINE = 0.88;

/**
 * With image signatures: the cosine from which a pair of codes is a candidate, confirmed by its signatures. Below
 * every planted copy of bench/data-quality.ts (lowest 0.817 at 128–256 px) and of bench/duplicate-threshold.ts on
 * hymenoptera (1st percentile 0.849).
 */
export const CANDIDATE_COSINE = 0.8;

/**
 * Most bits in which two signatures (core/quality/image-signature.ts) of the same picture differ: planted copies
 * differ in 0–8 of 63, distinct candidate pairs in 8–52 (1st percentile 18; bench/data-quality.ts --views-only).
 */
export const SAME_PICTURE_BITS = 10;

/**
 * Which pairs of codes are the same picture. With image signatures: cosine ≥ CANDIDATE_COSINE and signatures at most
 * SAME_PICTURE_BITS apart, so similar-looking distinct images (≥ 0.88 on the synthetic mosaics) are no longer joined
 * and a copy re-encoded down to 0.82 is; a pair with an image that has no signature falls back to the codes alone.
 * Without signatures (only codes and no cached signature: `train --codes` on a new workspace): cosine ≥ `cosine`.
 */
export interface NearDuplicateRule {
  /** Cosine from which a pair is considered (the search keeps nothing below). */
  threshold: number;
  /** Whether a pair at or above `threshold` is the same picture; absent: every such pair is. */
  accept?: (i: number, j: number, cosine: number) => boolean;
  /** Whether image signatures confirm the pairs. */
  byImage: boolean;
  /** The signatures that do (rows as the search's). */
  signatures?: ImageSignatures;
}

export function nearDuplicateRule(signatures?: ImageSignatures, cosine = NEAR_DUPLICATE_COSINE): NearDuplicateRule {
  if (!signatures) return { threshold: cosine, byImage: false };
  const { bits, present } = signatures;
  return {
    threshold: Math.min(CANDIDATE_COSINE, cosine),
    byImage: true,
    signatures,
    accept: (i, j, c) =>
      present[i] === 1 && present[j] === 1 ? hammingDistance(bits, i, j) <= SAME_PICTURE_BITS : c >= cosine,
  };
}

/**
 * The pairs the signatures propose (at most SAME_PICTURE_BITS apart, core/quality/image-signature.ts signaturePairs)
 * that the codes confirm (cosine ≥ the rule's threshold), from the codes of just those rows (`read`: rows ascending →
 * their codes, any scale). The code search meets a pair only where the pair shares a cell (core/quality/cell-search.ts),
 * and at 100 k of the synthetic mosaics 28 planted copies 0–6 bits from their original (cosine 0.825–0.945) were never
 * met; this finds them whatever the cells. Empty without signatures.
 */
export async function signatureConfirmedPairs(
  rule: NearDuplicateRule,
  read: (rows: Int32Array) => Promise<Float32Array>,
  dim: number,
): Promise<SimilarPair[]> {
  if (!rule.signatures) return [];
  const proposed = signaturePairs(rule.signatures, SAME_PICTURE_BITS);
  if (proposed.length === 0) return [];
  const rows = Int32Array.from(new Set(proposed.flat())).sort();
  const codes = await read(rows);
  normalizeRows(codes, rows.length, dim, codes);
  const at = new Map<number, number>();
  rows.forEach((r, k) => at.set(r, k));
  const out: SimilarPair[] = [];
  for (const [i, j] of proposed) {
    const [a, b] = [at.get(i)! * dim, at.get(j)! * dim];
    let cosine = 0;
    for (let t = 0; t < dim; t++) cosine += codes[a + t]! * codes[b + t]!;
    if (cosine >= rule.threshold) out.push({ i, j, cosine });
  }
  return out;
}

export interface DuplicateSearch {
  /** Group id per image (the index of its group's first image); images without duplicates have their own. */
  groupIds: Int32Array;
  /** Groups of two or more images, as indices. */
  groups: number[][];
  /** Near-duplicate pairs found (not the byte-identical ones, which are joined by content hash). */
  pairs: SimilarPair[];
  /** Per image: mean cosine to its OUTLIER_NEIGHBOURS most similar other images (see findOutliers). */
  neighbourSimilarity: Float32Array;
}

/** Neighbours whose mean similarity measures how typical an image is. */
export const OUTLIER_NEIGHBOURS = 10;

/**
 * Exact duplicates (same content hash) and near duplicates (by `rule`: codes, confirmed by images when there are
 * signatures) among n images, joined into
 * groups by union-find, so copies of copies land together. `codes` are normalized rows (see normalizedRows).
 */
export function findDuplicates(
  contentHashes: readonly string[],
  codes: Float32Array,
  dim: number,
  rule: NearDuplicateRule = nearDuplicateRule(),
): DuplicateSearch {
  const sets = new UnionFind(contentHashes.length);
  joinSameContent(sets, contentHashes);
  const { pairs, neighbourSimilarity } = searchSimilar(codes, dim, {
    threshold: rule.threshold,
    ...(rule.accept ? { accept: rule.accept } : {}),
    neighbours: OUTLIER_NEIGHBOURS,
  });
  for (const p of pairs) sets.union(p.i, p.j);
  return {
    groupIds: sets.groupIds(),
    groups: sets.groups(),
    pairs,
    neighbourSimilarity: neighbourSimilarity ?? new Float32Array(contentHashes.length),
  };
}

export function joinSameContent(sets: UnionFind, contentHashes: readonly string[], offset = 0): void {
  const first = new Map<string, number>();
  contentHashes.forEach((hash, i) => {
    const seen = first.get(hash);
    if (seen === undefined) first.set(hash, i + offset);
    else sets.union(seen, i + offset);
  });
}
