import { cachedRows } from '../features/code-rows.js';
import type { FeatureStore, NamespaceInfo } from '../features/feature-store.js';
import type { ManifestEntry } from '../features/manifest.js';
import type { ClassWeight } from '../heads/class-weight.js';
import { stratifiedGroupKFold, stratifiedKFold } from '../heads/folds.js';
import type { HeadJSON } from '../heads/head.js';
import type { CvRow } from '../heads/model-selection.js';
import { crossValidateStreamed, fitStreamed, type StreamedCv } from '../heads/streamed-logistic.js';
import { classCounts } from '../heads/validate.js';
import { joinSameContent } from '../quality/duplicates.js';
import { UnionFind } from '../quality/union-find.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import { startClock } from '../util/clock.js';

export interface StreamedTrainRequest {
  grid: readonly number[];
  folds: number;
  seed: number;
  classWeight: ClassWeight;
  onPass?: (passes: number) => void;
}

export interface StreamedTrainResult {
  cv: HeadArtefact['cv'];
  C: number;
  head: HeadJSON;
  fitSeconds: number;
  /** Groups of train entries (indices) with identical bytes, kept in one fold. */
  duplicates: number[][];
  grouped: boolean;
}

/**
 * A logistic head on one layer's cached train codes, streamed from the shards in shard order (float32, ONNX GEMM):
 * memory is a few chunks of rows plus a few bytes a row (labels, order, folds), whatever the number of images.
 * Folds are the in-memory path's (stratified, on the entries' order, exact duplicates kept together), then carried
 * into shard order. Near duplicates and label issues need every code in memory and are left to smaller runs.
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
  const duplicates = sets.groups();
  const options = { classWeight: request.classWeight, ...(request.onPass ? { onPass: request.onPass } : {}) };
  const clock = startClock();
  if (request.grid.length === 1) {
    const head = (await fitStreamed(source, request.grid[0]!, options)).head;
    return { cv: null, C: request.grid[0]!, head, fitSeconds: clock().wallSeconds, duplicates, grouped: false };
  }
  const { foldOf, folds, grouped } = entryFolds(
    labels,
    duplicates.length > 0 ? sets.groupIds() : undefined,
    request.folds,
    request.seed,
  );
  const inShardOrder = Int32Array.from(order, (position) => foldOf[position]!);
  const result = await crossValidateStreamed(source, request.grid, inShardOrder, folds, options);
  const spent = clock();
  const cv = {
    ...streamedCvTable(result, spent.wallSeconds, 'logistic'),
    folds,
    seed: request.seed,
    ...spent,
    engine: `streamed float32 from the code cache, ONNX GEMM, ${result.passes} passes; exact duplicates only`,
  };
  return { cv, C: result.best.C, head: result.head, fitSeconds: spent.wallSeconds, duplicates, grouped };
}

/** crossValidate's fold rule on labels in entry order: k lowered to the smallest class (or group) count. */
function entryFolds(
  y: Int32Array,
  groups: Int32Array | undefined,
  k: number,
  seed: number,
): { foldOf: Int32Array; folds: number; grouped: boolean } {
  const counts = classCounts(y);
  const groupsPerClass = groups ? counts.map((_, c) => new Set(groups.filter((_, i) => y[i] === c)).size) : [];
  const grouped = groups !== undefined && Math.min(...groupsPerClass) >= 2;
  const folds = Math.min(k, grouped ? Math.min(...groupsPerClass) : Math.min(...counts));
  const splits = grouped ? stratifiedGroupKFold(y, groups, folds, seed) : stratifiedKFold(y, folds, seed);
  const foldOf = new Int32Array(y.length);
  splits.forEach((split, f) =>
    split.test.forEach((i) => {
      foldOf[i] = f;
    }),
  );
  return { foldOf, folds, grouped };
}

/** The streamed CV's table as head.json's CV rows (ids `<prefix>/logistic/C=…`), wall time split evenly over Cs. */
export function streamedCvTable(
  result: StreamedCv,
  wallSeconds: number,
  prefix: string,
): { table: CvRow[]; best: CvRow } {
  const table: CvRow[] = result.table.map((r) => ({
    id: `${prefix}/logistic/C=${r.C}`,
    kind: 'logistic',
    C: r.C,
    meanAccuracy: r.meanAccuracy,
    stdAccuracy: r.stdAccuracy,
    foldAccuracies: r.foldAccuracies,
    meanLogLoss: r.meanLogLoss,
    fitSeconds: wallSeconds / result.table.length,
  }));
  return { table, best: table[result.table.indexOf(result.best)]! };
}
