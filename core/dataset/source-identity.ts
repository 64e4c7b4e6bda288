import { createHash } from 'node:crypto';
import type { BlobInfo, BlobStore } from '../ports/blob-store.js';
import { decorate } from '../util/decorate.js';

/**
 * A dataset object's identity as a listing or an S3 notice names it (ETag and size), and what it lets a reader know
 * without reading: the planner and ingest record it, a worker confirms it against the bytes it read.
 */

/** `etag/size`, the ETag without its quotes; undefined when the listing gives no ETag. */
export function identityOf(blob: Pick<BlobInfo, 'etag' | 'size'>): string | undefined {
  return blob.etag && blob.size >= 0 ? `${blob.etag.replace(/"/g, '')}/${blob.size}` : undefined;
}

/**
 * Whether `bytes` are the object an identity names: its size, and its ETag as the MD5 of the bytes (what S3 gives a
 * single-part upload). A multipart ETag ("…-N") cannot be checked this way and is not trusted. A notice or listing
 * that is stale (the object was replaced before it was read) fails the check, so no identity is recorded wrongly.
 */
export function bytesMatchSource(source: string, bytes: Uint8Array): boolean {
  const slash = source.lastIndexOf('/');
  const etag = source.slice(0, slash);
  if (Number(source.slice(slash + 1)) !== bytes.byteLength || !/^[0-9a-f]{32}$/.test(etag)) return false;
  return createHash('md5').update(bytes).digest('hex') === etag;
}

/**
 * The store, with every listed object's info kept by key (the planner lists once and needs the ETags); its other
 * capabilities are kept as they are.
 */
export function recordListing(store: BlobStore): { store: BlobStore; listed: Map<string, BlobInfo> } {
  const listed = new Map<string, BlobInfo>();
  const recording = decorate(store, {
    list: async function* (prefix, options) {
      for await (const blob of store.list(prefix, options)) {
        listed.set(blob.key, blob);
        yield blob;
      }
    },
  });
  return { store: recording, listed };
}
