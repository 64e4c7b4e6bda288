import type { UnreadableKind } from '../errors.js';

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
  list(prefix: string, options?: ListingOptions): AsyncIterable<BlobInfo>;
  delete(key: string): Promise<void>;
  /**
   * Bytes [start, end) of an object, so a large object can be read by several requests in parallel. Optional: a
   * store without it is read whole.
   */
  getRange?(key: string, start: number, end: number): Promise<Uint8Array>;
  /** One key's BlobInfo without reading it, or undefined when absent. Optional: stores that cannot say omit it. */
  info?(key: string): Promise<BlobInfo | undefined>;
}

export interface ListingOptions {
  /**
   * Ask whether each key can be read, for `unreadable` (default true). A caller that never looks at `unreadable` (the
   * code cache, which checks every shard it uses) saves a system call per file of a local folder.
   */
  checkReadable?: boolean;
}

export interface BlobInfo {
  key: string;
  size: number;
  /** Set when the key was found but cannot be read (a dangling symlink, a file without read permission, a FIFO). */
  unreadable?: { kind: UnreadableKind; message: string };
  /**
   * What identifies this version of the object without reading it, where the store can tell (a local file: size,
   * mtime, ctime and inode, as git's index keeps them). Equal versions mean equal bytes; absent means unknown.
   */
  version?: string;
  /** Last modification, ms since the epoch, where known: a version younger than the clock's grain is not trusted. */
  modifiedMs?: number;
  /** What the listing says identifies the object's bytes (S3: its ETag), where the store has one. */
  etag?: string;
}
