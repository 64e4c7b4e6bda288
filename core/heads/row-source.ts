import { ConfigError } from '../errors.js';

/**
 * Labelled float32 rows, read in chunks in a fixed order (shard order): what a head needs to be fitted without holding
 * the whole training set. Every pass yields the same rows in the same order; `offset` is the index of the chunk's
 * first row, so per-row state (a fold number, a sample weight) lives in arrays of length n.
 */
export interface RowSource {
  readonly n: number;
  readonly dim: number;
  /** Labels are 0..classes−1. */
  readonly classes: number;
  chunks(): AsyncIterable<RowChunk>;
}

export interface RowChunk {
  offset: number;
  rows: number;
  /** rows × dim, row-major; valid only until the iteration moves on (sources reuse buffers). */
  X: Float32Array;
  y: Int32Array;
}

/** Rows already in memory, handed out as views of at most `chunkRows` rows (no copies). */
export function inMemoryRows(X: Float32Array, y: Int32Array, dim: number, chunkRows = 8192): RowSource {
  const n = y.length;
  if (X.length !== n * dim)
    throw new ConfigError(`codes have ${X.length} values but ${n} labels × ${dim} dims = ${n * dim}`);
  const classes = labelCount(y);
  return {
    n,
    dim,
    classes,
    async *chunks() {
      for (let offset = 0; offset < n; offset += chunkRows) {
        const rows = Math.min(chunkRows, n - offset);
        yield {
          offset,
          rows,
          X: X.subarray(offset * dim, (offset + rows) * dim),
          y: y.subarray(offset, offset + rows),
        };
      }
    },
  };
}

/** One shard of a streamed source: its row count is known up front, its rows are read when the pass reaches it. */
export interface RowShard {
  rows: number;
  /** Reads rows [start, start + count) of the shard (float32, row-major). */
  read(start: number, count: number): Promise<Float32Array>;
}

/**
 * Rows streamed from shards in order, `chunkRows` at a time, with the next chunk's read started while the current one
 * is being used. Memory: two chunks of rows (2 · chunkRows · dim · 4 bytes) plus the labels (4 bytes a row), whatever n.
 */
export function streamedRows(shards: readonly RowShard[], y: Int32Array, dim: number, chunkRows = 8192): RowSource {
  const n = shards.reduce((s, shard) => s + shard.rows, 0);
  if (n !== y.length) throw new ConfigError(`shards hold ${n} rows but there are ${y.length} labels`);
  const classes = labelCount(y);
  const pieces: Array<{ shard: RowShard; start: number; count: number; offset: number }> = [];
  let offset = 0;
  for (const shard of shards) {
    for (let start = 0; start < shard.rows; start += chunkRows) {
      const count = Math.min(chunkRows, shard.rows - start);
      pieces.push({ shard, start, count, offset });
      offset += count;
    }
  }
  return {
    n,
    dim,
    classes,
    async *chunks() {
      let pending = pieces.length > 0 ? pieces[0]!.shard.read(pieces[0]!.start, pieces[0]!.count) : null;
      for (let p = 0; p < pieces.length; p++) {
        const piece = pieces[p]!;
        const X = await pending!;
        if (X.length !== piece.count * dim)
          throw new ConfigError(`a shard read returned ${X.length} values for ${piece.count} rows × ${dim}`);
        const after = pieces[p + 1];
        pending = after ? after.shard.read(after.start, after.count) : null;
        yield { offset: piece.offset, rows: piece.count, X, y: y.subarray(piece.offset, piece.offset + piece.count) };
      }
    },
  };
}

/** Number of classes (largest label + 1), after checking every label is an integer ≥ 0. */
export function labelCount(y: Int32Array): number {
  let max = -1;
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (!(label >= 0) || !Number.isInteger(label))
      throw new ConfigError(`labels must be integers 0..k−1; found ${label} at row ${i}`);
    if (label > max) max = label;
  }
  return max + 1;
}
