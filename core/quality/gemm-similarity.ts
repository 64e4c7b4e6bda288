import { OnnxGemm } from '../heads/onnx-gemm.js';
import { TopPairs, type NearDuplicateOptions, type SimilarPair } from './near-duplicates.js';

/** Rows of the first set per product, and of the second: a 1,024 × 4,096 block of cosines is 16 MB of float32 (each
 * block is a new output array, freed when the garbage collector gets to it: small blocks keep that churn small). */
const ROWS = 1024;
const COLS = 4096;

/**
 * `similarPairs` with the dot products done by onnxruntime's SGEMM on every core, for sets where the JavaScript loop
 * would take minutes: held-out × train at 20 k × 80 k × 1,280 is 2·10¹² multiply-adds, about 20 minutes in the blocked
 * loop on two cores and about a minute as GEMMs (bench/data-quality.ts). Same pairs, same order; cosines are summed in
 * float32 (the loop sums in float64), which moves a pair within ~1e-6 of the threshold at most. No neighbour
 * similarities: the outlier score stays with the in-memory search of the train step.
 */
export async function similarPairsByGemm(
  a: Float32Array,
  dim: number,
  options: NearDuplicateOptions,
  b?: Float32Array,
  blocks = { rows: ROWS, cols: COLS },
): Promise<SimilarPair[]> {
  const within = b === undefined;
  const other = b ?? a;
  const n = a.length / dim;
  const m = other.length / dim;
  const kept = new TopPairs(n, within, options);
  if (n === 0 || m === 0) return [];
  const gemm = await OnnxGemm.create(new Float32Array(dim));
  try {
    for (let i0 = 0; i0 < n; i0 += blocks.rows) {
      const rows = Math.min(blocks.rows, n - i0);
      const block = a.subarray(i0 * dim, (i0 + rows) * dim);
      // Within one set only the blocks on or right of the diagonal hold pairs i < j.
      for (let j0 = within ? i0 : 0; j0 < m; j0 += blocks.cols) {
        const cols = Math.min(blocks.cols, m - j0);
        const cosines = await gemm.scores(block, rows, other.subarray(j0 * dim, (j0 + cols) * dim), cols);
        for (let r = 0; r < rows; r++) {
          const i = i0 + r;
          const base = r * cols;
          for (let c = within ? Math.max(0, i + 1 - j0) : 0; c < cols; c++) {
            const cosine = cosines[base + c]!;
            if (cosine >= options.threshold) kept.offer(i, j0 + c, cosine);
          }
        }
      }
    }
  } finally {
    await gemm.release();
  }
  return kept.pairs();
}
