import { DEFAULT_PROVISION } from '../aws/names.js';
import { DEFAULT_MODEL } from '../core/models/builtin.js';

/** One flag's line in `cnn-codes <command> --help`: the value it takes (if any) and what it does. */
export interface FlagDoc {
  arg?: string;
  text: string;
}

/**
 * What each flag means wherever it appears. A command whose flag means something narrower passes its own FlagDoc
 * (CliCommand.flagDocs); a test checks that every option of every command is documented one way or the other.
 */
export const FLAG_DOCS: Record<string, FlagDoc> = {
  data: { arg: 'DIR', text: 'dataset folder: DATA/<split>/<class>/<image> or DATA/<class>/<image>' },
  out: {
    arg: 'DIR',
    text: 'workspace for manifest, codes, head, metrics and report (default: cnn-codes-out/<data name>)',
  },
  cache: { arg: 'DIR', text: 'put the content-addressed code cache here instead of <out>/codes (shareable)' },
  model: { arg: 'NAME|FILE', text: `model name or descriptor .json (default: ${DEFAULT_MODEL})` },
  'models-dir': { arg: 'DIR', text: 'extra folder to look for models in (repeatable; also CNN_CODES_MODELS_DIR)' },
  'allow-download': { text: 'fetch a model by its descriptor URL (verified by sha256) when not found locally' },
  workers: { arg: 'N', text: 'extraction worker threads (default: one per core)' },
  'batch-size': { arg: 'N', text: 'images per inference batch (default 8)' },
  provider: { arg: 'cpu|cuda', text: 'onnxruntime execution provider (default cpu)' },
  seed: {
    arg: 'N',
    text: 'seed of the cross-validation folds and of the val split carved from unsplit data (default 0)',
  },
  verify: { text: 'read and hash every image and checksum every shard (default: trust unchanged file stamps)' },
  'follow-symlinks': {
    text: 'follow symbolic links that lead out of the data folder (default: such links are rejects, never read)',
  },
  'val-fraction': {
    arg: 'F',
    text: 'share of each class held out as val when the data has no val folder (default 0.2)',
  },
  layer: { arg: 'NAME', text: 'cut point: final (default), another named layer, or auto (cross-validation chooses)' },
  head: { arg: 'KIND', text: 'logistic (default), svm, or auto (cross-validation chooses)' },
  C: { arg: 'NUMBER', text: 'fix C instead of choosing it by cross-validation on train' },
  folds: { arg: 'N', text: 'cross-validation folds (default 5)' },
  'class-weight': { arg: 'balanced', text: 'weigh classes inversely to their frequency in train' },
  split: { arg: 'NAME', text: 'split to evaluate (default val; never train)' },
  top: { arg: 'K', text: 'labels to show per image (default 1)' },
  'exclude-suspects': {
    text: 'fit the head without the train images flagged as likely label errors (data-quality.json)',
  },
  tta: { arg: 'flip|none', text: 'test-time augmentation: the mean code of each image and its mirror (default none)' },
  decode: {
    arg: 'fast|exact',
    text: "JPEG decode: exact (default: torchvision's crop byte for byte) or fast (near-exact, ~1 ms less an image; codes cached apart); default CNN_CODES_DECODE",
  },
  output: { arg: 'FILE', text: 'where to write the classifier (default: <out>/classifier.onnx)' },
  input: {
    arg: 'rgb|float',
    text: "rgb (default): uint8 [N,H,W,3] crops, normalized in the graph; float: the backbone's own input",
  },
  endpoint: {
    arg: 'URL',
    text: 'S3 and SQS endpoint (LocalStack, moto_server); default AWS_ENDPOINT_URL[_S3|_SQS], else AWS',
  },
  region: { arg: 'NAME', text: 'AWS region (default AWS_REGION, else us-east-1)' },
  bucket: {
    arg: 'NAME',
    text: `bucket (default ${DEFAULT_PROVISION.bucket}, or CNN_CODES_BUCKET from a CDK deployment)`,
  },
  'queue-prefix': {
    arg: 'NAME',
    text: `queues <prefix>-run|extract|train|evaluate[-dlq] (default ${DEFAULT_PROVISION.queuePrefix})`,
  },
  'visibility-timeout': {
    arg: 'S',
    text: `queue visibility timeout in seconds (default ${DEFAULT_PROVISION.visibilityTimeoutSeconds})`,
  },
  'max-receive-count': {
    arg: 'N',
    text: `deliveries before a message goes to its DLQ (default ${DEFAULT_PROVISION.maxReceiveCount})`,
  },
  'notify-prefix': {
    arg: 'P',
    text: `S3 ObjectCreated under P → the extract queue (default ${DEFAULT_PROVISION.notifyPrefix})`,
  },
  'no-notify': { text: 'set up no bucket notification' },
  queues: { arg: 'LIST', text: 'stages to consume: run,extract,train,evaluate (default all)' },
  threads: { arg: 'N', text: 'extraction worker threads in this process (default: one per core)' },
  'idle-exit': { arg: 'S', text: 'exit after S seconds without work (default: run until SIGTERM)' },
  poll: { arg: 'S', text: 'long-poll wait, 1..20 (default 20); SIGTERM lets the current poll end' },
  name: { arg: 'NAME', text: 'dataset name in the bucket, datasets/<name>/ (default: the folder name)' },
  'run-id': { arg: 'ID', text: 'run id (default: <name>-<timestamp>-<random>); resubmitting an id replays its plan' },
  'shard-size': {
    arg: 'N',
    text: 'images per extract message (default: sized by the planner for the compute that runs it; the plan says why)',
  },
  wait: { text: 'wait for the run to finish and print its status' },
  timeout: { arg: 'S', text: 'with --wait: give up after S seconds (default 3600)' },
  run: { arg: 'ID', text: 'the run to show (default: every run in the bucket)' },
  json: { text: 'machine-readable result on stdout, no progress' },
  help: { text: 'this help' },
};
