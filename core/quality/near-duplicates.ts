/**
 * Near-duplicate search on CNN codes: pairs of rows whose cosine similarity reaches a threshold, at most `topK` per
 * row (the most similar first), so a folder of a thousand identical frames cannot make the output quadratic.
 *
 * Cost: one pass of blocked dot products over all pairs, n²·d/2 multiply-adds within one set (n·m·d across two),
 * on L2-normalized Float32 copies (4·n·d bytes); blocks of rows are sized so both sides stay in cache, and a 2×2
 * register tile loads each value once per four products. Memory beyond the copies: topK pairs per row.
 */

export interface SimilarPair {
  /** Row in the first set. */
  i: number;
  /** Row in the second set (the first set itself when no second is given; then always i < j). */
  j: number;
  cosine: number;
}

export interface NearDuplicateOptions {
  threshold: number;
  /** Most similar partners kept per row of the first set (default 10). */
  topK?: number;
  /**
   * Within one set: also measure each row's mean cosine to its `neighbours` most similar other rows, whatever the
   * threshold (an image that resembles nothing in the data set is an outlier). Costs a compare per pair, no extra pass.
   */
  neighbours?: number;
  /**
   * Whether a pair at or above the threshold is kept (e.g. confirmed by image signatures, core/quality/duplicates.ts):
   * asked before a row's top-k, so rejected pairs take no place among its partners. Rows as in the search.
   */
  accept?: (i: number, j: number, cosine: number) => boolean;
}

export interface SimilaritySearch {
  pairs: SimilarPair[];
  /** Per row: mean cosine to its `neighbours` nearest other rows (within one set, when asked). */
  neighbourSimilarity?: Float32Array;
}

/** Rows of a [rows, dim] float array scaled to unit length (an all-zero row stays zero and matches nothing). */
export function normalizedRows(data: ArrayLike<number>, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  normalizeRows(data, rows, dim, out);
  return out;
}

/**
 * The same scaling into `out`, which may be `data` itself: a Float32 [n, d] read from the cache is normalized where it
 * lies, so the whole dataset's analysis holds one copy of the codes (n·d·4 bytes), not three.
 */
export function normalizeRows(data: ArrayLike<number>, rows: number, dim: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let t = 0; t < dim; t++) sum += data[r * dim + t]! ** 2;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let t = 0; t < dim; t++) out[r * dim + t] = data[r * dim + t]! * scale;
  }
}

const BLOCK = 48;

/**
 * Pairs at or above `threshold` cosine, among the rows of `a` (when `b` is absent) or between `a` and `b`. Both are
 * normalized rows (see `normalizedRows`) of width `dim`.
 */
export function similarPairs(
  a: Float32Array,
  dim: number,
  options: NearDuplicateOptions,
  b?: Float32Array,
): SimilarPair[] {
  return searchSimilar(a, dim, options, b).pairs;
}

export function searchSimilar(
  a: Float32Array,
  dim: number,
  options: NearDuplicateOptions,
  b?: Float32Array,
): SimilaritySearch {
  const within = b === undefined;
  const other = b ?? a;
  const n = a.length / dim;
  const m = other.length / dim;
  const k = within ? Math.min(options.neighbours ?? 0, n - 1) : 0;
  // Each row's k best cosines, ascending, so the smallest (the one to beat) is first.
  const nearest = new Float32Array(n * k).fill(-Infinity);
  const offerNeighbour = (i: number, cosine: number) => offerNearest(nearest, k, i, cosine);
  const kept = new TopPairs(n, within, options);
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    for (let j0 = within ? i0 : 0; j0 < m; j0 += BLOCK) {
      const j1 = Math.min(m, j0 + BLOCK);
      for (let i = i0; i < i1; i += 2) {
        const hasI2 = i + 1 < i1;
        const x0 = i * dim;
        const x1 = (hasI2 ? i + 1 : i) * dim;
        // Within one set only j > i is computed; the pair is recorded for both rows below.
        for (let j = within ? Math.max(j0, i + 1) : j0; j < j1; j += 2) {
          const hasJ2 = j + 1 < j1;
          const y0 = j * dim;
          const y1 = (hasJ2 ? j + 1 : j) * dim;
          let s00 = 0;
          let s01 = 0;
          let s10 = 0;
          let s11 = 0;
          for (let t = 0; t < dim; t++) {
            const p0 = a[x0 + t]!;
            const p1 = a[x1 + t]!;
            const q0 = other[y0 + t]!;
            const q1 = other[y1 + t]!;
            s00 += p0 * q0;
            s01 += p0 * q1;
            s10 += p1 * q0;
            s11 += p1 * q1;
          }
          record(i, j, s00);
          if (hasJ2) record(i, j + 1, s01);
          if (hasI2) {
            record(i + 1, j, s10);
            if (hasJ2) record(i + 1, j + 1, s11);
          }
        }
      }
    }
  }
  // Within one set, a pair is found once (i < j) and offered to both rows' top-k; it is reported once.
  function record(i: number, j: number, cosine: number) {
    if (within && j <= i) return;
    if (k > 0) {
      offerNeighbour(i, cosine);
      offerNeighbour(j, cosine);
    }
    kept.offer(i, j, cosine);
  }
  const out = kept.pairs();
  if (k === 0) return { pairs: out };
  const neighbourSimilarity = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let r = 0; r < k; r++) sum += nearest[i * k + r]!;
    neighbourSimilarity[i] = sum / k;
  }
  return { pairs: out, neighbourSimilarity };
}

/**
 * The pairs a search keeps: per row of the first set its `topK` most similar partners at or above the threshold;
 * within one set a pair counts for both its rows and is reported once (i < j), most similar first.
 */
export class TopPairs {
  private readonly kept: SimilarPair[][];
  /** Per row, the cosine a pair must beat once its list is full (so the common case is one comparison). */
  private readonly floor: Float64Array;
  private readonly threshold: number;
  private readonly topK: number;
  private readonly accept: ((i: number, j: number, cosine: number) => boolean) | undefined;

  constructor(
    rows: number,
    private readonly within: boolean,
    options: NearDuplicateOptions,
  ) {
    this.kept = Array.from({ length: rows }, () => []);
    this.floor = new Float64Array(rows).fill(-Infinity);
    this.threshold = options.threshold;
    this.topK = options.topK ?? 10;
    this.accept = options.accept;
  }

  /** A pair's cosine; within one set called once per pair (i < j). */
  offer(i: number, j: number, cosine: number): void {
    if (!(cosine >= this.threshold) || (this.accept && !this.accept(i, j, cosine))) return;
    this.keep(i, j, cosine);
    if (this.within) this.keep(j, i, cosine);
  }

  pairs(): SimilarPair[] {
    const seen = new Set<string>();
    const out: SimilarPair[] = [];
    for (const list of this.kept) {
      for (const p of list) {
        const pair = this.within && p.j < p.i ? { i: p.j, j: p.i, cosine: p.cosine } : p;
        const id = `${pair.i},${pair.j}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(pair);
      }
    }
    return out.sort((p, q) => q.cosine - p.cosine || p.i - q.i || p.j - q.j);
  }

  private keep(i: number, j: number, cosine: number): void {
    if (!(cosine >= this.threshold) || !(cosine > this.floor[i]!) || (i === j && this.within)) return;
    const list = this.kept[i]!;
    if (list.length < this.topK) {
      list.push({ i, j, cosine });
      if (list.length === this.topK) this.floor[i] = Math.min(...list.map((p) => p.cosine));
      return;
    }
    let worst = 0;
    for (let w = 1; w < list.length; w++) if (list[w]!.cosine < list[worst]!.cosine) worst = w;
    list[worst] = { i, j, cosine };
    this.floor[i] = Math.min(...list.map((p) => p.cosine));
  }
}

/**
 * Offers `cosine` to row `i`'s k best, kept ascending in `nearest[i·k … i·k+k)` so the one to beat is first: an
 * insertion that shifts the smaller ones down.
 */
export function offerNearest(nearest: Float32Array, k: number, i: number, cosine: number): void {
  let at = i * k;
  if (!(cosine > nearest[at]!)) return;
  const end = at + k - 1;
  while (at < end && nearest[at + 1]! < cosine) {
    nearest[at] = nearest[at + 1]!;
    at++;
  }
  nearest[at] = cosine;
}
