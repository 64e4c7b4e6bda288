import { ConfigError } from '../errors.js';
import { meanLogLoss } from '../metrics/classification.js';
import { planFolds, type Split } from './folds.js';
import {
  createEstimator,
  resolveHeadOptions,
  StandardizedHead,
  type Classifier,
  type HeadKind,
  type HeadOptions,
  type ResolvedHeadOptions,
} from './head.js';
import { accuracy, argmaxScores, scoresToProbabilities } from './linear-model.js';
import { LinearSVC } from './linear-svm.js';
import { LogisticRegression } from './logistic-regression.js';
import { takeBlock, takeLabels, takeRows, type Matrix } from './matrix.js';
import { Standardizer } from './standardizer.js';
import { TrainingSet } from './training-set.js';
import { checkTrainingSet, classCounts } from './validate.js';

export { planFolds, stratifiedGroupKFold, stratifiedKFold, stratifiedSplit, type Split } from './folds.js';

export interface CvCandidate {
  id: string;
  layer?: string;
  X: Matrix;
  options: HeadOptions;
}

export interface CvRow {
  id: string;
  layer?: string;
  kind: HeadKind;
  C: number;
  meanAccuracy: number;
  /** Population standard deviation over folds (numpy's default, as scikit-learn's cv_results_). */
  stdAccuracy: number;
  foldAccuracies: number[];
  /** Seconds spent fitting this candidate over all folds, with shared per-fold work split evenly among candidates. */
  fitSeconds: number;
  /** Mean held-out log-loss over folds; logistic heads only (SVM scores are not probabilities). */
  meanLogLoss?: number;
}

export interface CvOptions {
  folds: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * 'per-fold' (default): the standardizer is refitted on each training fold, exactly as cross-validating the pipeline
   * (scikit-learn's GridSearchCV over Pipeline(StandardScaler, …)). 'once': standardize all rows first, as
   * make_pipeline(StandardScaler(), LogisticRegressionCV()) does: held-out rows then contribute to the (label-free)
   * mean and scale, and in exchange one Gram matrix serves every fold — much faster when n < d.
   */
  scaling?: 'per-fold' | 'once';
  /** Also fit the best candidate on all rows and return it as `head` (reuses the shared Gram matrix when possible). */
  refit?: boolean;
  /**
   * Group id per row (near-duplicate images share one): rows of a group always land in the same fold, so CV never
   * scores an image whose copy it trained on (see `stratifiedGroupKFold`).
   */
  groups?: Int32Array;
  /** Also return every row's held-out class probabilities under the best candidate (see `CvResult.outOfFold`). */
  outOfFold?: boolean;
}

export interface CvResult {
  table: CvRow[];
  best: CvRow;
  /** Folds actually used: `folds` lowered to the smallest class count when a class is that small. */
  folds: number;
  /** The best candidate fitted on all rows, when `refit` was asked. */
  head?: Classifier;
  /** Whether folds kept groups together (false without groups of 2+ rows, or when a class had fewer than 2 groups). */
  grouped: boolean;
  /**
   * When asked: row i's class probabilities from the best candidate fitted on the folds that held i out ([rows,
   * classes]). For an SVM these are softmax-scaled decision scores, not a probability model.
   */
  outOfFold?: Matrix;
}

/**
 * C values for standardized CNN codes, one per decade from 1e-5 to 1e2. Scores grow like C·n·d with d ≈ 1000
 * standardized features, so by C = 1e-6 logistic regression predicts the class prior (hymenoptera codes: 51 % CV
 * accuracy at 1e-6, 91 % at 1e-5, 96–97 % around 1e-3..1); above ~1e2 a training set with n < d is separated and larger
 * C only rescales the same direction while costing solver iterations (CV accuracy flat from 1e2 to 1e4).
 */
export function defaultCGrid(): number[] {
  return [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100];
}

/**
 * Stratified k-fold cross-validation of every candidate on the same folds. By default the whole pipeline (standardizer
 * included) is refitted on each training fold, so no statistic of a test fold leaks into its model (see `scaling`).
 * Speed: candidates sharing X share each fold's standardization and, when n < d, its Gram matrix and row-span basis;
 * candidates differing only in C are fitted in increasing C, each warm-started from the previous one.
 * Best: highest mean accuracy. Ties (common: a few dozen held-out images per fold) go to logistic over SVM, among
 * logistic heads to the lowest CV log-loss (the same accuracy with better-calibrated probabilities), among SVMs to the
 * smaller C, and finally to the earlier candidate (so list layers in order of preference).
 */
export function crossValidate(candidates: CvCandidate[], y: Int32Array, opts: CvOptions): CvResult {
  if (candidates.length === 0) throw new ConfigError('crossValidate needs at least one candidate');
  const resolved = candidates.map((c) => resolveHeadOptions(c.options));
  const sources = [...new Set(candidates.map((c) => c.X))];
  for (const X of sources) checkTrainingSet(X, y);
  const nClasses = classCounts(y).length;
  const { splits, folds, grouped } = planFolds(y, opts.folds, opts.seed, opts.groups);
  const heldOut = opts.outOfFold ? candidates.map(() => new Float32Array(y.length * nClasses)) : [];

  const accuracies = candidates.map(() => new Array<number>(folds).fill(0));
  const logLosses = candidates.map(() => new Array<number>(folds).fill(0));
  const seconds = candidates.map(() => 0);
  const total = candidates.length * folds;
  const scaling = opts.scaling ?? 'per-fold';
  const wholeSets = new Map<Matrix, Fold>();
  const whole = (X: Matrix, fits: number) => {
    if (!wholeSets.has(X)) wholeSets.set(X, prepareWhole(X, y, nClasses, fits));
    return wholeSets.get(X)!;
  };
  let done = 0;
  for (const X of sources) {
    const members = candidates.flatMap((c, i) => (c.X === X ? [i] : []));
    const paths = groupPaths(members, resolved);
    splits.forEach((split, f) => {
      const setupStart = performance.now();
      const fold =
        scaling === 'once'
          ? foldOfScaled(whole(X, members.length * folds), split)
          : prepareFold(X, y, split, nClasses, members.length);
      const setupShare = (performance.now() - setupStart) / 1000 / members.length;
      for (const path of paths) {
        let previous: LogisticRegression | LinearSVC | undefined;
        for (const i of path) {
          const start = performance.now();
          const model = fitOnFold(resolved[i]!, fold, previous);
          const scored = scoreOnFold(model, fold, heldOut[i] && { into: heldOut[i]!, rows: split.test });
          accuracies[i]![f] = scored.accuracy;
          if (scored.logLoss !== undefined) logLosses[i]![f] = scored.logLoss;
          seconds[i]! += (performance.now() - start) / 1000 + setupShare;
          previous = model;
          opts.onProgress?.(++done, total);
        }
      }
    });
  }

  const table: CvRow[] = candidates.map((c, i) => {
    const accs = accuracies[i]!;
    const mean = accs.reduce((s, a) => s + a, 0) / folds;
    const variance = accs.reduce((s, a) => s + (a - mean) ** 2, 0) / folds;
    const row: CvRow = {
      id: c.id,
      kind: resolved[i]!.kind,
      C: resolved[i]!.C,
      meanAccuracy: mean,
      stdAccuracy: Math.sqrt(variance),
      foldAccuracies: accs,
      fitSeconds: seconds[i]!,
    };
    if (c.layer !== undefined) row.layer = c.layer;
    if (row.kind === 'logistic') row.meanLogLoss = logLosses[i]!.reduce((s, l) => s + l, 0) / folds;
    return row;
  });
  const best = rankCandidates(table)[0]!;
  const result: CvResult = { table, best, folds, grouped };
  if (opts.outOfFold)
    result.outOfFold = { rows: y.length, cols: nClasses, data: Float64Array.from(heldOut[table.indexOf(best)]!) };
  if (opts.refit) {
    const i = table.indexOf(best);
    const all = whole(candidates[i]!.X, 1);
    const estimator = fitOnFold(resolved[i]!, all, undefined);
    result.head = new StandardizedHead(resolved[i]!).adopt(all.scaler, estimator);
  }
  return result;
}

interface Fold {
  scaler: Standardizer;
  train: TrainingSet;
  testX: Matrix;
  testY: Int32Array;
  /** Solve in the span of the training rows (n < d and enough fits share the Gram matrix). */
  inSpan: boolean;
}

/** Gradient passes one fit is assumed to need when judging whether a shared Gram matrix pays off. */
const PASSES_PER_FIT = 100;

function prepareFold(X: Matrix, y: Int32Array, split: Split, nClasses: number, fits: number): Fold {
  const trainRaw = takeRows(X, split.train);
  const trainY = takeLabels(y, split.train);
  const scaler = new Standardizer().fit(trainRaw);
  const train = new TrainingSet(scaler.transform(trainRaw), trainY, nClasses);
  const inSpan = train.prefersBasis(train.nClasses === 2 ? 1 : train.nClasses, PASSES_PER_FIT * fits);
  if (inSpan) train.basis();
  return { scaler, train, testX: scaler.transform(takeRows(X, split.test)), testY: takeLabels(y, split.test), inSpan };
}

/** All rows standardized together; with `fits` ≥ 2 and n < d its Gram matrix is computed now, to be cut into folds. */
function prepareWhole(X: Matrix, y: Int32Array, nClasses: number, fits: number): Fold {
  const scaler = new Standardizer().fit(X);
  const train = new TrainingSet(scaler.transform(X), y, nClasses);
  const inSpan = train.prefersBasis(nClasses === 2 ? 1 : nClasses, PASSES_PER_FIT * fits);
  if (inSpan && fits > 1) train.gram();
  return {
    scaler,
    train,
    testX: { rows: 0, cols: X.cols, data: new Float64Array(0) },
    testY: new Int32Array(0),
    inSpan,
  };
}

/** A fold cut out of the already standardized whole set: rows and the Gram block are copied, nothing recomputed. */
function foldOfScaled(whole: Fold, split: Split): Fold {
  const { X, y, nClasses } = whole.train;
  const gram = whole.inSpan ? takeBlock(whole.train.gram(), split.train) : undefined;
  const train = new TrainingSet(takeRows(X, split.train), takeLabels(y, split.train), nClasses, gram);
  if (whole.inSpan) train.basis();
  return {
    scaler: whole.scaler,
    train,
    testX: takeRows(X, split.test),
    testY: takeLabels(y, split.test),
    inSpan: whole.inSpan,
  };
}

/**
 * Held-out accuracy and, for logistic heads, log-loss, from one pass of decision scores: the same arithmetic as
 * `score` and `predictProba`, which would each compute the scores again.
 */
function scoreOnFold(
  model: LogisticRegression | LinearSVC,
  fold: Fold,
  keep?: { into: Float32Array; rows: Int32Array },
): { accuracy: number; logLoss?: number } {
  const scores = model.decisionFunction(fold.testX);
  const heldOutAccuracy = accuracy(argmaxScores(scores), fold.testY);
  const isLogistic = model instanceof LogisticRegression;
  if (!isLogistic && !keep) return { accuracy: heldOutAccuracy };
  const probabilities = scoresToProbabilities(scores, model.nClasses);
  if (keep) {
    const k = probabilities.cols;
    keep.rows.forEach((row, r) => keep.into.set(probabilities.data.subarray(r * k, (r + 1) * k), row * k));
  }
  return isLogistic
    ? { accuracy: heldOutAccuracy, logLoss: meanLogLoss(fold.testY, probabilities) }
    : { accuracy: heldOutAccuracy };
}

function fitOnFold(
  options: ResolvedHeadOptions,
  fold: Fold,
  previous: LogisticRegression | LinearSVC | undefined,
): LogisticRegression | LinearSVC {
  const model = createEstimator(options);
  if (model instanceof LogisticRegression) {
    const warmStart = previous instanceof LogisticRegression ? previous : undefined;
    return model.fitTrainingSet(fold.train, { inBasis: fold.inSpan, warmStart });
  }
  const warmStart = previous instanceof LinearSVC ? previous : undefined;
  // One SVM fit does not pay for a Gram matrix on its own; use one when it is already there.
  return model.fitTrainingSet(fold.train, { useGram: fold.inSpan && fold.train.hasGram, warmStart });
}

/** Candidates on the same X that differ only in C, each list sorted by increasing C (the warm-start order). */
function groupPaths(members: number[], resolved: ResolvedHeadOptions[]): number[][] {
  const byKey = new Map<string, number[]>();
  for (const i of members) {
    const { C: _C, ...rest } = resolved[i]!;
    const key = JSON.stringify(rest);
    byKey.set(key, [...(byKey.get(key) ?? []), i]);
  }
  return [...byKey.values()].map((path) => path.sort((a, b) => resolved[a]!.C - resolved[b]!.C));
}

/** Two CV means closer than this are a tie (float noise between equal fold results). */
const TIE = 1e-12;

/** What the ranking reads of a CV row: in-memory (`CvRow`) and streamed rows alike. */
export type Rankable = Pick<CvRow, 'kind' | 'C' | 'meanAccuracy' | 'meanLogLoss'>;

/**
 * Candidates best first, by the one rule every search here picks with (`crossValidate`, the streamed CV; see
 * crossValidate's comment): highest mean accuracy, then logistic over SVM, then the lower CV log-loss, then the smaller
 * C, then the earlier row. Reports list candidates in this order.
 */
export function rankCandidates<R extends Rankable>(table: readonly R[]): R[] {
  const kindRank = (k: HeadKind) => (k === 'logistic' ? 0 : 1);
  const order = table
    .map((_, i) => i)
    .sort((a, b) => {
      const ra = table[a]!;
      const rb = table[b]!;
      if (Math.abs(ra.meanAccuracy - rb.meanAccuracy) > TIE) return rb.meanAccuracy - ra.meanAccuracy;
      if (ra.kind !== rb.kind) return kindRank(ra.kind) - kindRank(rb.kind);
      const la = ra.meanLogLoss ?? 0;
      const lb = rb.meanLogLoss ?? 0;
      if (Math.abs(la - lb) > TIE) return la - lb;
      if (ra.C !== rb.C) return ra.C - rb.C;
      return a - b;
    });
  return order.map((i) => table[i]!);
}
