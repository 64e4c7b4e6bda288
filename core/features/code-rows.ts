import { DataError } from '../errors.js';
import { inMemoryRows, labelCount, type RowSource } from '../heads/row-source.js';
import { positionsByShard, type CodeLocation, type FeatureStore, type NamespaceInfo } from './feature-store.js';

/** Cached codes as a RowSource, plus which entry each of its rows is. */
export interface CachedRows {
  source: RowSource;
  /** order[r] = index into the locations of the source's row r (shard order). */
  order: Int32Array;
}

/**
 * Codes up to this many bytes are read once and served from memory on every later pass: a cache in S3 is then read
 * once per fit instead of once per L-BFGS pass (a 3,000-image run made 4,400 GETs that way). Above it each pass reads
 * the shards again, which is what bounds memory at a million images.
 */
export const RESIDENT_CODES_BYTES = 128 * 2 ** 20;

/**
 * The codes at `locations` streamed from the cache in shard order (each pass reads every shard again, a few at a time,
 * and copies rows into one `chunkRows`-row buffer), with `labels[i]` the label of location i. Memory: the buffer
 * (chunkRows · dim · 4 bytes), the shards being read ahead, and 8 bytes a row (the order and the labels in it), never
 * the codes of every row: what lets a head be trained on more codes than fit in memory. Codes within `residentBytes`
 * are kept after the first whole pass, and later passes read nothing.
 */
export function cachedRows(
  features: FeatureStore,
  ns: NamespaceInfo,
  locations: readonly CodeLocation[],
  labels: Int32Array,
  chunkRows = 8192,
  residentBytes = RESIDENT_CODES_BYTES,
): CachedRows {
  if (labels.length !== locations.length)
    throw new DataError(`${labels.length} labels for ${locations.length} code locations`);
  const order = Int32Array.from(positionsByShard(locations).flatMap(([, positions]) => positions));
  const y = Int32Array.from(order, (position) => labels[position]!);
  const dim = ns.dim;
  const n = y.length;
  const keep = n * dim * 4 <= residentBytes;
  // After a whole pass within the budget: the rows in memory, handed out as views.
  let resident: RowSource | undefined;
  const source: RowSource = {
    n,
    dim,
    classes: labelCount(y),
    async *chunks() {
      if (resident) {
        yield* resident.chunks();
        return;
      }
      const all = keep ? new Float32Array(n * dim) : undefined;
      const X = new Float32Array(Math.min(chunkRows, Math.max(n, 1)) * dim);
      let offset = 0;
      let filled = 0;
      for await (const chunk of features.chunksInShardOrder(ns, locations)) {
        for (let r = 0; r < chunk.positions.length; r++) {
          if (chunk.positions[r] !== order[offset + filled])
            throw new DataError(`cached rows came out of shard order at row ${offset + filled}`);
          X.set(chunk.codes.subarray(r * dim, (r + 1) * dim), filled * dim);
          if (++filled === chunkRows) {
            all?.set(X, offset * dim);
            yield { offset, rows: filled, X, y: y.subarray(offset, offset + filled) };
            offset += filled;
            filled = 0;
          }
        }
      }
      if (filled > 0) {
        all?.set(X.subarray(0, filled * dim), offset * dim);
        yield { offset, rows: filled, X, y: y.subarray(offset, offset + filled) };
      }
      // Only a pass that reached the end holds every row.
      if (all && offset + filled === n) resident = inMemoryRows(all, y, dim, chunkRows);
    },
  };
  return { source, order };
}
