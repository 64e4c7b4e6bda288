/**
 * Where datasets, feature caches and artefacts live: a local folder or an S3 prefix. Keys are '/'-separated and
 * relative to the store's root. Every write is atomic: a reader sees the old object or the new one, never a part.
 */
export interface BlobStore {
  /** A human-readable location ("file:///x/y", "s3://bucket/prefix") for messages and reports. */
  readonly location: string;
  get(key: string): Promise<Uint8Array>;
  /** Reads JSON, or returns undefined when the key does not exist. */
  getJson<T>(key: string): Promise<T | undefined>;
  put(key: string, body: Uint8Array | string): Promise<void>;
  /**
   * Writes only if the key does not exist yet; returns false (and writes nothing) if it does. This is the primitive
   * that gives exactly-once effects under concurrency and redelivery (S3: If-None-Match: *, fs: O_EXCL link).
   */
  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean>;
  exists(key: string): Promise<boolean>;
  /** Lists keys under a prefix in lexicographic order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  delete(key: string): Promise<void>;
}

export interface BlobInfo {
  key: string;
  size: number;
  /** What the listing says identifies the object's bytes (S3: its ETag), where the store has one. */
  etag?: string;
}
