/**
 * The names the stack shares with the runtime (functions/, jobs/): bucket prefixes, entry points, environment
 * variables. Both sides change together, so they live in one file.
 */

/** Bucket prefixes, each with a trailing slash so a grant on `datasets/*` never reaches `datasets-old/`. */
export const PREFIX = {
  datasets: 'datasets/',
  cache: 'cache/',
  runs: 'runs/',
  models: 'models/',
  tmp: 'tmp/',
} as const;

export type Prefix = (typeof PREFIX)[keyof typeof PREFIX];

/** Source paths relative to the source root (the repository, or a stand-in tree given by the `sourceRoot` context). */
export const RUNTIME_SOURCES = {
  extractDockerfile: 'functions/extract/Dockerfile',
  /** The image compiles to dist/ (the worker's own documented command): the handler is found relative to it. */
  extractLambdaHandler: 'dist/functions/extract/lambda.handler',
  extractWorkerCommand: ['node', 'dist/functions/extract/worker.js'],
  /** The Batch CPU train job: drains the train-batch queue (same image as the extract worker). */
  trainBatchCommand: ['node', 'dist/functions/train-head/worker.js'],
  trainHeadEntry: 'functions/train-head/handler.ts',
  evaluateEntry: 'functions/evaluate/handler.ts',
  fineTuneDir: 'jobs/fine-tune',
  fineTuneDockerfile: 'Dockerfile',
  /** Reads one message from the queue, trains, deletes it on success, exits. */
  fineTuneCommand: ['python', '-m', 'cnn_codes_finetune', '--sqs-queue-url'],
} as const;

/** The fine-tune job's visibility heartbeat (jobs/fine-tune cli.py): every 60 s it hides its message 300 s more. */
export const FINE_TUNE_HEARTBEAT = { everySeconds: 60, extendSeconds: 300 } as const;

/** The dispatcher is this repository's own code, never swapped for a stand-in. */
export const DISPATCH_ENTRY = 'functions/dispatch/handler.ts';

export const ENV = {
  bucket: 'CNN_CODES_BUCKET',
  extractQueueUrl: 'CNN_CODES_EXTRACT_QUEUE_URL',
  trainQueueUrl: 'CNN_CODES_TRAIN_QUEUE_URL',
  evaluateQueueUrl: 'CNN_CODES_EVALUATE_QUEUE_URL',
  runQueueUrl: 'CNN_CODES_RUN_QUEUE_URL',
  /** The fine-tune job's models folders: local paths or s3:// prefixes. */
  fineTuneModels: 'CNN_CODES_MODELS',
  model: 'CNN_CODES_MODEL',
  shardSize: 'CNN_CODES_SHARD_SIZE',
  executionProvider: 'CNN_CODES_EXECUTION_PROVIDER',
  /** lambda | batch: where heads are fitted (functions/shared/settings.ts), and the Lambda's forwarding target. */
  trainCompute: 'CNN_CODES_TRAIN_COMPUTE',
  trainBatchQueueUrl: 'CNN_CODES_TRAIN_BATCH_QUEUE_URL',
  trainTimeoutSeconds: 'CNN_CODES_TRAIN_TIMEOUT_SECONDS',
} as const;

/** Batch job names the dispatcher submits and counts; not resource names, so two deployments may share them. */
export const JOB_NAME = {
  extract: 'cnn-codes-extract',
  fineTune: 'cnn-codes-fine-tune',
  trainBatch: 'cnn-codes-train-batch',
} as const;
