/**
 * One error tree for the whole core. Adapters map these to exit codes (CLI), DLQ decisions (workers) or HTTP-ish
 * statuses; `code` is stable and machine-readable, `message` is for people, `cause` keeps the original error.
 */
export class CnnCodesError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A flag, option, descriptor or message field is wrong. Not retryable. */
export class ConfigError extends CnnCodesError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** The dataset is missing, empty or not in the expected layout. */
export class DataError extends CnnCodesError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATA', message, options);
  }
}

export type InvalidImageKind =
  'unsupported-format' | 'truncated' | 'too-large' | 'empty' | 'decode-failed' | UnreadableKind;

/**
 * A file a listing found but that cannot be read at all: recorded as a reject, never read. 'unreadable': permissions,
 * I/O errors, loops, FIFOs, sockets and devices, and names that are not valid UTF-8; 'outside-root': a symbolic link
 * that leads out of the dataset (followed only when asked); 'too-large': over the size limit for one image.
 */
export type UnreadableKind = 'dangling-symlink' | 'unreadable' | 'outside-root' | 'too-large';

/** One image could not be turned into a tensor. Recorded as a reject; never fatal to a batch. */
export class InvalidImageError extends CnnCodesError {
  readonly kind: InvalidImageKind;
  constructor(kind: InvalidImageKind, message: string, options?: { cause?: unknown }) {
    super('INVALID_IMAGE', message, options);
    this.kind = kind;
  }
}

/** A model cannot be found, loaded, verified or cut. */
export class ModelError extends CnnCodesError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL', message, options);
  }
}

/** Downloaded or cached bytes do not have the sha256 the descriptor promises. */
export class ChecksumError extends ModelError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super(`checksum mismatch for ${what}: expected sha256 ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** predict/score called before fit. */
export class NotFittedError extends CnnCodesError {
  constructor(what: string) {
    super('NOT_FITTED', `${what} is not fitted yet: call fit(X, y) first`);
  }
}

/** A key that should exist in a blob store does not. */
export class NotFoundError extends CnnCodesError {
  readonly key: string;
  constructor(key: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', `not found: ${key}`, options);
    this.key = key;
  }
}

/** A cached shard is missing, short or fails its checksum. `run`/`extract` repair it; train/evaluate name it. */
export class DamagedShardError extends CnnCodesError {
  readonly location: string;
  constructor(location: string, reason: string, options?: { cause?: unknown }) {
    super(
      'DAMAGED_SHARD',
      `damaged code shard ${location}: ${reason}; run "cnn-codes verify --out DIR --repair" or "cnn-codes run" again to re-extract its rows`,
      options,
    );
    this.location = location;
  }
}

/** The user stopped the work (SIGINT/SIGTERM); what was finished is saved and a re-run resumes from it. */
export class InterruptedError extends CnnCodesError {
  readonly signal: string;
  constructor(signal: string, message: string) {
    super('INTERRUPTED', message);
    this.signal = signal;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
