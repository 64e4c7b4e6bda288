/** AWS Batch array jobs have between 2 and 10,000 children. */
export const MAX_ARRAY_SIZE = 10_000;

export interface PoolLoad {
  /** Messages waiting in the pool's queue (visible ones: in-flight messages already have a worker). */
  backlog: number;
  /** Workers already submitted and not finished. */
  active: number;
  /** Backlog one worker is expected to drain; more backlog than that earns another worker. */
  messagesPerWorker: number;
  maxWorkers: number;
}

/** Workers to add so that active + added = ⌈backlog / messagesPerWorker⌉, capped at maxWorkers. */
export function workersToAdd(load: PoolLoad): number {
  if (load.backlog <= 0) return 0;
  const wanted = Math.min(load.maxWorkers, Math.ceil(load.backlog / load.messagesPerWorker));
  return Math.max(0, wanted - load.active);
}

/** One submission per dispatch: an array job for two or more workers, a plain job for one. */
export function arraySizeFor(workers: number): number | undefined {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_ARRAY_SIZE) {
    throw new RangeError(`cannot submit ${workers} workers (1..${MAX_ARRAY_SIZE})`);
  }
  return workers === 1 ? undefined : workers;
}
