import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import type { CliCommand, OptionSpec } from '../command.js';
import { HEAD_OPTIONS } from './head-flags.js';

/** up / worker / submit / status: thin specs here; the work (and the AWS SDK) loads only when one of them runs. */
const actions = () => import('./serverless-actions.js');

const target: OptionSpec = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  bucket: { type: 'string' },
  'queue-prefix': { type: 'string' },
};

const upCommand: CliCommand = {
  name: 'up',
  summary:
    "create the bucket, queues, DLQs, bucket notification and the run's state machine on an endpoint (moto, LocalStack, AWS)",
  options: {
    ...target,
    heartbeat: { type: 'string' },
    'max-concurrency': { type: 'string' },
    workers: { type: 'string' },
    'visibility-timeout': { type: 'string' },
    'max-receive-count': { type: 'string' },
    'notify-prefix': { type: 'string' },
    'no-notify': { type: 'boolean', default: false },
    iam: { type: 'string' },
  },
  flagDocs: {
    heartbeat: {
      arg: 'S',
      text: "seconds a shard's task may go without a heartbeat, queue wait included, before it is retried (600)",
    },
    workers: { arg: 'N', text: 'extract workers you will run (2): the state machine keeps one shard waiting for each' },
    'max-concurrency': { arg: 'N', text: 'shards the state machine hands out at once (default: twice --workers)' },
    iam: {
      arg: 'TEMPLATE',
      text: "emulator: also the template's queues and IAM roles (from `cdk synth`'s JSON) and an allow-all user, see docs/serverless.md",
    },
  },
  usage: 'up [--endpoint URL] [--bucket NAME] [--queue-prefix NAME] [--iam TEMPLATE.json] [options]',
  example: 'cnn-codes up --endpoint http://127.0.0.1:5000',
  run: async (values, _positionals, ctx) => (await actions()).up(values, ctx),
};

const workerCommand: CliCommand = {
  name: 'worker',
  summary:
    "answer the state machine's tasks (plan, extract, train, evaluate) until SIGTERM; run several for parallelism",
  usage: 'worker [--endpoint URL] [--queues LIST] [options]',
  example: 'cnn-codes worker --endpoint http://127.0.0.1:5000 --idle-exit 60',
  flagDocs: {
    model: { arg: 'NAME', text: `backbone for images that arrive by bucket notification (default: ${DEFAULT_MODEL})` },
    role: { arg: 'NAME', text: 'run with the credentials of this IAM role (STS AssumeRole), as `up --iam` made it' },
  },
  options: {
    ...target,
    queues: { type: 'string' },
    threads: { type: 'string' },
    provider: { type: 'string' },
    model: { type: 'string' },
    'models-dir': { type: 'string', multiple: true },
    'idle-exit': { type: 'string' },
    poll: { type: 'string' },
    role: { type: 'string' },
  },
  run: async (values, _positionals, ctx) => (await actions()).worker(values, ctx),
};

const submitCommand: CliCommand = {
  name: 'submit',
  summary: "upload a local dataset to the bucket (datasets/<name>/) and start the run's execution",
  usage: 'submit --data DIR|s3://BUCKET/PREFIX [--endpoint URL] [--wait] [options]',
  example: 'cnn-codes submit --endpoint http://127.0.0.1:5000 --data ../shared/data/hymenoptera_data --wait',
  flagDocs: {
    data: { arg: 'DIR|s3://B/P', text: 'a local dataset (uploaded to datasets/<name>/) or one already in a bucket' },
    seed: { arg: 'N', text: 'seed of the cross-validation folds (default 0)' },
    split: { arg: 'val|test', text: 'split to evaluate (default val)' },
    tolerate: { arg: 'N', text: 'shards that may fail (after their retries) without failing the run (default 0)' },
    'state-machine': { arg: 'ARN', text: "the run's state machine (default: the one `up` made for --queue-prefix)" },
  },
  options: {
    ...target,
    data: { type: 'string' },
    name: { type: 'string' },
    'run-id': { type: 'string' },
    'shard-size': { type: 'string' },
    model: { type: 'string' },
    ...HEAD_OPTIONS,
    split: { type: 'string' },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    tolerate: { type: 'string' },
    'state-machine': { type: 'string' },
  },
  run: async (values, _positionals, ctx) => (await actions()).submit(values, ctx),
};

const statusCommand: CliCommand = {
  name: 'status',
  summary: "queue depths (and DLQs) plus each run's execution and its Map Run (Step Functions)",
  usage: 'status [--endpoint URL] [--run ID]',
  example: 'cnn-codes status --endpoint http://127.0.0.1:5000',
  flagDocs: { 'state-machine': { arg: 'ARN', text: "the run's state machine (default: the one `up` made)" } },
  options: { ...target, run: { type: 'string' }, 'state-machine': { type: 'string' } },
  run: async (values, _positionals, ctx) => (await actions()).status(values, ctx),
};

export const SERVERLESS_COMMANDS: CliCommand[] = [upCommand, workerCommand, submitCommand, statusCommand];
