import { arraySizeFor, MAX_ARRAY_SIZE, workersToAdd } from './sizing.js';

/** The environment variable through which the stack hands the dispatcher its pools, as a JSON array. */
import { ENV } from '../../contracts/cross-process.js';

export const DISPATCH_POOLS_ENV = ENV.dispatchPools;

/** A queue drained by Batch workers of one job definition. */
export interface WorkerPool {
  name: string;
  queueUrl: string;
  jobQueue: string;
  jobDefinition: string;
  jobName: string;
  messagesPerWorker: number;
  maxWorkers: number;
}

export interface JobSubmission {
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  arraySize?: number;
}

export interface DispatchPorts {
  backlog(queueUrl: string): Promise<number>;
  /** Workers of `jobName` on `jobQueue` not yet finished, counting every child of an array job. */
  activeWorkers(jobQueue: string, jobName: string): Promise<number>;
  /** Returns the job id. */
  submit(job: JobSubmission): Promise<string>;
}

export interface PoolDispatch {
  pool: string;
  backlog: number;
  active: number;
  added: number;
  jobId?: string;
}

/** Tops up each pool's workers to its backlog. Pools are independent: one failing does not stop the others. */
export async function dispatchWorkers(pools: readonly WorkerPool[], ports: DispatchPorts): Promise<PoolDispatch[]> {
  const settled = await Promise.allSettled(pools.map((pool) => dispatchPool(pool, ports)));
  const failures = settled.flatMap((s, i) =>
    s.status === 'rejected' ? [{ pool: pools[i]!.name, reason: s.reason as unknown }] : [],
  );
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.reason),
      `dispatch failed for ${failures.map((f) => f.pool).join(', ')}`,
    );
  }
  return settled.map((s) => (s as PromiseFulfilledResult<PoolDispatch>).value);
}

async function dispatchPool(pool: WorkerPool, ports: DispatchPorts): Promise<PoolDispatch> {
  const backlog = await ports.backlog(pool.queueUrl);
  if (backlog === 0) return { pool: pool.name, backlog, active: 0, added: 0 };
  const active = await ports.activeWorkers(pool.jobQueue, pool.jobName);
  const added = workersToAdd({
    backlog,
    active,
    messagesPerWorker: pool.messagesPerWorker,
    maxWorkers: pool.maxWorkers,
  });
  if (added === 0) return { pool: pool.name, backlog, active, added };
  const arraySize = arraySizeFor(added);
  const jobId = await ports.submit({
    jobName: pool.jobName,
    jobQueue: pool.jobQueue,
    jobDefinition: pool.jobDefinition,
    ...(arraySize === undefined ? {} : { arraySize }),
  });
  return { pool: pool.name, backlog, active, added, jobId };
}

/** Reads the pools the stack wrote into the environment, naming the field that is wrong. */
export function parsePools(json: string | undefined): WorkerPool[] {
  if (!json) throw new Error(`${DISPATCH_POOLS_ENV} is not set`);
  const raw: unknown = JSON.parse(json);
  if (!Array.isArray(raw)) throw new Error(`${DISPATCH_POOLS_ENV}: expected a JSON array`);
  return raw.map((entry: Record<string, unknown>, i) => {
    const field = <T>(key: keyof WorkerPool, ok: (v: unknown) => boolean): T => {
      if (!ok(entry?.[key]))
        throw new Error(`${DISPATCH_POOLS_ENV}[${i}].${key}: invalid ${JSON.stringify(entry?.[key])}`);
      return entry[key] as T;
    };
    const text = (v: unknown) => typeof v === 'string' && v.length > 0;
    const count = (max: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max;
    return {
      name: field<string>('name', text),
      queueUrl: field<string>('queueUrl', text),
      jobQueue: field<string>('jobQueue', text),
      jobDefinition: field<string>('jobDefinition', text),
      jobName: field<string>('jobName', text),
      messagesPerWorker: field<number>('messagesPerWorker', count(Number.MAX_SAFE_INTEGER)),
      maxWorkers: field<number>('maxWorkers', count(MAX_ARRAY_SIZE)),
    };
  });
}
