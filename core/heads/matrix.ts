import { gramSimd } from './gram-simd.js';
/** Dense row-major matrix of doubles: element (i, j) is data[i * cols + j]. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function matrixFromRows(rows: ArrayLike<ArrayLike<number>>): Matrix {
  const n = rows.length;
  const d = n === 0 ? 0 : rows[0]!.length;
  const out = zeros(n, d);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    if (row.length !== d) throw new RangeError(`row ${i} has ${row.length} values, expected ${d}`);
    for (let j = 0; j < d; j++) out.data[i * d + j] = row[j]!;
  }
  return out;
}

export function toRows(X: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < X.rows; i++) out.push(Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));
  return out;
}

export function row(X: Matrix, i: number): Float64Array {
  return X.data.subarray(i * X.cols, (i + 1) * X.cols);
}

export function takeRows(X: Matrix, idx: ArrayLike<number>): Matrix {
  const out = zeros(idx.length, X.cols);
  for (let r = 0; r < idx.length; r++) out.data.set(row(X, idx[r]!), r * X.cols);
  return out;
}

export function takeLabels(y: Int32Array, idx: ArrayLike<number>): Int32Array {
  const out = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) out[r] = y[idx[r]!]!;
  return out;
}

/** The block K[idx, idx] of a square matrix. */
export function takeBlock(K: Matrix, idx: ArrayLike<number>): Matrix {
  const m = idx.length;
  const out = zeros(m, m);
  for (let a = 0; a < m; a++) {
    const o = idx[a]! * K.cols;
    for (let b = 0; b < m; b++) out.data[a * m + b] = K.data[o + idx[b]!]!;
  }
  return out;
}

/** Scores = X · Wᵀ + b, with W stored as m rows of length d (one row per output). */
export function linearScores(X: Matrix, weights: Matrix, intercepts: Float64Array): Matrix {
  const n = X.rows;
  const d = X.cols;
  const m = weights.rows;
  const out = zeros(n, m);
  const x = X.data;
  const w = weights.data;
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    for (let c = 0; c < m; c++) {
      const wo = c * d;
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < d; j += 2) {
        s0 += x[xo + j]! * w[wo + j]!;
        s1 += x[xo + j + 1]! * w[wo + j + 1]!;
      }
      if (j < d) s0 += x[xo + j]! * w[wo + j]!;
      out.data[i * m + c] = s0 + s1 + intercepts[c]!;
    }
  }
  return out;
}

/**
 * Gram matrix X·Xᵀ (symmetric, both triangles filled): the hot loop of model selection when n < d (half the CPU of a
 * hymenoptera-sized CV with per-fold scaling). WebAssembly SIMD where the runtime has it (gram-simd.ts: 2× the scalar
 * loop), else the scalar loop; the two differ only in summation order (≈ 1e-15 relative).
 */
export function gram(X: Matrix): Matrix {
  return gramSimd(X) ?? gramScalar(X);
}

/**
 * The scalar loop (the reference `gramSimd` is tested against, and the fallback). Rows are dotted in 3 × 3 tiles so
 * each loaded value feeds three multiply-adds (measured 2× faster than 2 × 2 tiles in V8; wider tiles spill registers).
 * Edge tiles repeat the last row, which just recomputes the same entries.
 */
export function gramScalar(X: Matrix): Matrix {
  const n = X.rows;
  const d = X.cols;
  const x = X.data;
  const K = zeros(n, n);
  const k = K.data;
  const put = (a: number, b: number, v: number) => {
    k[a * n + b] = v;
    k[b * n + a] = v;
  };
  for (let i = 0; i < n; i += 3) {
    const i1 = Math.min(i + 1, n - 1);
    const i2 = Math.min(i + 2, n - 1);
    const a0 = i * d;
    const a1 = i1 * d;
    const a2 = i2 * d;
    for (let l = 0; l <= i2; l += 3) {
      const l1 = Math.min(l + 1, n - 1);
      const l2 = Math.min(l + 2, n - 1);
      const p0 = l * d;
      const p1 = l1 * d;
      const p2 = l2 * d;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s20 = 0,
        s21 = 0,
        s22 = 0;
      for (let j = 0; j < d; j++) {
        const u0 = x[p0 + j]!;
        const u1 = x[p1 + j]!;
        const u2 = x[p2 + j]!;
        const v0 = x[a0 + j]!;
        const v1 = x[a1 + j]!;
        const v2 = x[a2 + j]!;
        s00 += v0 * u0;
        s01 += v0 * u1;
        s02 += v0 * u2;
        s10 += v1 * u0;
        s11 += v1 * u1;
        s12 += v1 * u2;
        s20 += v2 * u0;
        s21 += v2 * u1;
        s22 += v2 * u2;
      }
      put(i, l, s00);
      put(i, l1, s01);
      put(i, l2, s02);
      put(i1, l, s10);
      put(i1, l1, s11);
      put(i1, l2, s12);
      put(i2, l, s20);
      put(i2, l1, s21);
      put(i2, l2, s22);
    }
  }
  return K;
}
