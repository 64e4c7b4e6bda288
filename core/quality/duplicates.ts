import { searchSimilar, type SimilarPair } from './near-duplicates.js';
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
 * Exact duplicates (same content hash) and near duplicates (codes' cosine ≥ threshold) among n images, joined into
 * groups by union-find, so copies of copies land together. `codes` are normalized rows (see normalizedRows).
 */
export function findDuplicates(
  contentHashes: readonly string[],
  codes: Float32Array,
  dim: number,
  threshold = NEAR_DUPLICATE_COSINE,
): DuplicateSearch {
  const sets = new UnionFind(contentHashes.length);
  joinSameContent(sets, contentHashes);
  const { pairs, neighbourSimilarity } = searchSimilar(codes, dim, { threshold, neighbours: OUTLIER_NEIGHBOURS });
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
