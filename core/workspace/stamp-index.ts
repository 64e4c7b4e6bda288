/**
 * git's index, generalised: a value derived from a file's bytes (an image's content hash, a shard's verified
 * checksum) is remembered beside the file's version (size, mtime, ctime, inode), and trusted again while the version
 * is unchanged, so a re-run reads no unchanged file. `cnn-codes run --verify` ignores it and reads everything.
 *
 * Synchronous on purpose: a lookup per listed file must cost microseconds (an embedded database or a Map), not an
 * await. Writes are buffered and made durable by `commit`; a crash loses only stamps, never codes.
 */
export interface StampIndex {
  /** The value stored for `key` at exactly this version, or undefined. */
  get(key: string, version: string): string | undefined;
  /**
   * `get` for many keys at once (a whole listing): the same answers, `out[i]` for `requests[i]`, looked up in one
   * ordered pass where the index can (a query per key costs more than the rest of a re-run over unchanged data).
   */
  getMany(requests: ReadonlyArray<{ key: string; version: string }>): Array<string | undefined>;
  set(key: string, version: string, value: string): void;
  delete(key: string): void;
  /** Makes every set/delete so far durable (one transaction). */
  commit(): void;
  close(): void;
}

/** Remembers for the life of the process only: the S3 path and tests. */
export class MemoryStampIndex implements StampIndex {
  private readonly stamps = new Map<string, { version: string; value: string }>();

  get(key: string, version: string): string | undefined {
    const stamp = this.stamps.get(key);
    return stamp?.version === version ? stamp.value : undefined;
  }

  getMany(requests: ReadonlyArray<{ key: string; version: string }>): Array<string | undefined> {
    return requests.map((r) => this.get(r.key, r.version));
  }

  set(key: string, version: string, value: string): void {
    this.stamps.set(key, { version, value });
  }

  delete(key: string): void {
    this.stamps.delete(key);
  }

  commit(): void {}

  close(): void {}
}

/**
 * A version whose mtime is this close to now may still change within the file system's timestamp grain without
 * changing its stamp (git's "racily clean" entries): such files are hashed again next time instead of trusted.
 */
export const RACY_WINDOW_MS = 2000;

export function isStampable(modifiedMs: number | undefined, nowMs: number): boolean {
  return modifiedMs === undefined || nowMs - modifiedMs > RACY_WINDOW_MS;
}
