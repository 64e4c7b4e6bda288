import { mulberry32, shuffleInPlace } from '../heads/prng.js';

export interface CodeMap {
  /** x, y per row, in the order the codes were given. */
  points: Float32Array;
  /** Share of the codes' variance along each of the two axes (of the rows the axes were fitted on). */
  explained: [number, number];
}

/** The two principal axes a code map projects onto, fitted on a sample of the rows. */
export interface PrincipalAxes {
  mean: Float64Array;
  axes: [Float64Array, Float64Array];
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
  const { sample, random } = principalSample(rows, options);
  const X = new Float64Array(sample.length * dim);
  sample.forEach((r, s) => {
    for (let t = 0; t < dim; t++) X[s * dim + t] = data[r * dim + t]!;
  });
  const fitted = fitPrincipalAxes(X, sample.length, dim, random);
  const points = new Float32Array(rows * 2);
  projectRows(fitted, data, rows, dim, points);
  return { points, explained: fitted.explained };
}

/**
 * Which rows the axes are fitted on, in the order they are summed: a seeded shuffle's first `sampleSize`, and the
 * seeded sequence after the shuffle (it picks the fit's starting directions). A caller that cannot hold every row
 * reads just these (in this order) for `fitPrincipalAxes`, then projects every row in blocks (`projectRows`).
 */
export function principalSample(
  rows: number,
  options: { sampleSize?: number; seed?: number } = {},
): { sample: Int32Array; random: () => number } {
  const sampleSize = Math.min(rows, options.sampleSize ?? 2000);
  const random = mulberry32(options.seed ?? 0);
  const order = shuffleInPlace(
    Int32Array.from({ length: rows }, (_, i) => i),
    random,
  );
  return { sample: order.subarray(0, sampleSize), random };
}

/**
 * The axes of the sample rows (`sample`: rows × dim, in `principalSample` order, as float64; centred in place), with
 * `random` the sequence `principalSample` returned.
 */
export function fitPrincipalAxes(sample: Float64Array, rows: number, dim: number, random: () => number): PrincipalAxes {
  const mean = new Float64Array(dim);
  for (let s = 0; s < rows; s++) for (let t = 0; t < dim; t++) mean[t]! += sample[s * dim + t]! / rows;
  for (let s = 0; s < rows; s++) for (let t = 0; t < dim; t++) sample[s * dim + t]! -= mean[t]!;
  const X = sample;
  let total = 0;
  for (const v of X) total += v * v;

  const V = [randomUnit(dim, random), randomUnit(dim, random)];
  orthonormalize(V);
  let eigen = [0, 0];
  for (let iteration = 0; iteration < 100; iteration++) {
    const next = V.map((v) => covarianceTimes(X, rows, dim, v));
    const previous = V.map((v) => Float64Array.from(v));
    eigen = next.map((w, c) => dot(w, V[c]!));
    V[0] = next[0]!;
    V[1] = next[1]!;
    orthonormalize(V);
    // Converged when both directions stop turning (|cos| between iterates ≈ 1).
    if (Math.min(Math.abs(dot(V[0], previous[0]!)), Math.abs(dot(V[1], previous[1]!))) > 1 - 1e-7) break;
  }
  return {
    mean,
    axes: [V[0]!, V[1]!],
    explained: [total > 0 ? eigen[0]! / total : 0, total > 0 ? eigen[1]! / total : 0],
  };
}

/** x, y of each of `rows` rows of `data` into `points` (2 per row), from row `offset` of `points` on. */
export function projectRows(
  fitted: PrincipalAxes,
  data: ArrayLike<number>,
  rows: number,
  dim: number,
  points: Float32Array,
  offset = 0,
): void {
  const { mean, axes } = fitted;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      const v = axes[c]!;
      for (let t = 0; t < dim; t++) s += (data[r * dim + t]! - mean[t]!) * v[t]!;
      points[(offset + r) * 2 + c] = s;
    }
  }
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
