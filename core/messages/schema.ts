import * as v from 'valibot';
import { ConfigError, errorMessage } from '../errors.js';
import { bool, expected, integer, oneOf, positive, problemsOf } from '../workspace/schema.js';
import { parseStoreUri } from './store-uri.js';

/**
 * The work messages, version 1, declared once as Valibot schemas; their types are derived from them. Every message
 * names its run and the stores it touches, so any worker can pick up any message and a redelivered copy means exactly
 * the same work. A change that an old worker would misread bumps `v`.
 */
export const MESSAGE_VERSION = 1;

/**
 * A message that fails its schema. Never retryable: the worker moves it to the dead-letter queue with this text, so
 * the text names every offending field by its path.
 */
export class InvalidMessageError extends ConfigError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid message: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/**
 * A queue message's body as the queue delivers it (text): JSON when it parses, otherwise the text itself, which
 * validation then rejects with a clear reason. The one rule for every consumer (the SQS queue, the SQS Lambda).
 */
export function parseMessageBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * An object with exactly these fields: an unknown field is an error (a typo must not be silently ignored), and so is
 * a missing required one ("required").
 */
function strict<const E extends v.ObjectEntries>(entries: E) {
  const notAnObject = expected('an object');
  return v.strictObject(entries, (issue) =>
    issue.expected === 'never'
      ? 'unknown field'
      : issue.input === undefined && issue.path !== undefined
        ? 'required'
        : notAnObject(issue),
  );
}

function pattern(re: RegExp, what: string) {
  const message = expected(what);
  return v.pipe(v.string(message), v.regex(re, message));
}

function listOf<const S extends v.GenericSchema>(item: S, limits: { min: number; max: number }) {
  const size = (issue: v.BaseIssue<unknown>) =>
    `expected ${limits.min}..${limits.max} items, got ${(issue.input as unknown[]).length}`;
  return v.pipe(v.array(item, expected('an array')), v.minLength(limits.min, size), v.maxLength(limits.max, size));
}

const unique = v.check(
  (items: string[]) => new Set(items.map((item) => JSON.stringify(item))).size === items.length,
  'items must be unique',
);

const fraction = v.pipe(
  v.number(expected('a number strictly between 0 and 1')),
  v.gtValue(0, expected('a number strictly between 0 and 1')),
  v.ltValue(1, expected('a number strictly between 0 and 1')),
);

const storeUriText = expected('a store URI (s3://bucket/prefix or an absolute folder)');
/** s3://bucket/prefix or an absolute folder, with parseStoreUri's reason when it is neither. */
const storeUri = v.pipe(
  v.string(storeUriText),
  v.maxLength(2048, storeUriText),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try {
      parseStoreUri(dataset.value);
    } catch (err) {
      addIssue({ message: errorMessage(err) });
    }
  }),
);

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Control characters (U+0000..U+001F) are exactly what a key must not contain: the regex names them on purpose.
// eslint-disable-next-line no-control-regex
const KEY = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[^\u0000-\u001f]{1,1024}$/;
const CUT = /^[A-Za-z0-9_.-]{1,64}$/;

const runScoped = {
  v: oneOf(MESSAGE_VERSION),
  runId: pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a run id (letters, digits, ". _ -", at most 100)'),
  /** s3://bucket/runs/<runId> or a folder: plan, shard parts, claims, events, manifest, head, metrics. */
  workspace: storeUri,
  /** s3://bucket/codes or a folder ending in the cache's name: the content-addressed code cache. */
  cache: storeUri,
};
const model = pattern(NAME, 'a model name');
/** Cut point names or ['all']. */
const cuts = v.pipe(listOf(pattern(CUT, 'a cut point name'), { min: 1, max: 32 }), unique);
/** What a run and each of its shards work over: a dataset's images through a model, at these cut points. */
const overDataset = { dataset: storeUri, model, cuts };
const evalSplit = oneOf('val', 'test');
const seed = integer(0, 2 ** 31 - 1);
const toleratedFailures = integer(0, 100_000);

/**
 * How to train a head: the one shape the CLI flags parse into, the train use case takes (as TrainRequest) and the
 * train message carries. Absent fields take the defaults (final layer, logistic, C by CV, 5 folds, seed 0).
 */
const trainOptions = strict({
  /** A cut point, or 'auto' to let cross-validation choose among every extracted one. */
  layer: v.optional(pattern(CUT, 'a cut point name or "auto"')),
  head: v.optional(oneOf('logistic', 'svm', 'auto')),
  /** Fixed C; omitted → chosen by stratified k-fold CV on train. */
  C: v.optional(positive),
  folds: v.optional(integer(2, 50)),
  seed: v.optional(seed),
  classWeight: v.optional(oneOf('balanced')),
  /** Fit the final head without the train images flagged as likely label errors. */
  excludeSuspects: v.optional(bool),
});
export type TrainOptions = v.InferOutput<typeof trainOptions>;

/** Typed as text, not as these three: a listing's split is any folder name until this check. */
const SPLITS: string[] = ['train', 'val', 'test'];
const shardItem = strict({
  key: pattern(KEY, 'a relative object key without "." or ".." segments'),
  split: oneOf(...SPLITS),
  label: integer(0, 1_000_000),
  /** The listing's identity of the object's bytes ("<etag>/<size>"), where the store has one. */
  // An identity is printable: no control characters (the range is the point of the pattern).
  // eslint-disable-next-line no-control-regex
  source: v.optional(pattern(/^[^\u0000-\u001f]{1,200}$/, 'an object identity ("<etag>/<size>")')),
  /** Its content hash, when a previous run saw the same identity: a worker whose cache has it reads nothing. */
  hash: v.optional(pattern(/^[0-9a-f]{64}$/, 'a sha256 content hash')),
});
export type ShardItem = v.InferOutput<typeof shardItem>;

/** Plans a whole job: list the dataset, shard it, fan out one `extract` per shard. */
const runMessage = strict({
  ...runScoped,
  type: oneOf('run'),
  ...overDataset,
  /** Images per extract message; absent: the deployment's default (CNN_CODES_SHARD_SIZE). */
  shardSize: v.optional(integer(1, 10_000)),
  list: v.optional(strict({ valFraction: v.optional(fraction), seed: v.optional(seed) })),
  train: v.optional(trainOptions),
  split: v.optional(evalSplit),
  /** Shards that may fail (after their retries) without failing the run; default 0. */
  toleratedFailures: v.optional(toleratedFailures),
});
export type RunMessage = v.InferOutput<typeof runMessage>;

/** One shard of a planned run: these images through the backbone into the cache, as one part of the manifest. */
const extractMessage = strict({
  ...runScoped,
  type: oneOf('extract'),
  ...overDataset,
  shard: v.pipe(
    strict({
      index: integer(0, 99_999),
      count: integer(1, 100_000),
      items: listOf(shardItem, { min: 1, max: 10_000 }),
    }),
    v.forward(
      v.check(
        (shard) => shard.index < shard.count,
        (issue) => {
          const shard = issue.input as { index: number; count: number };
          return `${shard.index} is not below shard.count ${shard.count}`;
        },
      ),
      ['index'],
    ),
  ),
});
export type ExtractMessage = v.InferOutput<typeof extractMessage>;

const trainMessage = strict({
  ...runScoped,
  type: oneOf('train'),
  train: trainOptions,
  /** The split the evaluate step that follows will score. */
  split: evalSplit,
  /** Shards of the run that may have failed for good (the run request's tolerance); default 0. */
  toleratedFailures: v.optional(toleratedFailures),
});
export type TrainMessage = v.InferOutput<typeof trainMessage>;

const evaluateMessage = strict({
  ...runScoped,
  type: oneOf('evaluate'),
  split: evalSplit,
  /** The run's execution (ARN): the state machine passes it beside the evaluate task's message, and the report names it. */
  execution: v.optional(pattern(/^arn:[\w-]+:states:[^\s]{1,2000}$/, 'an execution ARN')),
});
export type EvaluateMessage = v.InferOutput<typeof evaluateMessage>;

export type WorkMessage = RunMessage | ExtractMessage | TrainMessage | EvaluateMessage;
export type MessageType = WorkMessage['type'];

const schemas = {
  run: runMessage,
  extract: extractMessage,
  train: trainMessage,
  evaluate: evaluateMessage,
} satisfies Record<MessageType, v.GenericSchema<unknown, WorkMessage>>;
export const MESSAGE_TYPES = Object.keys(schemas) as readonly MessageType[];

/** Validates a decoded message body; throws InvalidMessageError naming every bad field (the first 12). */
export function parseWorkMessage(body: unknown): WorkMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidMessageError([
      `body: expected a JSON object, got ${typeof body === 'string' ? 'text that is not JSON' : JSON.stringify(body)}`,
    ]);
  }
  const { type, v: version } = body as { type?: unknown; v?: unknown };
  if (version !== MESSAGE_VERSION)
    throw new InvalidMessageError([
      `v: this worker speaks message version ${MESSAGE_VERSION}, got ${JSON.stringify(version)}`,
    ]);
  // An own property only: `in` would also match `constructor`, `toString` or `__proto__` from Object.prototype.
  if (typeof type !== 'string' || !Object.hasOwn(schemas, type)) {
    throw new InvalidMessageError([`type: expected one of ${MESSAGE_TYPES.join(', ')}, got ${JSON.stringify(type)}`]);
  }
  const result = v.safeParse(schemas[type as MessageType], body);
  if (!result.success) throw new InvalidMessageError(problemsOf(result.issues, type, 12));
  return result.output;
}

/** A callback task of the run's state machine: the task token to answer and the work message. */
export interface TaskEnvelope {
  task: string;
  message: WorkMessage;
}

export function looksLikeTask(body: unknown): body is { task: unknown; message: unknown } {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'task') && Object.hasOwn(body, 'message');
}

/**
 * A callback task's queue message: a token (Step Functions' are opaque text, at most 1,024 characters), a work message
 * and, for evaluate, the execution's ARN.
 */
export function parseTask(body: unknown): TaskEnvelope {
  const { task } = body as { task: unknown };
  if (typeof task !== 'string' || task.length === 0 || task.length > 1024)
    throw new InvalidMessageError([`task: expected a task token (1 to 1,024 characters), got ${typeof task}`]);
  const extra = Object.keys(body as object).filter((k) => !['task', 'message', 'execution'].includes(k));
  if (extra.length > 0) throw new InvalidMessageError(extra.map((k) => `${k}: not a field of a task message`));
  return { task, message: parseStateMessage(body) };
}

/**
 * A state's work message (`{ message, execution? }`, a callback task's body or a Lambda task's input). The state
 * machine passes the evaluate step its execution's ARN beside the message, from its context object; it becomes the
 * message's `execution`, which the report names.
 */
export function parseStateMessage(input: unknown): WorkMessage {
  const { message, execution } = (input ?? {}) as { message?: unknown; execution?: unknown };
  const isEvaluate =
    typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'evaluate';
  return parseWorkMessage(execution !== undefined && isEvaluate ? { ...message, execution } : message);
}
