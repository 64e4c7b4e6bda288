import { OnnxGemm } from '../heads/onnx-gemm.js';
import { TopPairs, type NearDuplicateOptions, type SimilarPair } from './near-duplicates.js';

/** Rows of the first set per product, and of the second: a 1,024 × 4,096 block of cosines is 16 MB of float32 (each
 * block is a new output array, freed when the garbage collector gets to it: small blocks keep that churn small). */
const ROWS = 1024;
const COLS = 4096;

/** Rows of the second set per block when it is streamed (`similarPairsAcrossBlocks`): one GEMM's right operand. */
export const GEMM_SECOND_SET_ROWS = COLS;

/** A run of consecutive rows of the second set: rows [offset, offset + codes.length / dim), normalized. */
export interface RowBlock {
  offset: number;
  codes: Float32Array;
}

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
  if (b !== undefined) return similarPairsAcrossBlocks(a, dim, options, slices(b, dim, blocks.cols), blocks.rows);
  const n = a.length / dim;
  const kept = new TopPairs(n, true, options);
  if (n === 0) return [];
  const gemm = await OnnxGemm.create(new Float32Array(dim));
  try {
    for (let i0 = 0; i0 < n; i0 += blocks.rows) {
      const rows = Math.min(blocks.rows, n - i0);
      const block = a.subarray(i0 * dim, (i0 + rows) * dim);
      // Within one set only the blocks on or right of the diagonal hold pairs i < j.
      for (let j0 = i0; j0 < n; j0 += blocks.cols) {
        const cols = Math.min(blocks.cols, n - j0);
        const cosines = await gemm.scores(block, rows, a.subarray(j0 * dim, (j0 + cols) * dim), cols);
        offerBlock(kept, cosines, options.threshold, i0, rows, j0, cols, true);
      }
    }
  } finally {
    await gemm.release();
  }
  return kept.pairs();
}

/**
 * The pairs between `a` (in memory) and a second set that arrives as consecutive blocks of rows, read one at a time
 * (bench/scale: the 80 k train codes of a 100 k-image workspace streamed from the cache instead of held, 400 MB less).
 * Each block meets every block of `a` before the next is read; a row of `a` is still offered its partners in
 * increasing j, as with the second set in memory, and every product has the same operands, so the pairs are the same.
 */
export async function similarPairsAcrossBlocks(
  a: Float32Array,
  dim: number,
  options: NearDuplicateOptions,
  second: AsyncIterable<RowBlock> | Iterable<RowBlock>,
  rowsPerProduct = ROWS,
): Promise<SimilarPair[]> {
  const n = a.length / dim;
  const kept = new TopPairs(n, false, options);
  if (n === 0) return [];
  let gemm: OnnxGemm | undefined;
  try {
    for await (const { offset: j0, codes } of second) {
      const cols = codes.length / dim;
      if (cols === 0) continue;
      gemm ??= await OnnxGemm.create(new Float32Array(dim));
      for (let i0 = 0; i0 < n; i0 += rowsPerProduct) {
        const rows = Math.min(rowsPerProduct, n - i0);
        const cosines = await gemm.scores(a.subarray(i0 * dim, (i0 + rows) * dim), rows, codes, cols);
        offerBlock(kept, cosines, options.threshold, i0, rows, j0, cols, false);
      }
    }
  } finally {
    await gemm?.release();
  }
  return kept.pairs();
}

/** The cosines of rows [i0, i0 + rows) × [j0, j0 + cols) that reach the threshold, offered row by row. */
function offerBlock(
  kept: TopPairs,
  cosines: Float32Array,
  threshold: number,
  i0: number,
  rows: number,
  j0: number,
  cols: number,
  within: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const i = i0 + r;
    const base = r * cols;
    for (let c = within ? Math.max(0, i + 1 - j0) : 0; c < cols; c++) {
      const cosine = cosines[base + c]!;
      if (cosine >= threshold) kept.offer(i, j0 + c, cosine);
    }
  }
}

function* slices(b: Float32Array, dim: number, cols: number): Iterable<RowBlock> {
  for (let j0 = 0; j0 * dim < b.length; j0 += cols)
    yield { offset: j0, codes: b.subarray(j0 * dim, (j0 + cols) * dim) };
}
