import * as path from 'node:path';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { SHARD_SIZE } from '../../core/use-cases/distributed/plan-run.js';
import { awsSettings, type AwsFlags, type AwsSettings } from '../../aws/endpoints.js';
import { STAGES, type Stage } from '../../aws/names.js';

/** Everything a deployed function or worker is configured with. Built from the environment once per process. */
export interface ServerlessSettings {
  bucket: string;
  queueUrls: Partial<Record<Stage, string>>;
  /** Default model for runs without one, and the model of incremental (S3 notification) extraction. */
  model: string;
  /** Cut points incremental extraction caches. */
  cuts: string[];
  shardSize: number;
  executionProvider: 'cpu' | 'cuda';
  modelsDirs: string[];
  /** Extraction worker threads per process (default: one per core). */
  threads?: number;
  /** Long-poll wait per receive (SQS allows 0..20); also the longest a graceful shutdown waits for a poll to end. */
  pollSeconds: number;
  /** A polling worker exits after this long without work (Batch jobs); null: never (a service). */
  idleExitSeconds: number | null;
  /** Local folders in messages (the CLI worker and tests only). */
  allowLocalStores: boolean;
  aws: AwsSettings;
  /**
   * Where heads are fitted here: 'lambda' (the train-head function, which forwards sets too large for it to
   * `trainBatchQueueUrl`) or 'batch' (the Batch CPU job that drains that queue). Unset: fit everything here.
   */
  trainCompute?: 'lambda' | 'batch';
  trainBatchQueueUrl?: string;
  /** The function's memory (Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB) and timeout (the stack sets it). */
  lambdaEnvelope?: { memoryBytes: number; timeoutSeconds: number };
}

/** The environment variables the CDK stack sets (infra/layout.ts ENV); a missing required one is named. */
export const ENV_NAMES = {
  bucket: 'CNN_CODES_BUCKET',
  run: 'CNN_CODES_RUN_QUEUE_URL',
  extract: 'CNN_CODES_EXTRACT_QUEUE_URL',
  train: 'CNN_CODES_TRAIN_QUEUE_URL',
  evaluate: 'CNN_CODES_EVALUATE_QUEUE_URL',
  model: 'CNN_CODES_MODEL',
  shardSize: 'CNN_CODES_SHARD_SIZE',
  executionProvider: 'CNN_CODES_EXECUTION_PROVIDER',
  modelsDir: 'CNN_CODES_MODELS_DIR',
  cuts: 'CNN_CODES_CUTS',
  threads: 'CNN_CODES_THREADS',
  idleExit: 'CNN_CODES_IDLE_EXIT_SECONDS',
  pollSeconds: 'CNN_CODES_POLL_SECONDS',
  trainCompute: 'CNN_CODES_TRAIN_COMPUTE',
  trainBatchQueue: 'CNN_CODES_TRAIN_BATCH_QUEUE_URL',
  trainTimeout: 'CNN_CODES_TRAIN_TIMEOUT_SECONDS',
  lambdaMemory: 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
} as const;

export const DEFAULT_SHARD_SIZE = SHARD_SIZE.cpu;
export const DEFAULT_IDLE_EXIT_SECONDS = 120;

/** The stage queues whose CNN_CODES_<STAGE>_QUEUE_URL is set; the functions and the CLI read them the same way. */
export function queueUrlsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<Stage, string>> {
  const queueUrls: Partial<Record<Stage, string>> = {};
  for (const stage of STAGES) {
    const url = env[ENV_NAMES[stage]];
    if (url) queueUrls[stage] = url;
  }
  return queueUrls;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, flags: AwsFlags = {}): ServerlessSettings {
  const bucket = env[ENV_NAMES.bucket];
  if (!bucket) throw new Error(`${ENV_NAMES.bucket} is not set: the bucket that holds datasets/, cache/ and runs/`);
  const provider = env[ENV_NAMES.executionProvider] ?? 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda') throw new Error(`${ENV_NAMES.executionProvider} must be cpu or cuda, got "${provider}"`);
  const threads = positiveInt(env, ENV_NAMES.threads);
  const idle = env[ENV_NAMES.idleExit];
  return {
    bucket,
    queueUrls: queueUrlsFromEnv(env),
    model: env[ENV_NAMES.model] || DEFAULT_MODEL,
    cuts: (env[ENV_NAMES.cuts] || 'final').split(',').map((c) => c.trim()).filter(Boolean),
    shardSize: positiveInt(env, ENV_NAMES.shardSize) ?? SHARD_SIZE[provider],
    executionProvider: provider,
    modelsDirs: (env[ENV_NAMES.modelsDir] ?? '').split(path.delimiter).filter(Boolean).map((d) => path.resolve(d)),
    ...(threads ? { threads } : {}),
    pollSeconds: Math.min(20, positiveInt(env, ENV_NAMES.pollSeconds) ?? 20),
    idleExitSeconds: idle === 'never' ? null : (positiveInt(env, ENV_NAMES.idleExit) ?? DEFAULT_IDLE_EXIT_SECONDS),
    allowLocalStores: false,
    aws: awsSettings(flags, env),
    ...trainComputeFromEnv(env),
  };
}

function trainComputeFromEnv(env: NodeJS.ProcessEnv): Pick<ServerlessSettings, 'trainCompute' | 'trainBatchQueueUrl' | 'lambdaEnvelope'> {
  const compute = env[ENV_NAMES.trainCompute];
  if (compute === undefined || compute === '') return {};
  if (compute === 'batch') return { trainCompute: 'batch' };
  if (compute !== 'lambda') throw new Error(`${ENV_NAMES.trainCompute} must be lambda or batch, got "${compute}"`);
  const memoryMb = positiveInt(env, ENV_NAMES.lambdaMemory);
  const timeoutSeconds = positiveInt(env, ENV_NAMES.trainTimeout);
  if (!memoryMb || !timeoutSeconds) throw new Error(`${ENV_NAMES.trainCompute}=lambda needs ${ENV_NAMES.lambdaMemory} and ${ENV_NAMES.trainTimeout}`);
  const queue = env[ENV_NAMES.trainBatchQueue];
  return { trainCompute: 'lambda', lambdaEnvelope: { memoryBytes: memoryMb * 2 ** 20, timeoutSeconds }, ...(queue ? { trainBatchQueueUrl: queue } : {}) };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** Names a queue URL the role needs, or says which variable is missing. */
export function requireQueue(settings: ServerlessSettings, stage: Stage): string {
  const url = settings.queueUrls[stage];
  if (!url) throw new Error(`${ENV_NAMES[stage]} is not set: the ${stage} queue this function needs`);
  return url;
}
