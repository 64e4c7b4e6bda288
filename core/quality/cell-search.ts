import type { CodeLocation, FeatureStore, NamespaceInfo } from '../features/feature-store.js';
import { OnnxGemm } from '../heads/onnx-gemm.js';
import { mulberry32, shuffleInPlace } from '../heads/prng.js';
import type { RowBlock } from './gemm-similarity.js';
import { normalizeRows, offerNearest, TopPairs, type SimilarPair } from './near-duplicates.js';

/**
 * Near-duplicate search at any n: an inverted-file index (IVF) whose every product is a GEMM on onnxruntime.
 *
 * 1. Spherical k-means on a seeded sample puts L = ⌈n / cellRows⌉ unit centroids on the codes.
 * 2. One pass over the rows (in blocks, as they stream) gives each row its `probes` most similar centroids: the first
 *    is its own cell, the others are cells it is also compared in.
 * 3. Cell by cell, the rows of the cell are compared with each other and with the rows that probe it, exactly (one
 *    GEMM per tile). Cells are taken in batches whose rows fit `budgetBytes`, read from the reader for that batch only.
 *
 * Two rows meet when they share a cell or one probes the other's: a near-duplicate pair (cosine ≥ 0.88) nearly always
 * does, and bench/data-quality.ts measures the recall against exact search. With n ≤ cellRows there is one cell and
 * the search is exact. Cost: s·L·d·iterations (k-means) + n·L·d (assignment) + about probes·n·cellRows·d (cells),
 * against n²·d/2 exact; memory: `probes` ints a row, the neighbour table, the kept pairs, one batch of codes.
 */
export interface RowReader {
  readonly rows: number;
  readonly dim: number;
  /** Every row once, in consecutive blocks (offset = first row), in any float scale: normalized here. */
  blocks(blockRows: number): AsyncIterable<RowBlock>;
  /** The given rows (ascending), in that order, as one [rows.length, dim] array (normalized here). */
  read(rows: Int32Array): Promise<Float32Array>;
}

export interface CellSearchOptions {
  threshold: number;
  /** Whether a pair at or above the threshold is kept (see NearDuplicateOptions.accept); rows as the reader's. */
  accept?: (i: number, j: number, cosine: number) => boolean;
  /** Partners kept per row, the most similar first (default 10). */
  topK?: number;
  /** Also the mean cosine to each row's `neighbours` most similar rows met (the outlier score); 0 = none. */
  neighbours?: number;
  /** Target rows per cell (default 1,000). */
  cellRows?: number;
  /** Cells each row is compared in (its own and the next most similar; default 3). */
  probes?: number;
  /** Bytes of codes held at once for a batch of cells (default SEARCH_BATCH_BYTES). */
  budgetBytes?: number;
  seed?: number;
  /** onnxruntime intra-op threads (default: every core). */
  threads?: number;
}

export interface CellSearch {
  pairs: SimilarPair[];
  neighbourSimilarity?: Float32Array;
  cells: number;
  /** Pairs of rows whose cosine was computed (the exact search computes n(n−1)/2). */
  compared: number;
}

/**
 * Codes held at once for a batch of cells. The search runs inside `cnn-codes run` after extraction, whose process
 * then already holds about 650 MiB at 100 k images (bench/data-quality.ts --one-process); at 192 MiB a batch the
 * train step's search took that process to 1,001 MiB. The GEMMs are the same whatever the batch; a smaller batch only
 * reads rows that probe cells of two batches twice.
 */
export const SEARCH_BATCH_BYTES = 64 * 2 ** 20;

const TILE_ROWS = 1024;
const TILE_COLS = 4096;
const KMEANS_ITERATIONS = 8;
/** Sample rows per centroid for k-means (and at least this many rows in all, when there are). */
const SAMPLE_PER_CELL = 32;
const SAMPLE_MIN = 10_000;

export async function searchByCells(reader: RowReader, options: CellSearchOptions): Promise<CellSearch> {
  const n = reader.rows;
  const d = reader.dim;
  const cellRows = options.cellRows ?? 1000;
  const cells = Math.max(1, Math.ceil(n / cellRows));
  const probes = Math.min(options.probes ?? 3, cells);
  const k = Math.min(options.neighbours ?? 0, Math.max(0, n - 1));
  const kept = new TopPairs(n, true, {
    threshold: options.threshold,
    topK: options.topK ?? 10,
    ...(options.accept ? { accept: options.accept } : {}),
  });
  const nearest = new Float32Array(n * k).fill(-Infinity);
  if (n === 0) return { pairs: [], cells: 0, compared: 0 };
  const gemm = await OnnxGemm.create(new Float32Array(d), options.threads);
  try {
    // 1–2: centroids and each row's cells.
    const cellOf = new Int32Array(n * probes);
    if (cells === 1) cellOf.fill(0);
    else {
      const { centroids, mean } = await kMeans(reader, gemm, cells, options.seed ?? 0);
      // Rows are assigned by their direction from the codes' mean (the GEMM subtracts it), as the centroids were fitted.
      const centred = await OnnxGemm.create(mean, options.threads);
      try {
        for await (const block of reader.blocks(TILE_COLS)) {
          const rows = block.codes.length / d;
          normalizeRows(block.codes, rows, d, block.codes);
          const scores = await centred.scores(block.codes, rows, centroids, cells);
          for (let r = 0; r < rows; r++)
            topCells(scores, r * cells, cells, probes, cellOf, (block.offset + r) * probes);
        }
      } finally {
        await centred.release();
      }
    }
    // Members by cell (CSR): own rows, then the rows that probe it.
    const own = membersByCell(cellOf, n, probes, cells, true);
    const visiting = membersByCell(cellOf, n, probes, cells, false);
    const probesCell = (row: number, cell: number) => {
      for (let p = 1; p < probes; p++) if (cellOf[row * probes + p] === cell) return true;
      return false;
    };
    let compared = 0;
    const offerNeighbour = (i: number, cosine: number) => offerNearest(nearest, k, i, cosine);
    const offer = (a: number, b: number, cosine: number) => {
      if (k > 0) {
        offerNeighbour(a, cosine);
        offerNeighbour(b, cosine);
      }
      if (cosine >= options.threshold) kept.offer(Math.min(a, b), Math.max(a, b), cosine);
    };
    // 3: batches of cells within the budget.
    const budgetRows = Math.max(TILE_COLS, Math.floor((options.budgetBytes ?? SEARCH_BATCH_BYTES) / (4 * d)));
    for (let c0 = 0; c0 < cells;) {
      let c1 = c0;
      let size = 0;
      while (c1 < cells) {
        const add = own.size(c1) + visiting.size(c1);
        if (c1 > c0 && size + add > budgetRows) break;
        size += add;
        c1++;
      }
      const wanted = new Set<number>();
      for (let c = c0; c < c1; c++) {
        for (const r of own.of(c)) wanted.add(r);
        for (const r of visiting.of(c)) wanted.add(r);
      }
      const rows = Int32Array.from(wanted).sort();
      const codes = await reader.read(rows);
      normalizeRows(codes, rows.length, d, codes);
      const at = new Map<number, number>();
      rows.forEach((r, i) => at.set(r, i));
      const gather = (members: Int32Array) => {
        const out = new Float32Array(members.length * d);
        members.forEach((r, i) => out.set(codes.subarray(at.get(r)! * d, (at.get(r)! + 1) * d), i * d));
        return out;
      };
      for (let c = c0; c < c1; c++) {
        const mine = own.of(c);
        if (mine.length === 0) continue;
        const visitors = visiting.of(c);
        const X = gather(mine);
        const V = visitors.length > 0 ? gather(visitors) : undefined;
        for (let i0 = 0; i0 < mine.length; i0 += TILE_ROWS) {
          const rowsHere = Math.min(TILE_ROWS, mine.length - i0);
          const block = X.subarray(i0 * d, (i0 + rowsHere) * d);
          // Within the cell: tiles on or right of the diagonal, pairs i < j.
          for (let j0 = i0; j0 < mine.length; j0 += TILE_COLS) {
            const cols = Math.min(TILE_COLS, mine.length - j0);
            const s = await gemm.scores(block, rowsHere, X.subarray(j0 * d, (j0 + cols) * d), cols);
            for (let r = 0; r < rowsHere; r++)
              for (let q = Math.max(0, i0 + r + 1 - j0); q < cols; q++) {
                compared++;
                offer(mine[i0 + r]!, mine[j0 + q]!, s[r * cols + q]!);
              }
          }
          // Against the visitors: a pair met in both rows' cells (each probes the other's) is taken once.
          if (!V) continue;
          for (let j0 = 0; j0 < visitors.length; j0 += TILE_COLS) {
            const cols = Math.min(TILE_COLS, visitors.length - j0);
            const s = await gemm.scores(block, rowsHere, V.subarray(j0 * d, (j0 + cols) * d), cols);
            for (let r = 0; r < rowsHere; r++) {
              const a = mine[i0 + r]!;
              for (let q = 0; q < cols; q++) {
                const b = visitors[j0 + q]!;
                if (b === a) continue;
                if (probesCell(a, cellOf[b * probes]!) && b < a) continue;
                compared++;
                offer(a, b, s[r * cols + q]!);
              }
            }
          }
        }
      }
      c0 = c1;
    }
    const pairs = kept.pairs();
    if (k === 0) return { pairs, cells, compared };
    const neighbourSimilarity = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      let met = 0;
      for (let r = 0; r < k; r++) {
        const v = nearest[i * k + r]!;
        if (v > -Infinity) {
          sum += v;
          met++;
        }
      }
      neighbourSimilarity[i] = met > 0 ? sum / met : 0;
    }
    return { pairs, neighbourSimilarity, cells, compared };
  } finally {
    await gemm.release();
  }
}

/**
 * Spherical k-means on a seeded sample, on the rows' directions from their mean: unit centroids, rows assigned by the
 * largest dot product. Codes of a ReLU network are non-negative and share a large common direction; without the
 * centring a few centroids near that direction are among every row's nearest ("hubs") and the cells they head are
 * probed by most rows, which made the search cost almost as much as the exact one.
 */
async function kMeans(
  reader: RowReader,
  gemm: OnnxGemm,
  cells: number,
  seed: number,
): Promise<{ centroids: Float32Array; mean: Float32Array }> {
  const n = reader.rows;
  const d = reader.dim;
  const random = mulberry32(seed);
  const order = shuffleInPlace(
    Int32Array.from({ length: n }, (_, i) => i),
    random,
  );
  const s = Math.min(n, Math.max(SAMPLE_MIN, cells * SAMPLE_PER_CELL));
  const sampleRows = order.slice(0, s).sort();
  const sample = await reader.read(sampleRows);
  normalizeRows(sample, s, d, sample);
  const mean = new Float32Array(d);
  for (let i = 0; i < s; i++) for (let t = 0; t < d; t++) mean[t]! += sample[i * d + t]! / s;
  for (let i = 0; i < s; i++) for (let t = 0; t < d; t++) sample[i * d + t]! -= mean[t]!;
  normalizeRows(sample, s, d, sample);
  // Start from `cells` distinct sample rows (a seeded pick).
  const picks = shuffleInPlace(
    Int32Array.from({ length: s }, (_, i) => i),
    random,
  ).subarray(0, cells);
  const centroids = new Float32Array(cells * d);
  picks.forEach((r, c) => centroids.set(sample.subarray(r * d, (r + 1) * d), c * d));
  const assigned = new Int32Array(s);
  const best = new Int32Array(1);
  for (let iteration = 0; iteration < KMEANS_ITERATIONS; iteration++) {
    for (let i0 = 0; i0 < s; i0 += TILE_ROWS) {
      const rows = Math.min(TILE_ROWS, s - i0);
      const scores = await gemm.scores(sample.subarray(i0 * d, (i0 + rows) * d), rows, centroids, cells);
      for (let r = 0; r < rows; r++) {
        topCells(scores, r * cells, cells, 1, best, 0);
        assigned[i0 + r] = best[0]!;
      }
    }
    const sums = new Float64Array(cells * d);
    const counts = new Int32Array(cells);
    for (let i = 0; i < s; i++) {
      const c = assigned[i]!;
      counts[c]!++;
      for (let t = 0; t < d; t++) sums[c * d + t]! += sample[i * d + t]!;
    }
    for (let c = 0; c < cells; c++) {
      // An empty cell restarts on a random sample row.
      if (counts[c] === 0) {
        const r = Math.floor(random() * s);
        for (let t = 0; t < d; t++) sums[c * d + t] = sample[r * d + t]!;
      }
      let norm = 0;
      for (let t = 0; t < d; t++) norm += sums[c * d + t]! ** 2;
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let t = 0; t < d; t++) centroids[c * d + t] = sums[c * d + t]! * scale;
    }
  }
  return { centroids, mean };
}

/** The `count` highest of scores[from .. from + cells), best first, into out[at ..]. */
function topCells(scores: Float32Array, from: number, cells: number, count: number, out: Int32Array, at: number) {
  const bestScore = new Float64Array(count).fill(-Infinity);
  for (let c = 0; c < cells; c++) {
    const v = scores[from + c]!;
    if (!(v > bestScore[count - 1]!)) continue;
    let p = count - 1;
    while (p > 0 && bestScore[p - 1]! < v) {
      bestScore[p] = bestScore[p - 1]!;
      out[at + p] = out[at + p - 1]!;
      p--;
    }
    bestScore[p] = v;
    out[at + p] = c;
  }
}

/** Rows by cell, ascending: by their own (first) cell, or by the cells they probe (the others). */
function membersByCell(cellOf: Int32Array, n: number, probes: number, cells: number, ownCell: boolean) {
  const start = new Int32Array(cells + 1);
  const each = (visit: (row: number, cell: number) => void) => {
    for (let i = 0; i < n; i++) {
      if (ownCell) visit(i, cellOf[i * probes]!);
      else for (let p = 1; p < probes; p++) visit(i, cellOf[i * probes + p]!);
    }
  };
  each((_, c) => start[c + 1]!++);
  for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
  const rows = new Int32Array(start[cells]!);
  const fill = start.slice(0, cells);
  each((i, c) => {
    rows[fill[c]!++] = i;
  });
  return {
    size: (c: number) => start[c + 1]! - start[c]!,
    of: (c: number) => rows.subarray(start[c]!, start[c + 1]!),
  };
}

/** A RowReader over codes already in memory ([rows, dim]); reads are copies, so normalizing them leaves `data` as is. */
export function memoryRows(data: Float32Array, dim: number): RowReader {
  const rows = data.length / dim;
  return {
    rows,
    dim,
    async *blocks(blockRows) {
      for (let o = 0; o < rows; o += blockRows)
        yield { offset: o, codes: data.slice(o * dim, Math.min(rows, o + blockRows) * dim) };
    },
    read(wanted) {
      const out = new Float32Array(wanted.length * dim);
      wanted.forEach((r, i) => out.set(data.subarray(r * dim, (r + 1) * dim), i * dim));
      return Promise.resolve(out);
    },
  };
}

/** The cached codes at `locations` as a RowReader: blocks in order, and reads of chosen rows (grouped by shard). */
export function cachedRowReader(
  features: FeatureStore,
  ns: NamespaceInfo,
  locations: readonly CodeLocation[],
  blockRows = TILE_COLS,
): RowReader {
  return {
    rows: locations.length,
    dim: ns.dim,
    blocks: (rows) => features.readCodesInBlocks(ns, locations, rows ?? blockRows),
    read: (rows) =>
      features.readCodes(
        ns,
        Array.from(rows, (r) => locations[r]!),
      ),
  };
}
