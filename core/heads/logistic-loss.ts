import type { Objective } from './lbfgs.js';
import type { Matrix } from './matrix.js';

/**
 * Penalized logistic loss in scikit-learn's normalization, which makes `tol` mean the same thing for any n:
 *   f(W, b) = (1/S)·Σᵢ sᵢ·ℓ(zᵢ, yᵢ) + ‖W‖² / (2·C·S),   S = Σᵢ sᵢ,   zᵢ = W·xᵢ + b  (b not penalized).
 * `nOutputs` = 1 is the binary model (ℓ = log(1 + e^{−t·z}), t = ±1, class 1 positive), as scikit-learn fits binary
 * problems; nOutputs = k is the multinomial (softmax) model. θ = [W row-major (nOutputs × d), b (nOutputs)].
 * `rowLengths[i]`, when given, says row i is zero past that column (triangular bases: about half the work).
 */
export function logisticObjective(
  X: Matrix, y: Int32Array, sampleWeights: Float64Array, nOutputs: number, C: number, rowLengths?: Int32Array,
): Objective {
  const { rows: n, cols: d, data: x } = X;
  const m = nOutputs;
  let S = 0;
  for (let i = 0; i < n; i++) S += sampleWeights[i]!;
  // Scores, then residuals ∂ℓ/∂z, for one block of BLOCK rows.
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
        loss += lossAndResidual(z, r * m, m, y[i0 + r]!, sampleWeights[i0 + r]! / S);
        for (let c = 0; c < m; c++) grad[bOff + c]! += z[r * m + c]!;
      }
      if (rows === BLOCK) accumulateBlock(x, i0 * d, d, len, grad, m, z);
      else for (let r = 0; r < rows; r++) accumulateRow(x, (i0 + r) * d, len, grad, d, m, z, r * m);
    }
    let norm2 = 0;
    const penalty = 1 / (C * S);
    for (let p = 0; p < bOff; p++) {
      const w = theta[p]!;
      norm2 += w * w;
      grad[p]! += penalty * w;
    }
    return loss + 0.5 * penalty * norm2;
  };
}

/** Rows handled together: each weight loaded once feeds four multiply-adds (the loops are load-bound in JS). */
const BLOCK = 4;

function scoresOfBlock(x: Float64Array, o0: number, d: number, len: number, theta: Float64Array, m: number, z: Float64Array): void {
  const o1 = o0 + d;
  const o2 = o1 + d;
  const o3 = o2 + d;
  for (let c = 0; c < m; c++) {
    const wo = c * d;
    const b = theta[m * d + c]!;
    let s0 = b, s1 = b, s2 = b, s3 = b;
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
  x: Float64Array, o: number, d: number, len: number, theta: Float64Array, m: number, z: Float64Array, zo: number,
): void {
  for (let c = 0; c < m; c++) {
    const wo = c * d;
    let s = theta[m * d + c]!;
    for (let j = 0; j < len; j++) s += theta[wo + j]! * x[o + j]!;
    z[zo + c] = s;
  }
}

function accumulateBlock(x: Float64Array, o0: number, d: number, len: number, grad: Float64Array, m: number, z: Float64Array): void {
  const o1 = o0 + d;
  const o2 = o1 + d;
  const o3 = o2 + d;
  for (let c = 0; c < m; c++) {
    const g0 = z[c]!;
    const g1 = z[m + c]!;
    const g2 = z[2 * m + c]!;
    const g3 = z[3 * m + c]!;
    const wo = c * d;
    for (let j = 0; j < len; j++) grad[wo + j]! += g0 * x[o0 + j]! + g1 * x[o1 + j]! + g2 * x[o2 + j]! + g3 * x[o3 + j]!;
  }
}

function accumulateRow(
  x: Float64Array, o: number, len: number, grad: Float64Array, d: number, m: number, z: Float64Array, zo: number,
): void {
  for (let c = 0; c < m; c++) {
    const g = z[zo + c]!;
    const wo = c * d;
    for (let j = 0; j < len; j++) grad[wo + j]! += g * x[o + j]!;
  }
}

/** Replaces the scores z[zo..zo+m) by weight·∂ℓ/∂z and returns weight·ℓ. */
function lossAndResidual(z: Float64Array, zo: number, m: number, label: number, weight: number): number {
  if (m === 1) {
    const t = label === 1 ? 1 : -1;
    const u = -t * z[zo]!;
    z[zo] = weight * -t * sigmoid(u);
    return weight * softplus(u);
  }
  let max = -Infinity;
  for (let c = 0; c < m; c++) if (z[zo + c]! > max) max = z[zo + c]!;
  const correct = z[zo + label]! - max;
  let sum = 0;
  for (let c = 0; c < m; c++) {
    const e = Math.exp(z[zo + c]! - max);
    z[zo + c] = e;
    sum += e;
  }
  for (let c = 0; c < m; c++) z[zo + c] = (weight * z[zo + c]!) / sum;
  z[zo + label]! -= weight;
  return weight * (Math.log(sum) - correct);
}

/** log(1 + e^u) without overflow. */
export function softplus(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}

export function sigmoid(u: number): number {
  if (u >= 0) return 1 / (1 + Math.exp(-u));
  const e = Math.exp(u);
  return e / (1 + e);
}
