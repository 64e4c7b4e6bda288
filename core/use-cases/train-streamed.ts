import type { FeatureStore, NamespaceInfo } from '../features/feature-store.js';
import type { ManifestEntry } from '../features/manifest.js';
import { cachedRowReader, searchByCells } from '../quality/cell-search.js';
import {
  joinSameContent,
  OUTLIER_NEIGHBOURS,
  signatureConfirmedPairs,
  type NearDuplicateRule,
} from '../quality/duplicates.js';
import { UnionFind } from '../quality/union-find.js';
import { startClock } from '../util/clock.js';

/** Near duplicates of the train entries, found without holding their codes. */
export interface CachedDuplicates {
  /** Groups of train entries (indices) with identical bytes or near-identical codes, kept in one fold. */
  duplicates: number[][];
  /** Group id per entry when some group has two or more entries (the folds keep them together). */
  groupIds?: Int32Array;
  /** Per entry: mean cosine to its OUTLIER_NEIGHBOURS most similar train images met by the search. */
  neighbourSimilarity: Float32Array;
  /** Seconds spent on the near-duplicate search (wall). */
  searchSeconds: number;
}

/**
 * The near-duplicate search of a streamed fit (core/use-cases/fit-head.ts streams the head itself): identical bytes by
 * content hash, near duplicates (`rule`: codes, confirmed by image signatures when there are) by the cell search over the cache (core/quality/cell-search.ts, exact up to 1,000
 * rows), reading the codes of `searched` (the final layer when extracted: the threshold was measured there) a few
 * chunks at a time, so memory is a few bytes a row whatever the number of images. The groups keep copies in one fold;
 * the neighbour similarities rank outliers, with the out-of-fold probabilities, among the label issues.
 */
export async function searchCachedDuplicates(
  features: FeatureStore,
  searched: NamespaceInfo,
  entries: readonly ManifestEntry[],
  rule: NearDuplicateRule,
): Promise<CachedDuplicates> {
  const sets = new UnionFind(entries.length);
  joinSameContent(
    sets,
    entries.map((e) => e.contentHash),
  );
  const searchClock = startClock();
  const reader = cachedRowReader(
    features,
    searched,
    entries.map((e) => e.codes[searched.cut]!),
  );
  const search = await searchByCells(reader, {
    threshold: rule.threshold,
    ...(rule.accept ? { accept: rule.accept } : {}),
    neighbours: OUTLIER_NEIGHBOURS,
  });
  for (const p of search.pairs) sets.union(p.i, p.j);
  // The pairs the signatures propose, wherever the cells put them (empty without signatures).
  for (const p of await signatureConfirmedPairs(rule, (rows) => reader.read(rows), searched.dim)) sets.union(p.i, p.j);
  const searchSeconds = searchClock().wallSeconds;
  const duplicates = sets.groups();
  return {
    duplicates,
    ...(duplicates.length > 0 ? { groupIds: sets.groupIds() } : {}),
    neighbourSimilarity: search.neighbourSimilarity ?? new Float32Array(entries.length),
    searchSeconds,
  };
}
