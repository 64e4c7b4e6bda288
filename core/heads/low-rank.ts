import { zeros, type Matrix } from './matrix.js';

/**
 * When n < d the penalized solution W lies in the span of the n training rows (representer theorem), so the problem
 * can be solved in an r-dimensional basis (r = rank ≤ n) at a cost of O(n·r) per gradient instead of O(n·d).
 * With a pivoted Cholesky factorization of the Gram matrix, Pᵀ·K·P ≈ L·Lᵀ, the features Z = L give scores Z·β and
 * ‖W‖ = ‖β‖, so the loss, the penalty and hence the optimum are those of the original problem.
 */
export interface LowRankBasis {
  /** n × r: the training set in the new coordinates, rows in pivot order (row a of Z is training row order[a]). */
  Z: Matrix;
  order: Int32Array;
  /** Row a of Z is zero past column rowLengths[a]: a + 1 for the pivots (triangular), r for the other rows. */
  rowLengths: Int32Array;
  /** Training rows chosen as pivots, in order. */
  pivots: Int32Array;
  /** r × r lower-triangular: rows of L at the pivots. */
  L11: Float64Array;
}

/** relTol: stop when the largest remaining diagonal ≤ relTol × the largest diagonal of K (drops null directions). */
export function lowRankBasis(K: Matrix, relTol = 1e-10): LowRankBasis {
  const n = K.rows;
  const k = K.data;
  const L = new Float64Array(n * n);
  const diag = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    diag[i] = k[i * n + i]!;
    if (diag[i]! > maxDiag) maxDiag = diag[i]!;
  }
  const used = new Uint8Array(n);
  const pivots: number[] = [];
  for (let r = 0; r < n; r++) {
    let j = -1;
    let best = relTol * maxDiag;
    for (let i = 0; i < n; i++) {
      if (!used[i] && diag[i]! > best) {
        best = diag[i]!;
        j = i;
      }
    }
    if (j < 0) break;
    used[j] = 1;
    pivots.push(j);
    const ljj = Math.sqrt(diag[j]!);
    L[j * n + r] = ljj;
    const jo = j * n;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const io = i * n;
      let s0 = k[io + j]!;
      let s1 = 0;
      let t = 0;
      for (; t + 1 < r; t += 2) {
        s0 -= L[io + t]! * L[jo + t]!;
        s1 -= L[io + t + 1]! * L[jo + t + 1]!;
      }
      if (t < r) s0 -= L[io + t]! * L[jo + t]!;
      const lij = (s0 + s1) / ljj;
      L[io + r] = lij;
      diag[i]! -= lij * lij;
    }
  }
  const r = pivots.length;
  const order = Int32Array.from([...pivots, ...Array.from({ length: n }, (_, i) => i).filter((i) => !used[i])]);
  const Z = zeros(n, r);
  order.forEach((i, a) => Z.data.set(L.subarray(i * n, i * n + r), a * r));
  const rowLengths = Int32Array.from(order, (_, a) => Math.min(a + 1, r));
  const L11 = new Float64Array(r * r);
  for (let a = 0; a < r; a++) L11.set(L.subarray(pivots[a]! * n, pivots[a]! * n + a + 1), a * r);
  return { Z, order, rowLengths, pivots: Int32Array.from(pivots), L11 };
}

/** Maps coefficients β (m × r, one row per output) back to feature space: W = γ·X_pivots with L11ᵀ·γᵀ = βᵀ. */
export function weightsFromBasis(basis: LowRankBasis, X: Matrix, beta: Matrix): Matrix {
  const { pivots, L11 } = basis;
  const r = pivots.length;
  const d = X.cols;
  const x = X.data;
  const W = zeros(beta.rows, d);
  const w = W.data;
  const b = beta.data;
  const gamma = new Float64Array(r);
  for (let c = 0; c < beta.rows; c++) {
    for (let a = r - 1; a >= 0; a--) {
      let s = b[c * r + a]!;
      for (let t = a + 1; t < r; t++) s -= L11[t * r + a]! * gamma[t]!;
      gamma[a] = s / L11[a * r + a]!;
    }
    const wo = c * d;
    // Two pivot rows per sweep over W halves the loads and stores of W.
    let a = 0;
    for (; a + 1 < r; a += 2) {
      const g0 = gamma[a]!;
      const g1 = gamma[a + 1]!;
      const x0 = pivots[a]! * d;
      const x1 = pivots[a + 1]! * d;
      for (let j = 0; j < d; j++) w[wo + j]! += g0 * x[x0 + j]! + g1 * x[x1 + j]!;
    }
    if (a < r) {
      const g0 = gamma[a]!;
      const x0 = pivots[a]! * d;
      for (let j = 0; j < d; j++) w[wo + j]! += g0 * x[x0 + j]!;
    }
  }
  return W;
}
