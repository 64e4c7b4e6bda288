/**
 * Names that cross a process boundary: the CDK stack sets them, the functions, workers and CLI read them, the Python
 * fine-tune job reads some of them too. Each is defined here once. The TypeScript sides import this module; the
 * Python job cannot, so `cross-process.json` is this module's JSON export and a test on each side holds it equal
 * (test/unit/contracts, jobs/fine-tune/tests/test_contracts.py). Regenerate it with `npm run contracts`.
 */
import { MESSAGE_VERSION } from '../core/messages/schema.js';

/** The stages that have a queue each, in pipeline order. */
export const STAGES = ['run', 'extract', 'train', 'evaluate'] as const;
export type Stage = (typeof STAGES)[number];

/** Environment variables, by what they carry. */
export const ENV = {
  /** The bucket that holds datasets/, cache/ and runs/ (required by every function and worker; the CLI's --bucket default). */
  bucket: 'CNN_CODES_BUCKET',
  /** Each stage's queue URL; a function needs the queues it reads or writes, and says which one is missing. */
  queueUrl: {
    run: 'CNN_CODES_RUN_QUEUE_URL',
    extract: 'CNN_CODES_EXTRACT_QUEUE_URL',
    train: 'CNN_CODES_TRAIN_QUEUE_URL',
    evaluate: 'CNN_CODES_EVALUATE_QUEUE_URL',
  } satisfies Record<Stage, string>,
  /** Model of runs that name none, and of incremental (S3 notification) extraction (default: the built-in default). */
  model: 'CNN_CODES_MODEL',
  /** Images per extract message for runs without one; unset: the planner sizes shards for the extract compute. */
  shardSize: 'CNN_CODES_SHARD_SIZE',
  /** What runs extract messages (cpu | gpu | lambda), and a Lambda's timeout: the planner sizes shards for them. */
  extractCompute: 'CNN_CODES_EXTRACT_COMPUTE',
  /** The extract Lambda's timeout in seconds: shards are sized to finish within it. */
  extractTimeLimit: 'CNN_CODES_EXTRACT_TIME_LIMIT_SECONDS',
  /** cpu | cuda: the onnxruntime execution provider of a worker's sessions (default cpu). */
  executionProvider: 'CNN_CODES_EXECUTION_PROVIDER',
  /**
   * cpu: the session runs the execution provider's graph on the CPU provider instead (a GPU worker's CUDA graph on a
   * machine without a GPU: the GPU path under test). Unset: the execution provider runs it.
   */
  sessionProvider: 'CNN_CODES_SESSION_PROVIDER',
  /** lambda | batch: where heads are fitted, and the Lambda's forwarding target (core/use-cases/distributed/train-compute.ts). */
  trainCompute: 'CNN_CODES_TRAIN_COMPUTE',
  /** The queue of the Batch CPU job that fits heads too large for the train Lambda; the Lambda forwards them there. */
  trainBatchQueueUrl: 'CNN_CODES_TRAIN_BATCH_QUEUE_URL',
  /** The train Lambda's timeout in seconds (required with CNN_CODES_TRAIN_COMPUTE=lambda): a fit is checked against it. */
  trainTimeoutSeconds: 'CNN_CODES_TRAIN_TIMEOUT_SECONDS',
  /** The train message the state machine hands the Batch CPU train job (AWS, `.sync`): the job fits that head and exits. */
  trainMessage: 'CNN_CODES_TRAIN_MESSAGE',
  /** Node side: extra models folders (path list). */
  modelsDir: 'CNN_CODES_MODELS_DIR',
  /** Comma-separated cut points that incremental extraction caches (default final). */
  cuts: 'CNN_CODES_CUTS',
  /** Extraction worker threads per process (default: one per core). */
  threads: 'CNN_CODES_THREADS',
  /** auto | as-shipped | uint8: how the CPU graph stores int8 weights (core/models/int8-weights-choice.ts). */
  int8Weights: 'CNN_CODES_WEIGHT_ENCODING',
  /** exact | fast: how JPEGs are decoded (core/models/descriptor.ts, `withDecode`); the codes are cached apart. */
  decode: 'CNN_CODES_DECODE',
  /** A polling worker exits after this many seconds without work (default 120; `never`: run until SIGTERM). */
  idleExit: 'CNN_CODES_IDLE_EXIT_SECONDS',
  /** Long-poll wait per receive, 1..20 seconds (default 20). */
  pollSeconds: 'CNN_CODES_POLL_SECONDS',
  /** The fine-tune job's models folders: local paths or s3:// prefixes (path list). */
  fineTuneModels: 'CNN_CODES_MODELS',
  /** The shared, read-only models and data (default ../shared). */
  shared: 'CNN_CODES_SHARED',
  /** Where downloaded models are kept (default $XDG_CACHE_HOME/cnn-codes/models, else ~/.cache/cnn-codes/models). */
  modelCache: 'CNN_CODES_MODEL_CACHE',
  /**
   * The dispatcher's worker pools, as JSON: an array of {name, queueUrl, jobQueue, jobDefinition, jobName,
   * messagesPerWorker, maxWorkers}, written by the stack (functions/dispatch/dispatch.ts parses it).
   */
  dispatchPools: 'CNN_CODES_DISPATCH_POOLS',
  /**
   * A file the local CLI appends each batch's content hashes to before the batch goes to the backbone: bench/scale
   * counts from it what a resume after kill -9 embeds again. Unset (the default), nothing is logged.
   */
  embedLog: 'CNN_CODES_EMBED_LOG',
} as const;

/**
 * The graph each extract compute runs, and so the cache namespaces its codes land in (`namespaceOf`): a GPU worker
 * runs the CUDA graph, a CPU worker or Lambda the int8 one. The planner, which has no backbone, looks codes up in the
 * namespaces of the deployment's extract compute (CNN_CODES_EXTRACT_COMPUTE), and the stack gives the GPU worker
 * its provider from here.
 */
export const EXTRACT_TARGET = { gpu: 'cuda', cpu: 'cpu', lambda: 'cpu' } as const;

/** Bucket prefixes, each with a trailing slash so a grant on `datasets/*` never reaches `datasets-old/`. */
export const BUCKET_PREFIX = {
  datasets: 'datasets/',
  cache: 'cache/',
  /** Per dataset, the content hash each listed object had (core/use-cases/distributed/source-identities.ts). */
  cacheSources: 'cache/sources/',
  runs: 'runs/',
  models: 'models/',
  tmp: 'tmp/',
} as const;
export type BucketPrefix = (typeof BUCKET_PREFIX)[keyof typeof BUCKET_PREFIX];

/** A key or key prefix under one of the bucket's prefixes: `bucketKey(BUCKET_PREFIX.runs, id)` → `runs/<id>`. */
export function bucketKey(prefix: BucketPrefix, ...parts: string[]): string {
  return [prefix.slice(0, -1), ...parts].join('/');
}

/** The fine-tune job (jobs/fine-tune): its message and the visibility heartbeat that keeps it hidden while training. */
export const FINE_TUNE = {
  messageType: 'fine-tune',
  messageVersion: 1,
  /** Every `everySeconds` the job hides its message `extendSeconds` more; the queue's own timeout must cover one gap. */
  heartbeat: { everySeconds: 60, extendSeconds: 300 },
} as const;

/** The version every work message (run, extract, train, evaluate) carries in `v`. */
export const WORK_MESSAGE_VERSION = MESSAGE_VERSION;

/** Everything above as one JSON document: what cross-process.json holds. */
export const CROSS_PROCESS = {
  stages: STAGES,
  env: ENV,
  bucketPrefix: BUCKET_PREFIX,
  fineTune: FINE_TUNE,
  workMessageVersion: WORK_MESSAGE_VERSION,
} as const;

/** The exact text of cross-process.json. */
export const crossProcessJson = (): string => `${JSON.stringify(CROSS_PROCESS, null, 2)}\n`;
