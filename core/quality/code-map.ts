import { mulberry32, shuffleInPlace } from '../heads/prng.js';

export interface CodeMap {
  /** x, y per row, in the order the codes were given. */
  points: Float32Array;
  /** Share of the codes' variance along each of the two axes (of the rows the axes were fitted on). */
  explained: [number, number];
}

/**
 * A 2-D map of the codes: the first two principal components. They are fitted on a seeded sample of at most
 * `sampleSize` rows (2 000 rows pin down two directions in 1 280 dimensions well) by subspace iteration on the
 * covariance, XᵀX·V computed as Xᵀ(X·V) so the d×d matrix is never formed; every row is then projected.
 * Cost: iterations × 4·s·d multiply-adds for the fit (s = sample), 2·n·d for the projection.
 */
export function principalMap(
  data: ArrayLike<number>,
  rows: number,
  dim: number,
  options: { sampleSize?: number; seed?: number } = {},
): CodeMap {
  const sampleSize = Math.min(rows, options.sampleSize ?? 2000);
  const random = mulberry32(options.seed ?? 0);
  const order = shuffleInPlace(
    Int32Array.from({ length: rows }, (_, i) => i),
    random,
  );
  const sample = order.subarray(0, sampleSize);
  const mean = new Float64Array(dim);
  for (const r of sample) for (let t = 0; t < dim; t++) mean[t]! += data[r * dim + t]! / sampleSize;
  const X = new Float64Array(sampleSize * dim);
  sample.forEach((r, s) => {
    for (let t = 0; t < dim; t++) X[s * dim + t] = data[r * dim + t]! - mean[t]!;
  });
  let total = 0;
  for (const v of X) total += v * v;

  const V = [randomUnit(dim, random), randomUnit(dim, random)];
  orthonormalize(V);
  let eigen = [0, 0];
  for (let iteration = 0; iteration < 100; iteration++) {
    const next = V.map((v) => covarianceTimes(X, sampleSize, dim, v));
    const previous = V.map((v) => Float64Array.from(v));
    eigen = next.map((w, c) => dot(w, V[c]!));
    V[0] = next[0]!;
    V[1] = next[1]!;
    orthonormalize(V);
    // Converged when both directions stop turning (|cos| between iterates ≈ 1).
    if (Math.min(Math.abs(dot(V[0], previous[0]!)), Math.abs(dot(V[1], previous[1]!))) > 1 - 1e-7) break;
  }
  const points = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      const v = V[c]!;
      for (let t = 0; t < dim; t++) s += (data[r * dim + t]! - mean[t]!) * v[t]!;
      points[r * 2 + c] = s;
    }
  }
  return { points, explained: [total > 0 ? eigen[0]! / total : 0, total > 0 ? eigen[1]! / total : 0] };
}

/** XᵀX·v for the centred sample X (rows × dim). */
function covarianceTimes(X: Float64Array, rows: number, dim: number, v: Float64Array): Float64Array {
  const out = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let t = 0; t < dim; t++) s += X[o + t]! * v[t]!;
    for (let t = 0; t < dim; t++) out[t]! += s * X[o + t]!;
  }
  return out;
}

function randomUnit(dim: number, random: () => number): Float64Array {
  const v = Float64Array.from({ length: dim }, () => random() - 0.5);
  return scale(v, 1 / Math.sqrt(dot(v, v)));
}

/** Gram–Schmidt on two vectors, in place. */
function orthonormalize(V: Float64Array[]): void {
  const [a, b] = V as [Float64Array, Float64Array];
  scale(a, 1 / Math.sqrt(dot(a, a) || 1));
  const along = dot(a, b);
  for (let t = 0; t < b.length; t++) b[t]! -= along * a[t]!;
  scale(b, 1 / Math.sqrt(dot(b, b) || 1));
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += a[t]! * b[t]!;
  return s;
}

function scale(v: Float64Array, by: number): Float64Array {
  for (let t = 0; t < v.length; t++) v[t]! *= by;
  return v;
}
