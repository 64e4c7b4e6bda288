import { NotFoundError } from '../errors.js';
import type { BlobStore } from '../ports/blob-store.js';
import { decorate } from '../util/decorate.js';

/**
 * An image deleted between planning and extraction is a reject, not a failed shard: it reads as 0 bytes, which the
 * embedder rejects as empty (a true fact about 0 bytes, safe to cache), and the reason is corrected to "missing".
 * Every other capability of the store (ranged reads, `info`, conditional writes) is kept as it is.
 */
export function tolerateMissing(store: BlobStore): { data: BlobStore; missing: Set<string> } {
  const missing = new Set<string>();
  const data = decorate(store, {
    get: async (key) => {
      try {
        return await store.get(key);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        missing.add(key);
        return new Uint8Array(0);
      }
    },
  });
  return { data, missing };
}
