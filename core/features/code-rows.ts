import { DataError } from '../errors.js';
import { labelCount, type RowSource } from '../heads/row-source.js';
import { positionsByShard, type CodeLocation, type FeatureStore, type NamespaceInfo } from './feature-store.js';

/** Cached codes as a RowSource, plus which entry each of its rows is. */
export interface CachedRows {
  source: RowSource;
  /** order[r] = index into the locations of the source's row r (shard order). */
  order: Int32Array;
}

/**
 * The codes at `locations` streamed from the cache in shard order (each pass reads every shard again, a few at a time,
 * and copies rows into one `chunkRows`-row buffer), with `labels[i]` the label of location i. Memory: the buffer
 * (chunkRows · dim · 4 bytes), the shards being read ahead, and 8 bytes a row (the order and the labels in it), never
 * the codes of every row: what lets a head be trained on more codes than fit in memory.
 */
export function cachedRows(
  features: FeatureStore,
  ns: NamespaceInfo,
  locations: readonly CodeLocation[],
  labels: Int32Array,
  chunkRows = 8192,
): CachedRows {
  if (labels.length !== locations.length)
    throw new DataError(`${labels.length} labels for ${locations.length} code locations`);
  const order = Int32Array.from(positionsByShard(locations).flatMap(([, positions]) => positions));
  const y = Int32Array.from(order, (position) => labels[position]!);
  const dim = ns.dim;
  const n = y.length;
  const source: RowSource = {
    n,
    dim,
    classes: labelCount(y),
    async *chunks() {
      const X = new Float32Array(Math.min(chunkRows, Math.max(n, 1)) * dim);
      let offset = 0;
      let filled = 0;
      for await (const chunk of features.chunksInShardOrder(ns, locations)) {
        for (let r = 0; r < chunk.positions.length; r++) {
          if (chunk.positions[r] !== order[offset + filled])
            throw new DataError(`cached rows came out of shard order at row ${offset + filled}`);
          X.set(chunk.codes.subarray(r * dim, (r + 1) * dim), filled * dim);
          if (++filled === chunkRows) {
            yield { offset, rows: filled, X, y: y.subarray(offset, offset + filled) };
            offset += filled;
            filled = 0;
          }
        }
      }
      if (filled > 0) yield { offset, rows: filled, X, y: y.subarray(offset, offset + filled) };
    },
  };
  return { source, order };
}
