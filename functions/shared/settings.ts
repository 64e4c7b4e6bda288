import * as path from 'node:path';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { awsSettings, type AwsFlags, type AwsSettings } from '../../aws/endpoints.js';
import { ENV, STAGES, type Stage } from '../../contracts/cross-process.js';
import type { DistributedDeps } from '../../core/use-cases/distributed/deps.js';
import type { ExtractCompute } from '../../core/use-cases/distributed/shard-sizing.js';
import { parseDecodeSetting, type DecodeSetting } from '../../core/models/descriptor.js';
import { parseInt8WeightsSetting, type Int8WeightsSetting } from '../../core/models/int8-weights-choice.js';
import { optional } from '../../core/util/optional.js';

/** Everything a deployed function or worker is configured with. Built from the environment once per process. */
export interface ServerlessSettings {
  bucket: string;
  queueUrls: Partial<Record<Stage, string>>;
  /** Default model for runs without one, and the model of incremental (S3 notification) extraction. */
  model: string;
  /** Cut points incremental extraction caches. */
  cuts: string[];
  /** Images per extract message for runs without one; absent: the planner sizes shards for `extractCompute`. */
  shardSize?: number;
  extractCompute?: ExtractCompute;
  executionProvider: 'cpu' | 'cuda';
  /** The provider that runs the session, where it is not `executionProvider` (cpu: the CUDA graph without a GPU). */
  sessionProvider?: 'cpu';
  modelsDirs: string[];
  /** Extraction worker threads per process (default: one per core). */
  threads?: number;
  /** CNN_CODES_WEIGHT_ENCODING and CNN_CODES_DECODE, as the CLI reads them (default auto and exact). */
  int8Weights: Int8WeightsSetting;
  decode: DecodeSetting;
  /** Seconds between a worker's SendTaskHeartbeat calls while it works on a state machine task (default 5). */
  heartbeatSeconds?: number;
  /** Long-poll wait per receive (SQS allows 0..20); also the longest a graceful shutdown waits for a poll to end. */
  pollSeconds: number;
  /** A polling worker exits after this long without work (Batch jobs); null: never (a service). */
  idleExitSeconds: number | null;
  /** Local folders in messages (the CLI worker and tests only). */
  allowLocalStores: boolean;
  aws: AwsSettings;
  /**
   * Where heads are fitted here: the train-head Lambda (which answers sets too large for its envelope as 'batch', for
   * the state machine's Batch CPU job, when the deployment has one) or that job. Unset: fit everything here.
   */
  trainCompute?: DistributedDeps['trainCompute'];
}

/** Set by Lambda itself (not a name of ours): the function's memory in MB, the envelope a train fit is checked against. */
const LAMBDA_MEMORY_ENV = 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE';

export const DEFAULT_IDLE_EXIT_SECONDS = 120;

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
  const provider = env[ENV.executionProvider] ?? 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda')
    throw new Error(`${ENV.executionProvider} must be cpu or cuda, got "${provider}"`);
  const session = env[ENV.sessionProvider];
  if (session && session !== 'cpu') throw new Error(`${ENV.sessionProvider} must be cpu or unset, got "${session}"`);
  const threads = positiveInt(env, ENV.threads);
  const idle = env[ENV.idleExit];
  return {
    bucket,
    queueUrls: queueUrlsFromEnv(env),
    model: env[ENV.model] || DEFAULT_MODEL,
    cuts: (env[ENV.cuts] || 'final')
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean),
    ...optional('shardSize', positiveInt(env, ENV.shardSize)),
    extractCompute: extractComputeFromEnv(env, provider),
    executionProvider: provider,
    ...(session ? { sessionProvider: 'cpu' as const } : {}),
    modelsDirs: (env[ENV.modelsDir] ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => path.resolve(d)),
    ...(threads ? { threads } : {}),
    int8Weights: parseInt8WeightsSetting(env[ENV.int8Weights], ENV.int8Weights),
    decode: parseDecodeSetting(env[ENV.decode], ENV.decode),
    pollSeconds: Math.min(20, positiveInt(env, ENV.pollSeconds) ?? 20),
    idleExitSeconds: idle === 'never' ? null : (positiveInt(env, ENV.idleExit) ?? DEFAULT_IDLE_EXIT_SECONDS),
    allowLocalStores: false,
    aws: awsSettings(flags, env),
    ...trainComputeFromEnv(env),
  };
}

/** What runs extract messages: named by the deployment, else a GPU worker when it uses CUDA, else a CPU worker. */
function extractComputeFromEnv(env: NodeJS.ProcessEnv, provider: 'cpu' | 'cuda'): ExtractCompute {
  const kind = env[ENV.extractCompute] || (provider === 'cuda' ? 'gpu' : 'cpu');
  if (kind !== 'cpu' && kind !== 'gpu' && kind !== 'lambda')
    throw new Error(`${ENV.extractCompute} must be cpu, gpu or lambda, got "${kind}"`);
  return { kind, ...optional('timeLimitSeconds', positiveInt(env, ENV.extractTimeLimit)) };
}

function trainComputeFromEnv(env: NodeJS.ProcessEnv): Pick<ServerlessSettings, 'trainCompute'> {
  const compute = env[ENV.trainCompute];
  if (compute === undefined || compute === '') return {};
  if (compute === 'batch') return { trainCompute: { runsOn: 'batch' } };
  if (compute !== 'lambda') throw new Error(`${ENV.trainCompute} must be lambda or batch, got "${compute}"`);
  const memoryMb = positiveInt(env, LAMBDA_MEMORY_ENV);
  const timeoutSeconds = positiveInt(env, ENV.trainTimeoutSeconds);
  if (!memoryMb || !timeoutSeconds)
    throw new Error(`${ENV.trainCompute}=lambda needs ${LAMBDA_MEMORY_ENV} and ${ENV.trainTimeoutSeconds}`);
  // The deployment names the Batch CPU train job's queue only where that job exists.
  const batchJob = !!env[ENV.trainBatchQueueUrl];
  return {
    trainCompute: { runsOn: 'lambda', envelope: { memoryBytes: memoryMb * 2 ** 20, timeoutSeconds }, batchJob },
  };
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
  if (!url) throw new Error(`${ENV.queueUrl[stage]} is not set: the ${stage} queue this function needs`);
  return url;
}
