import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from 'constructs';
import { DEFAULT_MODEL } from '../core/models/builtin.js';

/** The repository root: this file runs as dist/infra/config.js. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ExtractCompute = 'gpu' | 'cpu';

/** Everything a deployment may choose, read once from CDK context (`cdk.json` or `-c key=value`). */
export interface PipelineConfig {
  /** A second deployment in the same account and region only needs another stack name. */
  stackName: string;
  /** GPU: Batch workers on g5/g6 instances. CPU: a Lambda container image per extract message, for small datasets. */
  extractCompute: ExtractCompute;
  /** Instance types of the GPU compute environment (g5, g6 or g6e). */
  gpuInstanceTypes: string[];
  /** Run the GPU compute environment on Spot capacity. */
  spot: boolean;
  /** Upper bound of the GPU compute environment; it scales to zero between runs. */
  maxGpuVcpus: number;
  /**
   * Images per extract message, only when the deployer asks (`-c shardSize=N` → `CNN_CODES_SHARD_SIZE`). Absent (the
   * default), the planner sizes every run for the compute that runs it (shard-sizing.ts) and records why in plan.json:
   * one rule, not a second table of sizes in the stack.
   */
  shardSize?: number;
  /** The deployment's default model (`CNN_CODES_MODEL`): runs that name none, and incremental extraction. */
  model: string;
  /** Backlog one GPU worker is expected to drain before the dispatcher adds another. */
  extractMessagesPerWorker: number;
  /** Most GPU extract workers the dispatcher runs at once. */
  maxExtractWorkers: number;
  /** Most fine-tune jobs running at once. */
  maxFineTuneJobs: number;
  /** Cap on concurrent CPU extract Lambdas, so a big upload cannot exhaust the account's concurrency. */
  maxCpuExtractConcurrency: number;
  /** Days after which objects under the bucket's tmp/ prefix expire. */
  tmpExpirationDays: number;
  /** Only the bucket, queues, notification and alarms: what an emulator (LocalStack via cdklocal) can host. */
  storageOnly: boolean;
  /** Subscribed to the DLQ alarms' topic when given. */
  alarmEmail?: string;
  /** Where the runtime sources are; a stand-in tree lets the stack be developed before the runtime exists. */
  sourceRoot: string;
}

export const CONTEXT_DEFAULTS: Readonly<Omit<PipelineConfig, 'alarmEmail' | 'sourceRoot' | 'shardSize'>> = {
  stackName: 'CnnCodes',
  extractCompute: 'gpu',
  gpuInstanceTypes: ['g5.xlarge', 'g6.xlarge'],
  spot: false,
  maxGpuVcpus: 16,
  model: DEFAULT_MODEL,
  // 4 planner-sized GPU shards (4,096 images each, shard-sizing.ts): a ~16k-image backlog per worker.
  extractMessagesPerWorker: 4,
  maxExtractWorkers: 4,
  maxFineTuneJobs: 1,
  maxCpuExtractConcurrency: 10,
  tmpExpirationDays: 7,
  storageOnly: false,
};

const GPU_INSTANCE_TYPE = /^(g5|g6|g6e)\.[0-9]*x?large$/;
const MODEL_NAME = /^[A-Za-z0-9._-]+$/;

export function readConfig(node: Node): PipelineConfig {
  const ctx = (key: string): unknown => node.tryGetContext(key);
  const d = CONTEXT_DEFAULTS;
  const config: PipelineConfig = {
    stackName: text('stackName', ctx('stackName') ?? d.stackName, /^[A-Za-z][A-Za-z0-9-]{0,127}$/),
    extractCompute: oneOf('extractCompute', ctx('extractCompute') ?? d.extractCompute, ['gpu', 'cpu'] as const),
    gpuInstanceTypes: stringList('gpuInstanceTypes', ctx('gpuInstanceTypes') ?? d.gpuInstanceTypes),
    spot: bool('spot', ctx('spot') ?? d.spot),
    maxGpuVcpus: int('maxGpuVcpus', ctx('maxGpuVcpus') ?? d.maxGpuVcpus, 1, 4096),
    model: text('model', ctx('model') ?? d.model, MODEL_NAME),
    extractMessagesPerWorker: int(
      'extractMessagesPerWorker',
      ctx('extractMessagesPerWorker') ?? d.extractMessagesPerWorker,
      1,
      1_000_000,
    ),
    maxExtractWorkers: int('maxExtractWorkers', ctx('maxExtractWorkers') ?? d.maxExtractWorkers, 1, 10_000),
    maxFineTuneJobs: int('maxFineTuneJobs', ctx('maxFineTuneJobs') ?? d.maxFineTuneJobs, 1, 100),
    // SQS event sources accept a maximum concurrency of 2 to 1000.
    maxCpuExtractConcurrency: int(
      'maxCpuExtractConcurrency',
      ctx('maxCpuExtractConcurrency') ?? d.maxCpuExtractConcurrency,
      2,
      1000,
    ),
    tmpExpirationDays: int('tmpExpirationDays', ctx('tmpExpirationDays') ?? d.tmpExpirationDays, 1, 3650),
    storageOnly: bool('storageOnly', ctx('storageOnly') ?? d.storageOnly),
    sourceRoot: path.resolve(REPO_ROOT, text('sourceRoot', ctx('sourceRoot') ?? '.', /./)),
  };
  const shardSize = ctx('shardSize');
  if (shardSize !== undefined && shardSize !== '') config.shardSize = int('shardSize', shardSize, 1, 10_000);
  const email = ctx('alarmEmail');
  if (email !== undefined && email !== '') config.alarmEmail = text('alarmEmail', email, /^[^@\s]+@[^@\s]+$/);
  for (const type of config.gpuInstanceTypes) {
    if (!GPU_INSTANCE_TYPE.test(type)) fail('gpuInstanceTypes', `"${type}" is not a g5/g6/g6e instance type`);
  }
  return config;
}

function fail(key: string, why: string): never {
  throw new Error(`CDK context "${key}": ${why}`);
}

// `-c key=value` always arrives as a string; cdk.json values keep their JSON type. Both are accepted.

function text(key: string, value: unknown, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value))
    fail(key, `expected a string matching ${pattern}, got ${JSON.stringify(value)}`);
  return value;
}

function int(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    fail(key, `expected an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return n;
}

function bool(key: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(key, `expected true or false, got ${JSON.stringify(value)}`);
}

function stringList(key: string, value: unknown): string[] {
  const list =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string')) {
    fail(key, `expected a non-empty list (JSON array or comma-separated), got ${JSON.stringify(value)}`);
  }
  return list as string[];
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) fail(key, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}
