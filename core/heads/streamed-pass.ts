import { lossAndResidual, sigmoid } from './logistic-loss.js';
import type { OnnxGemm } from './onnx-gemm.js';
import type { RowSource } from './row-source.js';

/**
 * One model being fitted over a RowSource: the rows it trains on (every row not in `heldOutFold`; −1 = all rows),
 * its standardization, and its per-class sample weights already divided by their sum over its training rows (S), so
 * the data term is scikit-learn's (1/S)·Σ sᵢ·ℓᵢ.
 */
export interface Lane {
  heldOutFold: number;
  mean: Float64Array;
  scale: Float64Array;
  /** Weight of a training row of class c, divided by S. */
  classWeight: Float64Array;
  /** S = Σ sᵢ over the training rows: the penalty is ‖W‖² / (2·C·S). */
  weightSum: number;
  /** 1 for two classes (sigmoid on class 1's score), else the number of classes (softmax). */
  outputs: number;
}

/** What one lane asks of a pass: the data term at θ (standardized coordinates), its gradient, held-out scores. */
export interface PassRequest {
  lane: Lane;
  theta: Float64Array;
  /** Filled with ∇ of the data term; null = score only. */
  gradient: Float64Array | null;
  heldOut: boolean;
  /** With heldOut: each held-out row's class probabilities are written here (row · classes + c, source row order). */
  outOfFold?: Float32Array;
}

export interface HeldOutScore {
  rows: number;
  hits: number;
  logLossSum: number;
}

export interface PassResult {
  /** The data term (1/S)·Σ sᵢ·ℓᵢ at θ (0 when no gradient was asked). */
  loss: number;
  heldOut: HeldOutScore;
}

/** Fold number of each row (−1: in no fold), the same array for every pass; null when there are no folds. */
export type FoldOf = Int32Array | null;

const EPS = Number.EPSILON;

/**
 * Answers every request with one pass over the rows: the scores of all lanes come from one GEMM per chunk on the
 * stacked, scale-folded weights, the residuals are formed in float64 in JS (the softmax over k values per row is
 * cheap), and the gradients of all lanes come from one transposed GEMM; chunk results are summed in float64.
 *
 * Standardization is folded in rather than applied: with W′ = W/σ (per column) and b′ = b − W′·(μ − c), the scores of
 * standardized rows are (x − c)·W′ᵀ + b′, where c is the engine's fixed centre; the gradient maps back the same way.
 */
export async function evaluatePass(
  source: RowSource,
  gemm: OnnxGemm,
  foldOf: FoldOf,
  requests: readonly PassRequest[],
): Promise<PassResult[]> {
  const d = source.dim;
  const center = gemm.center;
  const widths = requests.map((r) => r.lane.outputs);
  const starts = widths.map((_, l) => widths.slice(0, l).reduce((s, w) => s + w, 0));
  const M = widths.reduce((s, w) => s + w, 0);
  const stacked = new Float32Array(M * d);
  const offsets = new Float64Array(M);
  requests.forEach(({ lane, theta }, l) => {
    const m = lane.outputs;
    for (let c = 0; c < m; c++) {
      let shift = 0;
      const row = (starts[l]! + c) * d;
      for (let j = 0; j < d; j++) {
        const w = theta[c * d + j]! / lane.scale[j]!;
        stacked[row + j] = w;
        shift += w * (lane.mean[j]! - center[j]!);
      }
      offsets[starts[l]! + c] = theta[m * d + c]! - shift;
    }
  });
  const wantsGradient = requests.some((r) => r.gradient !== null);
  const gradientSum = new Float64Array(M * d);
  const residualSum = new Float64Array(M);
  const results: PassResult[] = requests.map(() => ({ loss: 0, heldOut: { rows: 0, hits: 0, logLossSum: 0 } }));
  const z = new Float64Array(Math.max(...widths));
  let residuals = new Float32Array(0);

  for await (const chunk of source.chunks()) {
    const { rows, X, y, offset } = chunk;
    const scores = await gemm.scores(X, rows, stacked, M);
    if (wantsGradient && residuals.length < rows * M) residuals = new Float32Array(rows * M);
    if (wantsGradient) residuals.fill(0, 0, rows * M);
    for (let i = 0; i < rows; i++) {
      const label = y[i]!;
      const fold = foldOf ? foldOf[offset + i]! : -1;
      for (let l = 0; l < requests.length; l++) {
        const { lane, gradient, heldOut, outOfFold } = requests[l]!;
        const m = lane.outputs;
        const base = starts[l]!;
        const inTraining = lane.heldOutFold < 0 || fold !== lane.heldOutFold;
        if (inTraining ? gradient === null : !heldOut) continue;
        for (let c = 0; c < m; c++) z[c] = scores[i * M + base + c]! + offsets[base + c]!;
        if (!inTraining) {
          scoreRow(z, m, label, results[l]!.heldOut);
          if (outOfFold) writeProbabilities(z, m, outOfFold, offset + i);
          continue;
        }
        results[l]!.loss += lossAndResidual(z, 0, m, label, lane.classWeight[label]!);
        for (let c = 0; c < m; c++) {
          residuals[i * M + base + c] = z[c]!;
          residualSum[base + c]! += z[c]!;
        }
      }
    }
    if (!wantsGradient) continue;
    const g = await gemm.backprop(residuals, X, rows, M);
    for (let p = 0; p < M * d; p++) gradientSum[p]! += g[p]!;
  }

  requests.forEach(({ lane, gradient }, l) => {
    if (!gradient) return;
    const m = lane.outputs;
    for (let c = 0; c < m; c++) {
      const row = (starts[l]! + c) * d;
      const r = residualSum[starts[l]! + c]!;
      for (let j = 0; j < d; j++)
        gradient[c * d + j] = (gradientSum[row + j]! - r * (lane.mean[j]! - center[j]!)) / lane.scale[j]!;
      gradient[m * d + c] = r;
    }
  });
  return results;
}

/** Accuracy and log-loss of one held-out row, from its scores, as `score` and `meanLogLoss` compute them. */
function scoreRow(z: Float64Array, m: number, label: number, out: HeldOutScore): void {
  out.rows++;
  let pTrue: number;
  if (m === 1) {
    if ((z[0]! > 0 ? 1 : 0) === label) out.hits++;
    const p1 = sigmoid(z[0]!);
    pTrue = label === 1 ? p1 : 1 - p1;
  } else {
    let best = 0;
    let max = z[0]!;
    for (let c = 1; c < m; c++)
      if (z[c]! > max) {
        max = z[c]!;
        best = c;
      }
    if (best === label) out.hits++;
    let sum = 0;
    for (let c = 0; c < m; c++) sum += Math.exp(z[c]! - max);
    pTrue = Math.exp(z[label]! - max) / sum;
  }
  out.logLossSum -= Math.log(Math.min(Math.max(pTrue, EPS), 1 - EPS));
}

/** The row's probabilities (sigmoid for one score, else softmax), each class's from its own score, into `out`. */
function writeProbabilities(z: Float64Array, m: number, out: Float32Array, row: number): void {
  if (m === 1) {
    out[2 * row] = sigmoid(-z[0]!);
    out[2 * row + 1] = sigmoid(z[0]!);
    return;
  }
  let max = -Infinity;
  for (let c = 0; c < m; c++) max = Math.max(max, z[c]!);
  let sum = 0;
  for (let c = 0; c < m; c++) sum += Math.exp(z[c]! - max);
  for (let c = 0; c < m; c++) out[row * m + c] = Math.exp(z[c]! - max) / sum;
}

/** Per-group (fold, or all rows) standardization statistics and class counts from one pass. */
export interface GroupStatistics {
  /** Global mean: the engine's centre. */
  center: Float64Array;
  /** For each fold f, the statistics of the rows NOT in f (its training rows); the last entry is all rows. */
  training: Array<{ rows: number; mean: Float64Array; scale: Float64Array; classCounts: Float64Array }>;
}

/**
 * Means and population standard deviations of the training rows of every fold, and of all rows, in one pass: sums of
 * (x − K) and (x − K)² per fold, with K the first chunk's mean (a shift that keeps the float64 sums free of
 * cancellation), then training = all − fold. A feature whose spread is at rounding level gets scale 1 (Standardizer).
 */
export async function groupStatistics(source: RowSource, foldOf: FoldOf, folds: number): Promise<GroupStatistics> {
  const d = source.dim;
  const groups = folds + 1;
  const s1 = new Float64Array(groups * d);
  const s2 = new Float64Array(groups * d);
  const counts = new Float64Array(groups);
  const classCounts = new Float64Array(groups * source.classes);
  let shift: Float64Array | null = null;
  for await (const { rows, X, y, offset } of source.chunks()) {
    if (!shift) {
      shift = new Float64Array(d);
      for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) shift[j]! += X[i * d + j]!;
      for (let j = 0; j < d; j++) shift[j]! /= rows;
    }
    for (let i = 0; i < rows; i++) {
      const fold = foldOf ? foldOf[offset + i]! : -1;
      const g = fold >= 0 ? fold : folds;
      counts[g]!++;
      classCounts[g * source.classes + y[i]!]!++;
      const o = g * d;
      const xo = i * d;
      for (let j = 0; j < d; j++) {
        const t = X[xo + j]! - shift[j]!;
        s1[o + j]! += t;
        s2[o + j]! += t * t;
      }
    }
  }
  if (!shift) shift = new Float64Array(d);
  // Fold all sums into the last group so it holds every row; a fold's training rows are then all − fold.
  for (let f = 0; f < folds; f++) {
    counts[folds]! += counts[f]!;
    for (let c = 0; c < source.classes; c++)
      classCounts[folds * source.classes + c]! += classCounts[f * source.classes + c]!;
    for (let j = 0; j < d; j++) {
      s1[folds * d + j]! += s1[f * d + j]!;
      s2[folds * d + j]! += s2[f * d + j]!;
    }
  }
  const statsOf = (g: number) => {
    const all = g === folds;
    const rows = all ? counts[folds]! : counts[folds]! - counts[g]!;
    const mean = new Float64Array(d);
    const scale = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const a = s1[folds * d + j]! - (all ? 0 : s1[g * d + j]!);
      const b = s2[folds * d + j]! - (all ? 0 : s2[g * d + j]!);
      const m = a / rows;
      mean[j] = shift[j]! + m;
      const sd = Math.sqrt(Math.max(0, b / rows - m * m));
      scale[j] = sd < 10 * Number.EPSILON * Math.max(1, Math.abs(mean[j]!)) ? 1 : sd;
    }
    const cc = new Float64Array(source.classes);
    for (let c = 0; c < source.classes; c++) {
      cc[c] = classCounts[folds * source.classes + c]! - (all ? 0 : classCounts[g * source.classes + c]!);
    }
    return { rows, mean, scale, classCounts: cc };
  };
  const training = Array.from({ length: groups }, (_, g) => statsOf(g));
  return { center: training[folds]!.mean, training };
}
