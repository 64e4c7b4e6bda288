import { cachedRows } from '../features/code-rows.js';
import type { FeatureStore, NamespaceInfo } from '../features/feature-store.js';
import type { ManifestEntry } from '../features/manifest.js';
import type { ClassWeight } from '../heads/class-weight.js';
import { planFolds } from '../heads/folds.js';
import type { HeadJSON } from '../heads/head.js';
import type { CvRow } from '../heads/model-selection.js';
import { crossValidateStreamed, fitStreamed, type StreamedCv } from '../heads/streamed-logistic.js';
import { classCounts } from '../heads/validate.js';
import type { Matrix } from '../heads/matrix.js';
import { cachedRowReader, searchByCells } from '../quality/cell-search.js';
import { joinSameContent, OUTLIER_NEIGHBOURS } from '../quality/duplicates.js';
import { UnionFind } from '../quality/union-find.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import { startClock } from '../util/clock.js';

export interface StreamedTrainRequest {
  grid: readonly number[];
  folds: number;
  seed: number;
  classWeight: ClassWeight;
  onPass?: (passes: number) => void;
  /** Cosine at or above which two codes are the same picture (NEAR_DUPLICATE_COSINE). */
  threshold: number;
  /** Codes the near-duplicate search compares (the final layer when extracted: the threshold was measured there). */
  searchNamespace?: NamespaceInfo;
  /**
   * Given the out-of-fold probabilities (entry order) and the neighbour similarities, the entries to leave out of the
   * final fit (`--exclude-suspects`); none when absent or empty.
   */
  exclude?: (outOfFold: Matrix, neighbourSimilarity: Float32Array) => Set<number>;
}

export interface StreamedTrainResult {
  cv: HeadArtefact['cv'];
  C: number;
  head: HeadJSON;
  fitSeconds: number;
  /** Groups of train entries (indices) with identical bytes or near-identical codes, kept in one fold. */
  duplicates: number[][];
  grouped: boolean;
  /** Held-out class probabilities of every entry at the chosen C (entry order); absent when CV could not run. */
  outOfFold?: Matrix;
  /** Per entry: mean cosine to its OUTLIER_NEIGHBOURS most similar train images met by the search. */
  neighbourSimilarity: Float32Array;
  /** Entries left out of the final fit. */
  excluded: number[];
  /** Seconds spent on the near-duplicate search (wall). */
  searchSeconds: number;
  trainedOn: number;
}

/**
 * A logistic head on one layer's cached train codes, streamed from the shards in shard order (float32, ONNX GEMM):
 * memory is a few chunks of rows plus a few bytes a row (labels, order, folds, out-of-fold probabilities), whatever
 * the number of images. Near duplicates come first, from the cell search over the cache (core/quality/cell-search.ts,
 * exact up to 1,000 rows), so folds are the in-memory path's (stratified, on the entries' order, each duplicate
 * group in one fold), then carried into shard order. Every fold scores its held-out rows as the CV streams, so each
 * entry gets an out-of-fold probability at the chosen C: the label-issue search and `exclude` work at any n.
 */
export async function trainStreamed(
  features: FeatureStore,
  ns: NamespaceInfo,
  entries: readonly ManifestEntry[],
  request: StreamedTrainRequest,
): Promise<StreamedTrainResult> {
  const labels = Int32Array.from(entries, (e) => e.label);
  const { source, order } = cachedRows(
    features,
    ns,
    entries.map((e) => e.codes[ns.cut]!),
    labels,
  );
  const sets = new UnionFind(entries.length);
  joinSameContent(
    sets,
    entries.map((e) => e.contentHash),
  );
  const searchClock = startClock();
  const searched = request.searchNamespace ?? ns;
  const reader = cachedRowReader(
    features,
    searched,
    entries.map((e) => e.codes[searched.cut]!),
  );
  const search = await searchByCells(reader, { threshold: request.threshold, neighbours: OUTLIER_NEIGHBOURS });
  for (const p of search.pairs) sets.union(p.i, p.j);
  const searchSeconds = searchClock().wallSeconds;
  const neighbourSimilarity = search.neighbourSimilarity ?? new Float32Array(entries.length);
  const duplicates = sets.groups();
  const options = { classWeight: request.classWeight, ...(request.onPass ? { onPass: request.onPass } : {}) };
  const clock = startClock();
  const common = { duplicates, neighbourSimilarity, searchSeconds };
  if (Math.min(...classCounts(labels)) < 2) {
    // A class of one image cannot be cross-validated: a fixed C fits without CV, as in memory.
    const head = (await fitStreamed(source, request.grid[0]!, options)).head;
    const fitSeconds = clock().wallSeconds;
    const C = request.grid[0]!;
    return { cv: null, C, head, fitSeconds, grouped: false, excluded: [], trainedOn: entries.length, ...common };
  }
  // crossValidate's fold rule on labels in entry order (k lowered to the smallest class or group count).
  const { foldOf, folds, grouped } = planFolds(
    labels,
    request.folds,
    request.seed,
    duplicates.length > 0 ? sets.groupIds() : undefined,
  );
  const inShardOrder = Int32Array.from(order, (position) => foldOf[position]!);
  const result = await crossValidateStreamed(source, request.grid, inShardOrder, folds, {
    ...options,
    outOfFold: true,
  });
  // Out-of-fold probabilities back from shard order to entry order.
  const k = source.classes;
  const shardOrdered = result.outOfFold!;
  const oof = new Float64Array(entries.length * k);
  order.forEach((position, r) => {
    for (let c = 0; c < k; c++) oof[position * k + c] = shardOrdered[r * k + c]!;
  });
  const outOfFold: Matrix = { rows: entries.length, cols: k, data: oof };
  const excluded = request.exclude?.(outOfFold, neighbourSimilarity) ?? new Set<number>();
  let head = result.head;
  if (excluded.size > 0) {
    const kept = entries.flatMap((e, i) => (excluded.has(i) ? [] : [e]));
    const keptRows = cachedRows(
      features,
      ns,
      kept.map((e) => e.codes[ns.cut]!),
      Int32Array.from(kept, (e) => e.label),
    );
    head = (await fitStreamed(keptRows.source, result.best.C, options)).head;
  }
  const spent = clock();
  const cv =
    request.grid.length === 1
      ? null
      : {
          ...streamedCvTable(result, spent.wallSeconds, 'logistic'),
          folds,
          seed: request.seed,
          ...spent,
          engine: `streamed float32 from the code cache, ONNX GEMM, ${result.passes} passes, out-of-fold probabilities kept`,
        };
  return {
    cv,
    C: result.best.C,
    head,
    fitSeconds: spent.wallSeconds,
    grouped,
    outOfFold,
    excluded: [...excluded].sort((a, b) => a - b),
    trainedOn: entries.length - excluded.size,
    ...common,
  };
}

/** The streamed CV's table as head.json's CV rows (ids `<prefix>/logistic/C=…`), wall time split evenly over Cs. */
export function streamedCvTable(
  result: StreamedCv,
  wallSeconds: number,
  prefix: string,
): { table: CvRow[]; best: CvRow } {
  const table: CvRow[] = result.table.map((r) => ({
    id: `${prefix}/${r.kind}/C=${r.C}`,
    kind: r.kind,
    C: r.C,
    meanAccuracy: r.meanAccuracy,
    stdAccuracy: r.stdAccuracy,
    foldAccuracies: r.foldAccuracies,
    meanLogLoss: r.meanLogLoss,
    fitSeconds: wallSeconds / result.table.length,
  }));
  return { table, best: table[result.table.indexOf(result.best)]! };
}
