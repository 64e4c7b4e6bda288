import { ConfigError } from '../errors.js';
import type { ClassWeight } from './class-weight.js';
import { resolveHeadOptions, writeHeadJson, type HeadJSON } from './head.js';
import { lbfgsSteps, type LbfgsResult } from './lbfgs.js';
import { rankCandidates } from './model-selection.js';
import { OnnxGemm } from './onnx-gemm.js';
import type { RowSource } from './row-source.js';
import {
  evaluatePass,
  groupStatistics,
  type FoldOf,
  type HeldOutScore,
  type Lane,
  type PassRequest,
  type PassResult,
} from './streamed-pass.js';
import { checkParameters, LOGISTIC_PARAMETERS, withDefaults, type Resolved } from './params.js';

/**
 * Logistic regression over a RowSource: scikit-learn's objective (the same as LogisticRegression here), full-batch
 * L-BFGS where every evaluation is one pass over the rows in chunks, so the objective is exact and memory does not
 * grow with n. Rows stay float32 as stored; the dense products run on onnxruntime (MLAS SGEMM on all cores); sums,
 * the solver's state and the weights are float64.
 *
 * Cross-validation runs every fold's solver in lockstep: each pass answers the pending evaluation of every fold at
 * once (one GEMM on the stacked weights), and each fold walks C upwards warm-started from the previous C, as
 * LogisticRegressionCV does. A fold's held-out scores come from the first pass of the next C (the scores of every
 * row are computed anyway), so scoring costs one extra pass in all.
 */
export interface StreamedOptions {
  classWeight?: ClassWeight;
  tol?: number;
  maxIter?: number;
  /** onnxruntime intra-op threads; its default (every core) when omitted. */
  threads?: number;
  /** Called after every pass with the number of passes so far. */
  onPass?: (passes: number) => void;
  /**
   * Cross-validation: also keep every row's held-out class probabilities under each C (n × classes float32 per C,
   * written as the held-out scores are computed anyway), and return the best C's as `outOfFold`.
   */
  outOfFold?: boolean;
}

export interface StreamedFit {
  head: HeadJSON;
  passes: number;
}

export interface StreamedCvRow {
  kind: 'logistic';
  C: number;
  meanAccuracy: number;
  stdAccuracy: number;
  foldAccuracies: number[];
  meanLogLoss: number;
  iterations: number;
}

export interface StreamedCv {
  table: StreamedCvRow[];
  best: StreamedCvRow;
  head: HeadJSON;
  passes: number;
  /** With `outOfFold`: rows × classes held-out probabilities at the best C, in the source's row order. */
  outOfFold?: Float32Array;
}

/** One C, every row. */
export async function fitStreamed(source: RowSource, C: number, options: StreamedOptions = {}): Promise<StreamedFit> {
  const params = streamedParams(C, options);
  const stats = await groupStatistics(source, null, 0);
  const lane = laneOf(stats.training[0]!, -1, source.classes, params.classWeight);
  const gemm = await OnnxGemm.create(stats.center, options.threads);
  try {
    const run = new PassRunner(source, gemm, null, options.onPass);
    const [path] = await run.all([cPath(lane, [C], null, params)]);
    return { head: headJson(lane, path!.at(-1)!, params, source), passes: run.passes };
  } finally {
    await gemm.release();
  }
}

/**
 * C by k-fold cross-validation over `Cs` on the folds given (`foldOf[i]` = fold of row i, 0..folds−1), then a refit
 * on every row at the best C, warm-started from the mean of the folds' solutions. Best by `rankCandidates`, the rule
 * crossValidate picks with: highest mean accuracy, ties to the lowest mean held-out log-loss, then the smaller C.
 */
export async function crossValidateStreamed(
  source: RowSource,
  Cs: readonly number[],
  foldOf: Int32Array,
  folds: number,
  options: StreamedOptions = {},
): Promise<StreamedCv> {
  if (Cs.length === 0) throw new ConfigError('cross-validation needs at least one C');
  const params = streamedParams(Cs[0]!, options);
  for (const C of Cs) checkParameters(LOGISTIC_PARAMETERS, { ...params, C });
  if (foldOf.length !== source.n) throw new ConfigError(`foldOf has ${foldOf.length} entries for ${source.n} rows`);
  const grid = [...Cs].sort((a, b) => a - b);
  const stats = await groupStatistics(source, foldOf, folds);
  const weighting = params.classWeight;
  const lanes = Array.from({ length: folds }, (_, f) => laneOf(stats.training[f]!, f, source.classes, weighting));
  const gemm = await OnnxGemm.create(stats.center, options.threads);
  try {
    const run = new PassRunner(source, gemm, foldOf, options.onPass);
    // One array per C shared by the folds: each fold writes only its own held-out rows.
    const sinks = options.outOfFold ? grid.map(() => new Float32Array(source.n * source.classes)) : undefined;
    const paths = await run.all(lanes.map((lane) => cPath(lane, grid, null, params, sinks)));
    const table = grid.map((C, i): StreamedCvRow => {
      const scores = paths.map((p) => p[i]!.heldOut!);
      const foldAccuracies = scores.map((s) => s.hits / s.rows);
      const meanAccuracy = mean(foldAccuracies);
      return {
        kind: 'logistic',
        C,
        meanAccuracy,
        foldAccuracies,
        stdAccuracy: Math.sqrt(mean(foldAccuracies.map((a) => (a - meanAccuracy) ** 2))),
        meanLogLoss: mean(scores.map((s) => s.logLossSum / s.rows)),
        iterations: paths.reduce((s, p) => s + p[i]!.iterations, 0),
      };
    });
    const best = rankCandidates(table)[0]!;
    const bestIndex = table.indexOf(best);
    const all = laneOf(stats.training[folds]!, -1, source.classes, weighting);
    // One C: a cold refit, the fixed-C fit's (the same optimum as the in-memory head's, not just within tol of it).
    const start = grid.length > 1 ? meanOf(paths.map((p) => p[bestIndex]!.theta)) : null;
    const [refit] = await run.all([cPath(all, [best.C], start, params)]);
    const head = headJson(all, refit!.at(-1)!, { ...params, C: best.C }, source);
    return { table, best, head, passes: run.passes, ...(sinks ? { outOfFold: sinks[bestIndex]! } : {}) };
  } finally {
    await gemm.release();
  }
}

function laneOf(
  stats: { rows: number; mean: Float64Array; scale: Float64Array; classCounts: Float64Array },
  heldOutFold: number,
  classes: number,
  weighting: ClassWeight,
): Lane {
  if (classes < 2) throw new ConfigError(`labels have only ${classes} class: need at least two to fit a classifier`);
  const missing = stats.classCounts.findIndex((c) => c === 0);
  if (missing >= 0) {
    throw new ConfigError(
      heldOutFold < 0
        ? `labels must be 0..${classes - 1} with every class present; class ${missing} has no rows`
        : `fold ${heldOutFold} leaves class ${missing} without training rows; use fewer folds`,
    );
  }
  // scikit-learn's 'balanced' = n / (k · count_c), over the rows this model trains on.
  const perClass = Float64Array.from(stats.classCounts, (count) =>
    weighting === 'balanced' ? stats.rows / (classes * count) : 1,
  );
  const weightSum = stats.classCounts.reduce((s, count, c) => s + count * perClass[c]!, 0);
  return {
    heldOutFold,
    mean: stats.mean,
    scale: stats.scale,
    weightSum,
    classWeight: perClass.map((w) => w / weightSum),
    outputs: classes === 2 ? 1 : classes,
  };
}

interface PathStep {
  C: number;
  theta: Float64Array;
  iterations: number;
  converged: boolean;
  /** Held-out score of this C's solution (folds only). */
  heldOut?: HeldOutScore;
}

type LaneSolver = Generator<PassRequest, PathStep[], PassResult>;

/**
 * One lane's walk along increasing C: for each C, L-BFGS from the previous solution, every evaluation answered by a
 * pass; the penalty ‖W‖²/(2·C·S) (intercepts free) is added here, the data term comes from the pass.
 */
function* cPath(
  lane: Lane,
  Cs: readonly number[],
  start: Float64Array | null,
  params: StreamedParams,
  sinks?: Float32Array[],
): LaneSolver {
  const d = lane.mean.length;
  const m = lane.outputs;
  let theta = start ?? new Float64Array(m * d + m);
  const steps: PathStep[] = [];
  const scoresHeldOut = lane.heldOutFold >= 0;
  for (const C of Cs) {
    const scale = 1 / (C * lane.weightSum);
    const solver = lbfgsSteps(theta, { gradTol: params.tol, maxIter: params.maxIter });
    let next = solver.next();
    let first = true;
    while (!next.done) {
      const { x, gradient } = next.value;
      const scoring = first && scoresHeldOut && steps.length > 0;
      const sink = scoring ? sinks?.[steps.length - 1] : undefined;
      const result = yield { lane, theta: x, gradient, heldOut: scoring, ...(sink ? { outOfFold: sink } : {}) };
      if (first && scoresHeldOut && steps.length > 0) steps.at(-1)!.heldOut = result.heldOut;
      first = false;
      let norm2 = 0;
      for (let p = 0; p < m * d; p++) {
        norm2 += x[p]! * x[p]!;
        gradient[p]! += scale * x[p]!;
      }
      next = solver.next(result.loss + 0.5 * scale * norm2);
    }
    const fit: LbfgsResult = next.value;
    theta = fit.x;
    steps.push({ C, theta, iterations: fit.iterations, converged: fit.converged });
  }
  if (scoresHeldOut) {
    const sink = sinks?.[steps.length - 1];
    const last = yield { lane, theta, gradient: null, heldOut: true, ...(sink ? { outOfFold: sink } : {}) };
    steps.at(-1)!.heldOut = last.heldOut;
  }
  return steps;
}

/** Drives lane solvers in lockstep: every round, one pass answers each unfinished solver's pending request. */
class PassRunner {
  passes = 0;

  constructor(
    private readonly source: RowSource,
    private readonly gemm: OnnxGemm,
    private readonly foldOf: FoldOf,
    private readonly onPass?: (passes: number) => void,
  ) {}

  async all(solvers: LaneSolver[]): Promise<PathStep[][]> {
    const out: PathStep[][] = new Array(solvers.length);
    let pending = solvers.map((solver, i) => ({ solver, i, next: solver.next() }));
    for (;;) {
      for (const p of pending) if (p.next.done) out[p.i] = p.next.value;
      pending = pending.filter((p) => !p.next.done);
      if (pending.length === 0) return out;
      const requests = pending.map((p) => p.next.value as PassRequest);
      const results = await evaluatePass(this.source, this.gemm, this.foldOf, requests);
      this.passes++;
      this.onPass?.(this.passes);
      pending.forEach((p, k) => {
        p.next = p.solver.next(results[k]!);
      });
    }
  }
}

type StreamedParams = Resolved<typeof LOGISTIC_PARAMETERS>;

/** The logistic parameters with their defaults, checked (this fit starts now). */
function streamedParams(C: number, options: StreamedOptions): StreamedParams {
  const params = withDefaults(LOGISTIC_PARAMETERS, { ...options, C });
  checkParameters(LOGISTIC_PARAMETERS, params);
  return params;
}

/** The lane's solution as head.json's head: a logistic head with seed 0 (unused), in the in-memory head's format. */
function headJson(lane: Lane, step: PathStep, params: StreamedParams, source: RowSource): HeadJSON {
  const d = source.dim;
  const m = lane.outputs;
  return writeHeadJson(resolveHeadOptions({ kind: 'logistic', ...params }), {
    nClasses: source.classes,
    mean: lane.mean,
    scale: lane.scale,
    coef: { rows: m, cols: d, data: step.theta.subarray(0, m * d) },
    intercept: step.theta.subarray(m * d),
    fit: { iterations: step.iterations, converged: step.converged },
  });
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function meanOf(vectors: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) out[i]! += v[i]! / vectors.length;
  return out;
}
