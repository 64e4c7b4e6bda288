import type { Objective } from './lbfgs.js';
import { linearObjective } from './linear-objective.js';
import type { Matrix } from './matrix.js';

/**
 * Primal L2-regularized squared-hinge SVMs for every output at once (they are independent; one pass over X serves
 * all), in the same normalization as the logistic loss so `tol` reads the same:
 *   f = (1/n)·Σᵢ Σ_c cᵢ꜀·max(0, 1 − tᵢ꜀·(w꜀·xᵢ + b꜀))² + (‖W‖² + ‖b‖²) / (2·C·n)
 * with the intercept penalized like liblinear's constant feature. This is smooth (continuous gradient), so L-BFGS
 * applies; it is what scikit-learn's LinearSVC(dual='auto') solves in the primal when n ≥ d.
 * `targets[i·m + c]` is ±1 and `costs[i·m + c]` the per-sample cost relative to C (class weights).
 */
export function squaredHingeObjective(
  X: Matrix,
  targets: Float64Array,
  costs: Float64Array,
  nOutputs: number,
  C: number,
): Objective {
  const n = X.rows;
  const m = nOutputs;
  const rowLoss = (z: Float64Array, zo: number, row: number) => {
    let loss = 0;
    for (let c = 0; c < m; c++) {
      const p = row * m + c;
      const t = targets[p]!;
      const slack = 1 - t * z[zo + c]!;
      if (slack > 0) {
        const cost = costs[p]! / n;
        loss += cost * slack * slack;
        z[zo + c] = -2 * cost * slack * t;
      } else {
        z[zo + c] = 0;
      }
    }
    return loss;
  };
  return linearObjective(X, m, rowLoss, { scale: 1 / (C * n), intercept: true });
}
