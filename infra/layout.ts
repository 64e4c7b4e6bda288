/**
 * Where the stack finds the runtime's sources and what it names its jobs. The names the runtime reads at run time
 * (environment variables, bucket prefixes, the fine-tune heartbeat) are in contracts/cross-process.ts.
 */

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

/** The dispatcher is this repository's own code, never swapped for a stand-in. */
export const DISPATCH_ENTRY = 'functions/dispatch/handler.ts';

/** Batch job names the dispatcher submits and counts; not resource names, so two deployments may share them. */
export const JOB_NAME = {
  extract: 'cnn-codes-extract',
  fineTune: 'cnn-codes-fine-tune',
  trainBatch: 'cnn-codes-train-batch',
} as const;
