import type { Objective } from './lbfgs.js';
import type { Matrix } from './matrix.js';

/**
 * Replaces z[zo .. zo + nOutputs) — the scores of row `row` — by ∂loss/∂z and returns the row's loss, both already
 * weighted and normalized as the objective wants them.
 */
export type RowLoss = (z: Float64Array, zo: number, row: number) => number;

export interface Penalty {
  /** The objective adds ½·scale·‖W‖². */
  scale: number;
  /** Whether the intercepts are part of ‖W‖² (liblinear's SVM) or free (logistic regression). */
  intercept: boolean;
}

/**
 * f(θ) = Σᵢ rowLoss(zᵢ) + ½·scale·‖W‖² with zᵢ = W·xᵢ + b, θ = [W row-major (nOutputs × d), b (nOutputs)].
 * Rows go through in blocks of four so each weight loaded feeds four multiply-adds: the loops are load-bound in JS,
 * and this is the whole cost of a gradient on large data. `rowLengths[i]`, when given, says row i is zero past that
 * column (triangular bases: about half the work).
 */
export function linearObjective(
  X: Matrix,
  nOutputs: number,
  rowLoss: RowLoss,
  penalty: Penalty,
  rowLengths?: Int32Array,
): Objective {
  const { rows: n, cols: d, data: x } = X;
  const m = nOutputs;
  const z = new Float64Array(BLOCK * m);
  return (theta, grad) => {
    grad.fill(0);
    const bOff = m * d;
    let loss = 0;
    for (let i0 = 0; i0 < n; i0 += BLOCK) {
      const rows = Math.min(BLOCK, n - i0);
      let len = d;
      if (rowLengths) {
        len = 0;
        for (let r = 0; r < rows; r++) len = Math.max(len, rowLengths[i0 + r]!);
      }
      if (rows === BLOCK) scoresOfBlock(x, i0 * d, d, len, theta, m, z);
      else for (let r = 0; r < rows; r++) scoresOfRow(x, (i0 + r) * d, d, len, theta, m, z, r * m);
      for (let r = 0; r < rows; r++) {
        loss += rowLoss(z, r * m, i0 + r);
        for (let c = 0; c < m; c++) grad[bOff + c]! += z[r * m + c]!;
      }
      if (rows === BLOCK) accumulateBlock(x, i0 * d, d, len, grad, m, z);
      else for (let r = 0; r < rows; r++) accumulateRow(x, (i0 + r) * d, len, grad, d, m, z, r * m);
    }
    let norm2 = 0;
    const end = penalty.intercept ? bOff + m : bOff;
    for (let p = 0; p < end; p++) {
      const w = theta[p]!;
      norm2 += w * w;
      grad[p]! += penalty.scale * w;
    }
    return loss + 0.5 * penalty.scale * norm2;
  };
}

const BLOCK = 4;

function scoresOfBlock(
  x: Float64Array,
  o0: number,
  d: number,
  len: number,
  theta: Float64Array,
  m: number,
  z: Float64Array,
): void {
  const o1 = o0 + d;
  const o2 = o1 + d;
  const o3 = o2 + d;
  for (let c = 0; c < m; c++) {
    const wo = c * d;
    const b = theta[m * d + c]!;
    let s0 = b,
      s1 = b,
      s2 = b,
      s3 = b;
    for (let j = 0; j < len; j++) {
      const w = theta[wo + j]!;
      s0 += w * x[o0 + j]!;
      s1 += w * x[o1 + j]!;
      s2 += w * x[o2 + j]!;
      s3 += w * x[o3 + j]!;
    }
    z[c] = s0;
    z[m + c] = s1;
    z[2 * m + c] = s2;
    z[3 * m + c] = s3;
  }
}

function scoresOfRow(
  x: Float64Array,
  o: number,
  d: number,
  len: number,
  theta: Float64Array,
  m: number,
  z: Float64Array,
  zo: number,
): void {
  for (let c = 0; c < m; c++) {
    const wo = c * d;
    let s = theta[m * d + c]!;
    for (let j = 0; j < len; j++) s += theta[wo + j]! * x[o + j]!;
    z[zo + c] = s;
  }
}

function accumulateBlock(
  x: Float64Array,
  o0: number,
  d: number,
  len: number,
  grad: Float64Array,
  m: number,
  z: Float64Array,
): void {
  const o1 = o0 + d;
  const o2 = o1 + d;
  const o3 = o2 + d;
  for (let c = 0; c < m; c++) {
    const g0 = z[c]!;
    const g1 = z[m + c]!;
    const g2 = z[2 * m + c]!;
    const g3 = z[3 * m + c]!;
    if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
    const wo = c * d;
    for (let j = 0; j < len; j++)
      grad[wo + j]! += g0 * x[o0 + j]! + g1 * x[o1 + j]! + g2 * x[o2 + j]! + g3 * x[o3 + j]!;
  }
}

function accumulateRow(
  x: Float64Array,
  o: number,
  len: number,
  grad: Float64Array,
  d: number,
  m: number,
  z: Float64Array,
  zo: number,
): void {
  for (let c = 0; c < m; c++) {
    const g = z[zo + c]!;
    if (g === 0) continue;
    const wo = c * d;
    for (let j = 0; j < len; j++) grad[wo + j]! += g * x[o + j]!;
  }
}
