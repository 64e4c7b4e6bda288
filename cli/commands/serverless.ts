import { DEFAULT_PROVISION } from '../../aws/names.js';
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
  summary: 'create the bucket, queues, DLQs and bucket notification on an S3/SQS endpoint (LocalStack, moto, AWS)',
  options: { ...target, 'visibility-timeout': { type: 'string' }, 'max-receive-count': { type: 'string' }, 'notify-prefix': { type: 'string' }, 'no-notify': { type: 'boolean', default: false } },
  help: `Serverless commands (up / worker / submit / status), against any S3/SQS endpoint:
  --endpoint URL         S3 and SQS endpoint (http://localhost:4566 LocalStack, http://127.0.0.1:5000 moto_server);
                         default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL, else real AWS.
                         With an endpoint and no AWS credentials configured, the dummy keys test/test are used.
  --region NAME          default AWS_REGION, else us-east-1
  --bucket NAME          default ${DEFAULT_PROVISION.bucket}; --queue-prefix NAME  default ${DEFAULT_PROVISION.queuePrefix} (queues <prefix>-run|extract|train|evaluate[-dlq])
                         A CDK deployment: export its RuntimeEnvironment output (CNN_CODES_BUCKET,
                         CNN_CODES_<STAGE>_QUEUE_URL) and worker/submit/status use that bucket and those queues.
  up:     --visibility-timeout S (default ${DEFAULT_PROVISION.visibilityTimeoutSeconds}), --max-receive-count N (default ${DEFAULT_PROVISION.maxReceiveCount}),
          --notify-prefix P (S3 ObjectCreated under P → extract queue; default ${DEFAULT_PROVISION.notifyPrefix}), --no-notify
  worker: --queues run,extract,train,evaluate (default all), --threads N, --provider cpu|cuda, --model NAME
          (incremental mode), --idle-exit S (exit after S seconds without work; default: run until SIGTERM),
          --poll S (long-poll wait, 1..20, default 20; SIGTERM lets the current poll end, so also the stop delay)
  submit: --data DIR|s3://BUCKET/PREFIX, --name NAME, --run-id ID, --shard-size N (default: sized by the planner for the compute, see the plan), --wait,
          --timeout S, plus --model, --layer, --head, --C, --folds, --seed, --class-weight, --split as for run
  status: --run ID (default: every run in the bucket)`,
  run: async (values, _positionals, ctx) => (await actions()).up(values, ctx),
};

const workerCommand: CliCommand = {
  name: 'worker',
  summary: 'consume the queues (plan, extract, train, evaluate) until SIGTERM; run several for parallelism',
  options: { ...target, queues: { type: 'string' }, threads: { type: 'string' }, provider: { type: 'string' }, model: { type: 'string' }, 'models-dir': { type: 'string', multiple: true }, 'idle-exit': { type: 'string' }, poll: { type: 'string' } },
  run: async (values, _positionals, ctx) => (await actions()).worker(values, ctx),
};

const submitCommand: CliCommand = {
  name: 'submit',
  summary: 'upload a local dataset to the bucket (datasets/<name>/) and send a run request',
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
  },
  run: async (values, _positionals, ctx) => (await actions()).submit(values, ctx),
};

const statusCommand: CliCommand = {
  name: 'status',
  summary: 'queue depths (and DLQs) plus per-run progress read from the bucket',
  options: { ...target, run: { type: 'string' } },
  run: async (values, _positionals, ctx) => (await actions()).status(values, ctx),
};

export const SERVERLESS_COMMANDS: CliCommand[] = [upCommand, workerCommand, submitCommand, statusCommand];
