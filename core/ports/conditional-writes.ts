import type { BlobStore } from './blob-store.js';

/** An object's bytes with the version a conditional write must name to replace it (S3: its ETag). */
export interface VersionedObject {
  body: Uint8Array;
  version: string;
}

/**
 * Compare-and-swap on one key: the primitive behind the join's counters, which keep a run's coordination to O(1)
 * requests per shard instead of a listing that grows with the run. S3: GET's ETag, then PUT with If-Match (or
 * If-None-Match: * to create); S3 lets exactly one of concurrent writers naming the same version win.
 */
export interface ConditionalWrites {
  getVersioned(key: string): Promise<VersionedObject | undefined>;
  /**
   * Writes `body` only if the object is still at `expected` (undefined: only if it does not exist yet). Returns false,
   * writing nothing, when another writer got there first: read again and retry.
   */
  putIfVersion(key: string, body: Uint8Array | string, expected: string | undefined): Promise<boolean>;
}

export type VersionedBlobStore = BlobStore & ConditionalWrites;

export function hasConditionalWrites(store: BlobStore): store is VersionedBlobStore {
  const s = store as Partial<ConditionalWrites>;
  return typeof s.getVersioned === 'function' && typeof s.putIfVersion === 'function';
}
