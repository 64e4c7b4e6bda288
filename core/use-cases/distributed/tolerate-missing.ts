import { NotFoundError } from '../../errors.js';
import type { BlobStore } from '../../ports/blob-store.js';

/**
 * An image deleted between planning and extraction is a reject, not a failed shard: it reads as 0 bytes, which the
 * embedder rejects as empty (a true fact about 0 bytes, safe to cache), and the reason is corrected to "missing".
 */
export function tolerateMissing(store: BlobStore): { data: BlobStore; missing: Set<string> } {
  const missing = new Set<string>();
  const data: BlobStore = {
    location: store.location,
    get: async (key) => {
      try {
        return await store.get(key);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        missing.add(key);
        return new Uint8Array(0);
      }
    },
    getJson: (key) => store.getJson(key),
    put: (key, body) => store.put(key, body),
    putIfAbsent: (key, body) => store.putIfAbsent(key, body),
    exists: (key) => store.exists(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
  };
  return { data, missing };
}
