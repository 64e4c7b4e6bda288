import { errorMessage } from '../errors.js';
import { parseStoreUri } from './store-uri.js';
import {
  arrayOf,
  boolean,
  fraction,
  integer,
  InvalidMessageError,
  object,
  oneOf,
  positiveNumber,
  string,
  type Check,
} from './validate.js';

/**
 * The work messages, version 1. Every message names its run and the stores it touches, so any worker can pick up any
 * message and a redelivered copy means exactly the same work. A change that an old worker would misread bumps `v`.
 */
export const MESSAGE_VERSION = 1;

/**
 * How to train a head: the one shape the CLI flags parse into, the train use case takes (as TrainRequest) and the
 * train message carries. Absent fields take the defaults (final layer, logistic, C by CV, 5 folds, seed 0).
 */
export interface TrainOptions {
  /** A cut point, or 'auto' to let cross-validation choose among every extracted one. */
  layer?: string;
  head?: 'logistic' | 'svm' | 'auto';
  /** Fixed C; omitted → chosen by stratified k-fold CV on train. */
  C?: number;
  folds?: number;
  seed?: number;
  classWeight?: 'balanced';
  /** Fit the final head without the train images flagged as likely label errors. */
  excludeSuspects?: boolean;
}

interface RunScoped {
  v: 1;
  runId: string;
  /** s3://bucket/runs/<runId> or a folder: plan, shard parts, claims, events, manifest, head, metrics. */
  workspace: string;
  /** s3://bucket/codes or a folder ending in the cache's name: the content-addressed code cache. */
  cache: string;
}

/** Plans a whole job: list the dataset, shard it, fan out one `extract` per shard. */
export interface RunMessage extends RunScoped {
  type: 'run';
  dataset: string;
  model: string;
  /** Cut point names or ['all']. */
  cuts: string[];
  /** Images per extract message; absent: the deployment's default (CNN_CODES_SHARD_SIZE). */
  shardSize?: number;
  list?: { valFraction?: number; seed?: number };
  train?: TrainOptions;
  split?: 'val' | 'test';
  /** Shards that may fail (after their retries) without failing the run; default 0. */
  toleratedFailures?: number;
}

export interface ShardItem {
  key: string;
  split: string;
  label: number;
  /** The listing's identity of the object's bytes ("<etag>/<size>"), where the store has one. */
  source?: string;
  /** Its content hash, when a previous run saw the same identity: a worker whose cache has it reads nothing. */
  hash?: string;
}

/** One shard of a planned run: these images through the backbone into the cache, as one part of the manifest. */
export interface ExtractMessage extends RunScoped {
  type: 'extract';
  dataset: string;
  model: string;
  cuts: string[];
  shard: { index: number; count: number; items: ShardItem[] };
}

export interface TrainMessage extends RunScoped {
  type: 'train';
  train: TrainOptions;
  /** The split the evaluate step that follows will score. */
  split: 'val' | 'test';
  /** Shards of the run that may have failed for good (the run request's tolerance); default 0. */
  toleratedFailures?: number;
}

export interface EvaluateMessage extends RunScoped {
  type: 'evaluate';
  /** cacheKey of the head artefact (workspace/heads/<cacheKey>.json) to score; absent: the run's head.json. */
  head?: string;
  split: 'val' | 'test';
}

/** One group of a run's extracted shards (its layout is in the plan) compacted into one code shard per cut. */
export interface CompactMessage extends RunScoped {
  type: 'compact';
  model: string;
  group: number;
}

export type WorkMessage = RunMessage | ExtractMessage | CompactMessage | TrainMessage | EvaluateMessage;
export type MessageType = WorkMessage['type'];
export const MESSAGE_TYPES: readonly MessageType[] = ['run', 'extract', 'compact', 'train', 'evaluate'];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Control characters (U+0000..U+001F) are exactly what a key must not contain: the regex names them on purpose.
// eslint-disable-next-line no-control-regex
const KEY = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[^\u0000-\u001f]{1,1024}$/;

const storeUri: Check<string> = (value, path, problems) => {
  if (typeof value !== 'string' || value.length > 2048) {
    problems.push(
      `${path}: expected a store URI (s3://bucket/prefix or an absolute folder), got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  try {
    parseStoreUri(value);
    return value;
  } catch (err) {
    problems.push(`${path}: ${errorMessage(err)}`);
    return undefined;
  }
};

const common = {
  v: oneOf(MESSAGE_VERSION),
  runId: string(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a run id (letters, digits, ". _ -", at most 100)'),
  workspace: storeUri,
  cache: storeUri,
};
const model = string(NAME, 'a model name');
const cuts = arrayOf(string(/^[A-Za-z0-9_.-]{1,64}$/, 'a cut point name'), { min: 1, max: 32, unique: true });
const evalSplit = oneOf('val' as const, 'test' as const);
const trainOptions = object(
  {},
  {
    layer: string(/^[A-Za-z0-9_.-]{1,64}$/, 'a cut point name or "auto"'),
    head: oneOf('logistic' as const, 'svm' as const, 'auto' as const),
    C: positiveNumber(),
    folds: integer(2, 50),
    seed: integer(0, 2 ** 31 - 1),
    classWeight: oneOf('balanced' as const),
    excludeSuspects: boolean(),
  },
);
const shardItem = object(
  {
    key: string(KEY, 'a relative object key without "." or ".." segments'),
    split: oneOf('train', 'val', 'test'),
    label: integer(0, 1_000_000),
  },
  {
    // An identity is printable: no control characters (the range is the point of the pattern).
    // eslint-disable-next-line no-control-regex
    source: string(/^[^\u0000-\u001f]{1,200}$/, 'an object identity ("<etag>/<size>")'),
    hash: string(/^[0-9a-f]{64}$/, 'a sha256 content hash'),
  },
);

const schemas: Record<MessageType, Check<unknown>> = {
  run: object(
    { ...common, type: oneOf('run'), dataset: storeUri, model, cuts },
    {
      shardSize: integer(1, 10_000),
      list: object({}, { valFraction: fraction(), seed: integer(0, 2 ** 31 - 1) }),
      train: trainOptions,
      split: evalSplit,
      toleratedFailures: integer(0, 100_000),
    },
  ),
  extract: object({
    ...common,
    type: oneOf('extract'),
    dataset: storeUri,
    model,
    cuts,
    shard: object({
      index: integer(0, 99_999),
      count: integer(1, 100_000),
      items: arrayOf(shardItem, { min: 1, max: 10_000 }),
    }),
  }),
  compact: object({ ...common, type: oneOf('compact'), model, group: integer(0, 99_999) }),
  train: object(
    { ...common, type: oneOf('train'), train: trainOptions, split: evalSplit },
    { toleratedFailures: integer(0, 100_000) },
  ),
  evaluate: object(
    { ...common, type: oneOf('evaluate'), split: evalSplit },
    { head: string(/^[0-9a-f]{24}$/, 'a head cacheKey (24 hex digits)') },
  ),
};

/** Validates a decoded message body; throws InvalidMessageError naming every bad field. */
export function parseWorkMessage(body: unknown): WorkMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidMessageError([
      `body: expected a JSON object, got ${typeof body === 'string' ? 'text that is not JSON' : JSON.stringify(body)}`,
    ]);
  }
  const { type, v } = body as { type?: unknown; v?: unknown };
  if (v !== MESSAGE_VERSION)
    throw new InvalidMessageError([
      `v: this worker speaks message version ${MESSAGE_VERSION}, got ${JSON.stringify(v)}`,
    ]);
  // An own property only: `in` would also match `constructor`, `toString` or `__proto__` from Object.prototype.
  if (typeof type !== 'string' || !Object.hasOwn(schemas, type)) {
    throw new InvalidMessageError([
      `type: expected one of ${Object.keys(schemas).join(', ')}, got ${JSON.stringify(type)}`,
    ]);
  }
  const problems: string[] = [];
  const parsed = schemas[type as MessageType](body, type, problems);
  if (problems.length > 0 || parsed === undefined) throw new InvalidMessageError(problems.slice(0, 12));
  const message = parsed as WorkMessage;
  if (message.type === 'extract' && message.shard.index >= message.shard.count) {
    throw new InvalidMessageError([
      `extract.shard.index: ${message.shard.index} is not below shard.count ${message.shard.count}`,
    ]);
  }
  return message;
}

/** A callback task of the run's state machine: the task token to answer and the work message. */
export interface TaskEnvelope {
  task: string;
  message: WorkMessage;
}

export function looksLikeTask(body: unknown): body is { task: unknown; message: unknown } {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'task') && Object.hasOwn(body, 'message');
}

/** A callback task's queue message: a token (Step Functions' are opaque text, at most 1,024 characters) and a work message. */
export function parseTask(body: unknown): TaskEnvelope {
  const { task, message } = body as { task: unknown; message: unknown };
  if (typeof task !== 'string' || task.length === 0 || task.length > 1024)
    throw new InvalidMessageError([`task: expected a task token (1 to 1,024 characters), got ${typeof task}`]);
  const extra = Object.keys(body as object).filter((k) => k !== 'task' && k !== 'message');
  if (extra.length > 0) throw new InvalidMessageError(extra.map((k) => `${k}: not a field of a task message`));
  return { task, message: parseWorkMessage(message) };
}
