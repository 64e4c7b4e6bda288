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
 * Gram matrix X·Xᵀ (symmetric, both triangles filled). Rows are dotted in 2×2 tiles so each loaded value feeds two
 * multiply-adds: this is the hot loop of model selection when n < d.
 */
export function gram(X: Matrix): Matrix {
  const n = X.rows;
  const d = X.cols;
  const x = X.data;
  const K = zeros(n, n);
  const k = K.data;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const a = i * d;
    const b = a + d;
    let l = 0;
    for (; l + 1 <= i + 1; l += 2) {
      const p = l * d;
      const q = p + d;
      let ap = 0, aq = 0, bp = 0, bq = 0;
      for (let j = 0; j < d; j++) {
        const xa = x[a + j]!;
        const xb = x[b + j]!;
        const xp = x[p + j]!;
        const xq = x[q + j]!;
        ap += xa * xp;
        aq += xa * xq;
        bp += xb * xp;
        bq += xb * xq;
      }
      k[i * n + l] = ap; k[l * n + i] = ap;
      k[i * n + l + 1] = aq; k[(l + 1) * n + i] = aq;
      k[(i + 1) * n + l] = bp; k[l * n + i + 1] = bp;
      k[(i + 1) * n + l + 1] = bq; k[(l + 1) * n + i + 1] = bq;
    }
  }
  if (i < n) {
    const a = i * d;
    for (let l = 0; l <= i; l++) {
      const p = l * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += x[a + j]! * x[p + j]!;
      k[i * n + l] = s;
      k[l * n + i] = s;
    }
  }
  return K;
}
