import { randomInt } from './prng.js';

/**
 * Dual coordinate descent for one binary L2-regularized linear SVM (Hsieh et al., ICML 2008; liblinear's
 * solve_l2r_l1l2_svc, with its shrinking and stopping rule). Minimizes ½αᵀQ̄α − eᵀα, 0 ≤ αᵢ ≤ Uᵢ, where
 * Q̄ = Q + D, Qᵢⱼ = tᵢtⱼ x̂ᵢ·x̂ⱼ. Squared hinge: Dᵢᵢ = 1/(2Cᵢ), Uᵢ = ∞; hinge: Dᵢᵢ = 0, Uᵢ = Cᵢ.
 * How w·x̂ᵢ is read and how w moves is left to `ops`, so the same loop runs on features (O(d) per step) or on a
 * precomputed Gram matrix (O(n) per step).
 */
export interface DualOps {
  /** w·x̂ᵢ for the current w = Σⱼ αⱼtⱼx̂ⱼ. */
  margin(i: number): number;
  /** w += delta·x̂ᵢ. */
  move(i: number, delta: number): void;
}

export interface DualProblem {
  /** ±1 targets. */
  t: Float64Array;
  upper: Float64Array;
  diagShift: Float64Array;
  /** ‖x̂ᵢ‖² for each row. */
  squaredNorms: Float64Array;
}

export interface DualResult {
  iterations: number;
  converged: boolean;
}

export function dualCoordinateDescent(
  problem: DualProblem,
  ops: DualOps,
  alpha: Float64Array,
  options: { tol: number; maxIter: number; random: () => number },
): DualResult {
  const { t, upper, diagShift, squaredNorms } = problem;
  const n = t.length;
  const qd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    qd[i] = squaredNorms[i]! + diagShift[i]!;
    if (alpha[i]! !== 0) ops.move(i, alpha[i]! * t[i]!);
  }
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  let active = n;
  let pgMaxOld = Infinity;
  let pgMinOld = -Infinity;
  let iterations = 0;
  while (iterations < options.maxIter) {
    let pgMax = -Infinity;
    let pgMin = Infinity;
    for (let s = 0; s < active; s++) {
      const j = s + randomInt(options.random, active - s);
      const tmp = index[s]!;
      index[s] = index[j]!;
      index[j] = tmp;
    }
    for (let s = 0; s < active; s++) {
      const i = index[s]!;
      const a = alpha[i]!;
      const G = t[i]! * ops.margin(i) - 1 + diagShift[i]! * a;
      let pg = 0;
      if (a === 0) {
        if (G > pgMaxOld) {
          active--;
          index[s] = index[active]!;
          index[active] = i;
          s--;
          continue;
        }
        if (G < 0) pg = G;
      } else if (a === upper[i]!) {
        if (G < pgMinOld) {
          active--;
          index[s] = index[active]!;
          index[active] = i;
          s--;
          continue;
        }
        if (G > 0) pg = G;
      } else {
        pg = G;
      }
      if (pg > pgMax) pgMax = pg;
      if (pg < pgMin) pgMin = pg;
      if (Math.abs(pg) > 1e-12) {
        const next = Math.min(Math.max(a - G / qd[i]!, 0), upper[i]!);
        alpha[i] = next;
        ops.move(i, (next - a) * t[i]!);
      }
    }
    iterations++;
    if (pgMax - pgMin <= options.tol) {
      if (active === n) return { iterations, converged: true };
      active = n;
      pgMaxOld = Infinity;
      pgMinOld = -Infinity;
      continue;
    }
    pgMaxOld = pgMax <= 0 ? Infinity : pgMax;
    pgMinOld = pgMin >= 0 ? -Infinity : pgMin;
  }
  return { iterations, converged: false };
}
