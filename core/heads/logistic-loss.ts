import type { Objective } from './lbfgs.js';
import { linearObjective } from './linear-objective.js';
import type { Matrix } from './matrix.js';

/**
 * Penalized logistic loss in scikit-learn's normalization, which makes `tol` mean the same thing for any n:
 *   f(W, b) = (1/S)·Σᵢ sᵢ·ℓ(zᵢ, yᵢ) + ‖W‖² / (2·C·S),   S = Σᵢ sᵢ,   zᵢ = W·xᵢ + b  (b not penalized).
 * `nOutputs` = 1 is the binary model (ℓ = log(1 + e^{−t·z}), t = ±1, class 1 positive), as scikit-learn fits binary
 * problems; nOutputs = k is the multinomial (softmax) model. θ = [W row-major (nOutputs × d), b (nOutputs)].
 */
export function logisticObjective(
  X: Matrix,
  y: Int32Array,
  sampleWeights: Float64Array,
  nOutputs: number,
  C: number,
  rowLengths?: Int32Array,
): Objective {
  let S = 0;
  for (let i = 0; i < y.length; i++) S += sampleWeights[i]!;
  const m = nOutputs;
  const rowLoss = (z: Float64Array, zo: number, row: number) =>
    lossAndResidual(z, zo, m, y[row]!, sampleWeights[row]! / S);
  return linearObjective(X, m, rowLoss, { scale: 1 / (C * S), intercept: false }, rowLengths);
}

/** Replaces the scores z[zo..zo+m) by weight·∂ℓ/∂z and returns weight·ℓ. */
export function lossAndResidual(z: Float64Array, zo: number, m: number, label: number, weight: number): number {
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
