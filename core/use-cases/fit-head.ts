import { ConfigError } from '../errors.js';
import type { ClassWeight } from '../heads/class-weight.js';
import { planFolds } from '../heads/folds.js';
import { checkParameters, PARAMETERS } from '../heads/params.js';
import { createHead, type HeadJSON, type HeadKind } from '../heads/head.js';
import { takeLabels, takeRows, type Matrix } from '../heads/matrix.js';
import { crossValidate, defaultCGrid, type CvRow } from '../heads/model-selection.js';
import type { RowSource } from '../heads/row-source.js';
import { crossValidateStreamed, fitStreamed, type StreamedCv } from '../heads/streamed-logistic.js';
import { classCounts } from '../heads/validate.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import { startClock } from '../util/clock.js';
import type { ProgressSink } from './progress.js';

/**
 * Rows × dims above which the heads run streamed on float32 rows with ONNX GEMMs instead of the in-memory float64
 * path. Below it the data is small enough that the in-memory path (Gram-matrix tricks when n < d, SVMs, `--head
 * auto`) is as fast or faster (bench/README-heads.md: 245 × 1280 in 0.24 s CPU); above it scalar JS falls behind
 * (100k × 512: 18.8 s CPU in memory against about 3 s streamed).
 */
export const STREAMED_MIN_VALUES = 2_000_000;

/** One candidate layer's training rows: the same rows (and labels) for every layer, each read its own way. */
export interface LayerRows {
  layer: string;
  /** The rows in the order the store reads them fastest (a code cache: shard order). */
  rows: RowSource;
  /** order[r] = index, in `labels`' order, of the source's row r; absent: the same order. */
  order?: Int32Array;
  /** The rows at these indices (increasing, in `labels`' order), read the same way: the refit after `exclude`. */
  subset?: (keep: Int32Array) => { rows: RowSource; order?: Int32Array };
}

/** Labelled rows from any source (an image workspace's code cache, someone's .npy codes), one or more layers. */
export interface TrainingRows {
  layers: LayerRows[];
  /** Label of every row, in the canonical order (manifest entries, .npy rows) folds are dealt in. */
  labels: Int32Array;
  /** Where the rows come from, for the CV record's engine ("from the code cache"). */
  origin?: string;
}

/** What a train request asks for, as the CLI and train messages spell it. */
export interface HeadChoice {
  head?: HeadKind | 'auto';
  C?: number;
  folds?: number;
  seed?: number;
  classWeight?: ClassWeight;
}

/** The search a HeadChoice stands for: head kinds, the C grid, folds and seed, with their defaults. */
export interface HeadSearch {
  kinds: HeadKind[];
  grid: number[];
  folds: number;
  seed: number;
  classWeight: ClassWeight;
}

/** The one reading of a HeadChoice: logistic by default ('auto': logistic and SVM), CV over defaultCGrid unless C. */
export function resolveSearch(choice: HeadChoice): HeadSearch {
  // A bad C fails before any code is read, with the message its declaration gives at fit.
  if (choice.C !== undefined) checkParameters({ C: PARAMETERS.C }, choice);
  return {
    kinds: choice.head === 'auto' ? ['logistic', 'svm'] : [choice.head ?? 'logistic'],
    grid: choice.C !== undefined ? [choice.C] : defaultCGrid(),
    folds: choice.folds ?? 5,
    seed: choice.seed ?? 0,
    classWeight: choice.classWeight ?? null,
  };
}

export interface FitOptions {
  /** Group id per row (near duplicates), in `labels`' order: a group stays in one fold. */
  groups?: Int32Array;
  /**
   * Keep every row's held-out probabilities under the chosen candidate (label issues, calibration): rows are then
   * cross-validated even for a single candidate, whenever every class has two rows.
   */
  outOfFold?: boolean;
  /** Given the out-of-fold probabilities (absent without CV), the rows (in `labels`' order) to leave out of the fit. */
  exclude?: (outOfFold: Matrix | undefined) => ReadonlySet<number>;
  /** Rows × dims above which one logistic layer is fitted streamed (default STREAMED_MIN_VALUES). */
  streamedMinValues?: number;
  /** onnxruntime threads for the streamed engine (default: every core). */
  threads?: number;
  onProgress?: ProgressSink;
}

export interface FittedHead {
  cv: HeadArtefact['cv'];
  chosen: { layer: string; kind: HeadKind; C: number };
  head: HeadJSON;
  fitSeconds: number;
  trainedOn: number;
  /** Held-out class probabilities of every row under the chosen candidate, in `labels`' order. */
  outOfFold?: Matrix;
  /** Whether the folds kept groups together. */
  grouped: boolean;
  /** Rows left out of the final fit, in the order `exclude` gave them (train-head: most suspect first). */
  excluded: number[];
}

/** Whether `fitHead` runs streamed: one layer, logistic heads only, more than `minValues` values. */
export function runsStreamed(
  layers: ReadonlyArray<{ rows: Pick<RowSource, 'n' | 'dim'> }>,
  kinds: readonly HeadKind[],
  minValues = STREAMED_MIN_VALUES,
): boolean {
  const only = layers.length === 1 ? layers[0]!.rows : undefined;
  return only !== undefined && kinds.every((k) => k === 'logistic') && only.n * only.dim > minValues;
}

/**
 * The one training path, for an image workspace and for `train --codes` alike: stratified k-fold CV on the rows
 * (planFolds, ranked by rankCandidates) over layers × kinds × C, the chosen candidate refitted on every row not
 * excluded, as head.json's head. The rows are fitted in memory (float64, crossValidate) or, for one logistic layer of
 * more than `streamedMinValues` values, streamed from their RowSource (float32, ONNX GEMM): the choice is made here,
 * from the rows, and both engines take the same folds, give the same CV record and out-of-fold probabilities.
 */
export async function fitHead(data: TrainingRows, search: HeadSearch, options: FitOptions = {}): Promise<FittedHead> {
  const { kinds, grid } = search;
  const candidates = data.layers.length * kinds.length * grid.length;
  // With one candidate there is nothing to choose, but its out-of-fold probabilities still find label errors; a
  // class of one row fits a fixed C without CV (more candidates: planFolds says why CV cannot run).
  const validate = candidates > 1 || (options.outOfFold === true && Math.min(...classCounts(data.labels)) >= 2);
  return runsStreamed(data.layers, kinds, options.streamedMinValues)
    ? fitStreamedRows(data, search, options, validate)
    : fitInMemory(data, search, options, validate);
}

async function fitInMemory(
  data: TrainingRows,
  search: HeadSearch,
  options: FitOptions,
  validate: boolean,
): Promise<FittedHead> {
  const { kinds, grid, folds, seed, classWeight } = search;
  const y = data.labels;
  const X = new Map<string, Matrix>();
  for (const l of data.layers) X.set(l.layer, await materialize(l));
  const clock = startClock();
  const candidates = data.layers.flatMap(({ layer }) =>
    kinds.flatMap((kind) =>
      grid.map((C) => ({
        id: `${layer}/${kind}/C=${C}`,
        layer,
        X: X.get(layer)!,
        options: { kind, C, classWeight, seed },
      })),
    ),
  );
  const result = validate
    ? crossValidate(candidates, y, {
        folds,
        seed,
        ...(options.groups ? { groups: options.groups } : {}),
        outOfFold: options.outOfFold === true,
        onProgress: (done, total) => options.onProgress?.({ phase: 'train', done, total, message: 'cross-validation' }),
      })
    : undefined;
  const cv: HeadArtefact['cv'] =
    result && candidates.length > 1
      ? { folds: result.folds, seed, table: result.table, best: result.best, ...clock(), engine: 'in memory, float64' }
      : null;
  const chosen = result
    ? { layer: result.best.layer!, kind: result.best.kind, C: result.best.C }
    : { layer: data.layers[0]!.layer, kind: kinds[0]!, C: grid[0]! };
  const excluded = [...(options.exclude?.(result?.outOfFold) ?? [])];
  const all = X.get(chosen.layer)!;
  const kept = keptRows(y.length, excluded);
  const train = excluded.length === 0 ? { X: all, y } : { X: takeRows(all, kept), y: takeLabels(y, kept) };
  const started = performance.now();
  const head = createHead({ kind: chosen.kind, C: chosen.C, classWeight, seed }).fit(train.X, train.y).toJSON();
  return {
    cv,
    chosen,
    head,
    fitSeconds: (performance.now() - started) / 1000,
    trainedOn: train.y.length,
    grouped: result?.grouped ?? false,
    excluded,
    ...(result?.outOfFold ? { outOfFold: result.outOfFold } : {}),
  };
}

async function fitStreamedRows(
  data: TrainingRows,
  search: HeadSearch,
  options: FitOptions,
  validate: boolean,
): Promise<FittedHead> {
  const { grid, folds, seed, classWeight } = search;
  const [layer] = data.layers as [LayerRows];
  const { rows, order } = layer;
  const y = data.labels;
  const streamed = {
    classWeight,
    ...(options.threads ? { threads: options.threads } : {}),
    onPass: (passes: number) =>
      options.onProgress?.({ phase: 'train', done: passes, total: passes, message: 'passes over the codes' }),
  };
  const clock = startClock();
  let C = grid[0]!;
  let cv: HeadArtefact['cv'] = null;
  let result: StreamedCv | undefined;
  let outOfFold: Matrix | undefined;
  let grouped = false;
  if (validate) {
    // Folds are dealt in the labels' order (as in memory), then carried into the source's order.
    const plan = planFolds(y, folds, seed, options.groups);
    grouped = plan.grouped;
    const foldOf = order ? Int32Array.from(order, (i) => plan.foldOf[i]!) : plan.foldOf;
    result = await crossValidateStreamed(rows, grid, foldOf, plan.folds, {
      ...streamed,
      outOfFold: options.outOfFold === true,
    });
    C = result.best.C;
    if (result.outOfFold) outOfFold = inLabelOrder(result.outOfFold, rows.classes, order);
    if (grid.length > 1) {
      const passes = `${result.passes} passes${result.outOfFold ? ', out-of-fold probabilities kept' : ''}`;
      const { table, best } = streamedCvTable(result, clock().wallSeconds, layer.layer);
      const engine = `streamed float32${data.origin ? ` ${data.origin}` : ''}, ONNX GEMM, ${passes}`;
      cv = { folds: plan.folds, seed, table, best, ...clock(), engine };
    }
  }
  const excluded = [...(options.exclude?.(outOfFold) ?? [])];
  let head: HeadJSON;
  if (excluded.length > 0) {
    if (!layer.subset) throw new ConfigError(`these rows (${layer.layer}) cannot be refitted on a subset`);
    head = (await fitStreamed(layer.subset(keptRows(y.length, excluded)).rows, C, streamed)).head;
  } else {
    head = result ? result.head : (await fitStreamed(rows, C, streamed)).head;
  }
  const spent = clock();
  if (cv) Object.assign(cv, spent);
  return {
    cv,
    chosen: { layer: layer.layer, kind: 'logistic', C },
    head,
    fitSeconds: spent.wallSeconds,
    trainedOn: y.length - excluded.length,
    grouped,
    excluded,
    ...(outOfFold ? { outOfFold } : {}),
  };
}

/** The streamed CV's table as head.json's CV rows (ids `<layer>/logistic/C=…`), wall time split evenly over Cs. */
function streamedCvTable(result: StreamedCv, wallSeconds: number, layer: string): { table: CvRow[]; best: CvRow } {
  const table: CvRow[] = result.table.map((r) => ({
    id: `${layer}/${r.kind}/C=${r.C}`,
    layer,
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

/** A layer's rows as the in-memory heads take them: float64, in the labels' order. */
async function materialize({ rows, order }: LayerRows): Promise<Matrix> {
  const d = rows.dim;
  const data = new Float64Array(rows.n * d);
  for await (const chunk of rows.chunks()) {
    for (let r = 0; r < chunk.rows; r++) {
      const at = order ? order[chunk.offset + r]! : chunk.offset + r;
      data.set(chunk.X.subarray(r * d, (r + 1) * d), at * d);
    }
  }
  return { rows: rows.n, cols: d, data };
}

/** Rows × classes probabilities from the source's order back to the labels' order. */
function inLabelOrder(p: Float32Array, k: number, order: Int32Array | undefined): Matrix {
  const out = new Float64Array(p.length);
  const n = p.length / k;
  for (let r = 0; r < n; r++) {
    const at = order ? order[r]! : r;
    for (let c = 0; c < k; c++) out[at * k + c] = p[r * k + c]!;
  }
  return { rows: n, cols: k, data: out };
}

function keptRows(n: number, excluded: readonly number[]): Int32Array {
  const out = new Set(excluded);
  const kept = new Int32Array(n - out.size);
  let k = 0;
  for (let i = 0; i < n; i++) if (!out.has(i)) kept[k++] = i;
  return kept;
}
