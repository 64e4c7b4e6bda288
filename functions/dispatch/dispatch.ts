import * as v from 'valibot';
import { ENV } from '../../contracts/cross-process.js';
import { expected, integer, problemsOf, text } from '../../core/workspace/schema.js';

/** AWS Batch array jobs have between 2 and 10,000 children. */
export const MAX_ARRAY_SIZE = 10_000;

const named = v.pipe(text, v.nonEmpty(expected('a non-empty string')));

/** A queue drained by Batch workers of one job definition. */
const workerPool = v.object({
  name: named,
  queueUrl: named,
  jobQueue: named,
  jobDefinition: named,
  jobName: named,
  /** Backlog one worker is expected to drain; more backlog than that earns another worker. */
  messagesPerWorker: integer(1, Number.MAX_SAFE_INTEGER),
  maxWorkers: integer(1, MAX_ARRAY_SIZE),
});
export type WorkerPool = v.InferOutput<typeof workerPool>;

export interface JobSubmission {
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  arraySize?: number;
}

export interface DispatchPorts {
  /** Messages waiting in the pool's queue (visible ones: in-flight messages already have a worker). */
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

/** Workers to add so that active + added = ⌈backlog / messagesPerWorker⌉, capped at maxWorkers. */
export function workersToAdd(
  load: Pick<WorkerPool, 'messagesPerWorker' | 'maxWorkers'> & { backlog: number; active: number },
): number {
  if (load.backlog <= 0) return 0;
  const wanted = Math.min(load.maxWorkers, Math.ceil(load.backlog / load.messagesPerWorker));
  return Math.max(0, wanted - load.active);
}

/** One submission per dispatch: an array job for two or more workers, a plain job for one. */
export function arraySizeFor(workers: number): number | undefined {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_ARRAY_SIZE)
    throw new RangeError(`cannot submit ${workers} workers (1..${MAX_ARRAY_SIZE})`);
  return workers === 1 ? undefined : workers;
}

/** Tops up each pool's workers to its backlog. Pools are independent: one failing does not stop the others. */
export async function dispatchWorkers(pools: readonly WorkerPool[], ports: DispatchPorts): Promise<PoolDispatch[]> {
  const settled = await Promise.allSettled(pools.map((pool) => dispatchPool(pool, ports)));
  const failed = pools.filter((_, i) => settled[i]!.status === 'rejected').map((p) => p.name);
  if (failed.length > 0)
    throw new AggregateError(
      settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : [])),
      `dispatch failed for ${failed.join(', ')}`,
    );
  return settled.map((s) => (s as PromiseFulfilledResult<PoolDispatch>).value);
}

async function dispatchPool(pool: WorkerPool, ports: DispatchPorts): Promise<PoolDispatch> {
  const backlog = await ports.backlog(pool.queueUrl);
  if (backlog === 0) return { pool: pool.name, backlog, active: 0, added: 0 };
  const active = await ports.activeWorkers(pool.jobQueue, pool.jobName);
  const added = workersToAdd({ ...pool, backlog, active });
  if (added === 0) return { pool: pool.name, backlog, active, added };
  const arraySize = arraySizeFor(added);
  const { jobName, jobQueue, jobDefinition } = pool;
  const jobId = await ports.submit({ jobName, jobQueue, jobDefinition, ...(arraySize ? { arraySize } : {}) });
  return { pool: pool.name, backlog, active, added, jobId };
}

/** Reads the pools the stack wrote into the environment, naming the field that is wrong. */
export function parsePools(json: string | undefined): WorkerPool[] {
  if (!json) throw new Error(`${ENV.dispatchPools} is not set`);
  const parsed = v.safeParse(v.array(workerPool, 'expected a JSON array'), JSON.parse(json));
  if (!parsed.success) throw new Error(problemsOf(parsed.issues, ENV.dispatchPools).join('; '));
  return parsed.output;
}
