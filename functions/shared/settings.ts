import * as path from 'node:path';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { awsSettings, type AwsFlags, type AwsSettings } from '../../aws/endpoints.js';
import { ENV, STAGES, type Stage } from '../../contracts/cross-process.js';
import type { DistributedDeps } from '../../core/use-cases/distributed/deps.js';
import type { ExtractCompute } from '../../core/use-cases/distributed/shard-sizing.js';
import { parseDecodeSetting, type DecodeSetting } from '../../core/models/descriptor.js';
import { parseInt8WeightsSetting, type Int8WeightsSetting } from '../../core/models/int8-weights-choice.js';
import { optional } from '../../core/util/optional.js';

/**
 * Everything a deployed function or worker is configured with, each from the variable contracts/cross-process.ts
 * documents beside its ENV name. Built from the environment once per process (or by `cnn-codes worker` from flags).
 */
export interface ServerlessSettings {
  bucket: string;
  queueUrls: Partial<Record<Stage, string>>;
  model: string;
  cuts: string[];
  shardSize?: number;
  extractCompute?: ExtractCompute;
  executionProvider: 'cpu' | 'cuda';
  sessionProvider?: 'cpu';
  modelsDirs: string[];
  threads?: number;
  int8Weights: Int8WeightsSetting;
  decode: DecodeSetting;
  /** Long-poll wait per receive (SQS allows 0..20); also the longest a graceful shutdown waits for a poll to end. */
  pollSeconds: number;
  /** A polling worker exits after this long without work (Batch jobs); null: never (a service). */
  idleExitSeconds: number | null;
  aws: AwsSettings;
  trainCompute?: DistributedDeps['trainCompute'];
}

/** Set by Lambda itself (not a name of ours): the function's memory in MB, the envelope a train fit is checked against. */
const LAMBDA_MEMORY_ENV = 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE';

/** The stage queues whose CNN_CODES_<STAGE>_QUEUE_URL is set; the functions and the CLI read them the same way. */
export function queueUrlsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<Stage, string>> {
  const queueUrls: Partial<Record<Stage, string>> = {};
  for (const stage of STAGES) {
    const url = env[ENV.queueUrl[stage]];
    if (url) queueUrls[stage] = url;
  }
  return queueUrls;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, flags: AwsFlags = {}): ServerlessSettings {
  const bucket = env[ENV.bucket];
  if (!bucket) throw new Error(`${ENV.bucket} is not set: the bucket that holds datasets/, cache/ and runs/`);
  const provider = choice(env, ENV.executionProvider, ['cpu', 'cuda']);
  return {
    bucket,
    queueUrls: queueUrlsFromEnv(env),
    model: env[ENV.model] || DEFAULT_MODEL,
    cuts: (env[ENV.cuts] || 'final').split(',').flatMap((c) => (c.trim() ? [c.trim()] : [])),
    ...optional('shardSize', positiveInt(env, ENV.shardSize)),
    // What runs extract messages: named by the deployment, else a GPU worker when it uses CUDA, else a CPU worker.
    extractCompute: {
      kind: choice(env, ENV.extractCompute, ['cpu', 'gpu', 'lambda'], provider === 'cuda' ? 'gpu' : 'cpu'),
      ...optional('timeLimitSeconds', positiveInt(env, ENV.extractTimeLimit)),
    },
    executionProvider: provider,
    ...optional('sessionProvider', env[ENV.sessionProvider] ? choice(env, ENV.sessionProvider, ['cpu']) : undefined),
    modelsDirs: (env[ENV.modelsDir] ?? '').split(path.delimiter).flatMap((d) => (d ? [path.resolve(d)] : [])),
    ...optional('threads', positiveInt(env, ENV.threads)),
    int8Weights: parseInt8WeightsSetting(env[ENV.int8Weights], ENV.int8Weights),
    decode: parseDecodeSetting(env[ENV.decode], ENV.decode),
    pollSeconds: Math.min(20, positiveInt(env, ENV.pollSeconds) ?? 20),
    idleExitSeconds: env[ENV.idleExit] === 'never' ? null : (positiveInt(env, ENV.idleExit) ?? 120),
    aws: awsSettings(flags, env),
    ...optional('trainCompute', trainComputeFromEnv(env)),
  };
}

/** A variable that takes one of `choices`; unset or empty, `fallback`. */
function choice<const T extends string>(env: NodeJS.ProcessEnv, name: string, choices: T[], fallback = choices[0]!): T {
  const value = env[name] || fallback;
  if (!choices.includes(value as T)) throw new Error(`${name} must be ${choices.join(' or ')}, got "${value}"`);
  return value as T;
}

function trainComputeFromEnv(env: NodeJS.ProcessEnv): ServerlessSettings['trainCompute'] {
  if (!env[ENV.trainCompute]) return undefined;
  if (choice(env, ENV.trainCompute, ['lambda', 'batch']) === 'batch') return { runsOn: 'batch' };
  const memoryMb = positiveInt(env, LAMBDA_MEMORY_ENV);
  const timeoutSeconds = positiveInt(env, ENV.trainTimeoutSeconds);
  if (!memoryMb || !timeoutSeconds)
    throw new Error(`${ENV.trainCompute}=lambda needs ${LAMBDA_MEMORY_ENV} and ${ENV.trainTimeoutSeconds}`);
  // The deployment names the Batch CPU train job's queue only where that job exists.
  const batchJob = !!env[ENV.trainBatchQueueUrl];
  return { runsOn: 'lambda', envelope: { memoryBytes: memoryMb * 2 ** 20, timeoutSeconds }, batchJob };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}
