import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ModelError } from '../errors.js';
import type { Embedder, EmbedItem, EmbedResult } from '../ports/embedder.js';
import type { ExecutionProvider } from './onnx-backbone.js';
import type { InferRequest, WorkerInit, WorkerReply, WorkerRequest, WorkerRole } from './worker-protocol.js';
import type { ModelDescriptor } from '../models/descriptor.js';
import type { Target } from '../models/targets.js';
import { loadPreparedGraph } from '../models/prepared-graph-cache.js';
import type { Int8WeightsSetting } from '../models/int8-weights-choice.js';

/**
 * Defaults set by bench/extract.ts's "worker split" tables, re-measured after the inference (weights as shipped) and
 * decode (in-thread libvips) changes of issue 20: 398 hymenoptera images in process, start-up included, the splits
 * alternated, best of N rounds, on a 2-vCPU EPYC shared with four other engineers (bench/results/extract-split-*).
 * On 2 cores (3 rounds, load 4.9-5.8), 2 workers × 1 thread at batch 4 / 8 / 16 / 32 gave 243 / 252 / 256 / 243
 * images/s (7.5-8.0 CPU ms an image), 1 worker × 2 threads 193, 3 and 4 workers 239 and 217; a 5-round rerun at load
 * 5-12 gave 112 / 118 / 81 / 85 for the batches, so 8 and 16 are within the noise of each other. On 1 core (taskset,
 * 5 rounds), batch 4 / 8 / 16 / 32 gave 132 / 138 / 129 / 123 and 2 workers 125. One single-threaded session per
 * core, each decoding its own batches, at batch 8: the best on one core and within noise of 16 on two, where the first
 * result comes sooner; with the pool's two batches in flight per worker, no worker waits for work.
 */
export const DEFAULT_BATCH_SIZE = 8;

export interface PoolOptions {
  modelPath: string;
  descriptor: ModelDescriptor;
  cuts: string[];
  /** Worker threads; default one per core (each with a single-threaded session). */
  workers?: number;
  threadsPerWorker?: number;
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  /** Graph to run; defaults to the provider's (`prepareForTarget`). */
  target?: Target;
  limitInputPixels?: number;
  /** Where prepared graphs are cached (content-addressed); without it the graph is prepared in memory, once. */
  preparedGraphCacheDir?: string;
  /** CPU: int8 weights as shipped, as uint8, or 'auto' (default: as shipped where this CPU's u8·s8 kernel is exact). */
  int8Weights?: Int8WeightsSetting;
}

/** Where the CPU pool's time went, for benchmarks and logs. */
export interface PoolStats {
  workers: number;
  /** Start of `start()` → the prepared graph was at hand (cache hit or surgery). */
  prepareMs: number;
  preparedFromCache: boolean;
  /** Start of `start()` → every worker's session loaded. */
  readyMs: number;
  /** Start of `start()` → the first batch's codes were back. */
  firstResultMs?: number;
  images: number;
  /** Summed over workers. */
  decodeMs: number;
  inferMs: number;
}

/** Embedder over worker threads that each decode and infer (the CPU pool); each batch goes to the least busy one. */
export class ExtractionPool implements Embedder {
  readonly parallelism: number;
  private readonly statsSoFar: PoolStats;

  private constructor(
    private readonly workers: WorkerSet,
    readonly batchSize: number,
    private readonly started: number,
    stats: PoolStats,
  ) {
    this.parallelism = workers.size;
    this.statsSoFar = stats;
  }

  /**
   * The graph is prepared (or read from the cache) once here, not in every worker; the workers then only load their
   * sessions from it.
   */
  static async start(options: PoolOptions): Promise<ExtractionPool> {
    const started = performance.now();
    const count = Math.max(1, options.workers ?? availableParallelism());
    const batchSize =
      options.descriptor.input.batch === 'dynamic'
        ? (options.batchSize ?? DEFAULT_BATCH_SIZE)
        : options.descriptor.input.batch;
    const { init, cached } = await sessionWorkerInit(options, 'embed');
    const prepareMs = performance.now() - started;
    const workers = await WorkerSet.start(init, count);
    const stats: PoolStats = {
      workers: count,
      prepareMs,
      preparedFromCache: cached,
      readyMs: performance.now() - started,
      images: 0,
      decodeMs: 0,
      inferMs: 0,
    };
    return new ExtractionPool(workers, batchSize, started, stats);
  }

  get stats(): PoolStats {
    return { ...this.statsSoFar };
  }

  async embedBatch(items: EmbedItem[]): Promise<EmbedResult[]> {
    const reply = await this.workers.request({ items });
    if (!('results' in reply)) throw new ModelError('extraction worker answered without results');
    const s = this.statsSoFar;
    s.firstResultMs ??= performance.now() - this.started;
    s.images += reply.results.length;
    s.decodeMs += reply.times?.decodeMs ?? 0;
    s.inferMs += reply.times?.inferMs ?? 0;
    return reply.results;
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}

type Reply = Exclude<WorkerReply, { ready: true } | { fatal: string }>;

/**
 * Worker threads of one role and the bookkeeping of their requests: each request goes to the least busy worker and
 * its promise settles with that worker's reply. A crashed worker fails every pending and later request.
 */
export class WorkerSet {
  private readonly slots: Array<{ worker: Worker; busy: number }>;
  private readonly pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void; slot: { busy: number } }
  >();
  private nextBatch = 0;
  private failure?: Error;
  private closing = false;

  private constructor(workers: Worker[]) {
    this.slots = workers.map((worker) => ({ worker, busy: 0 }));
    for (const slot of this.slots) {
      slot.worker.on('message', (reply: WorkerReply) => this.onReply(reply));
      slot.worker.on('error', (err) =>
        this.fail(new ModelError(`extraction worker crashed: ${err.message}`, { cause: err })),
      );
      slot.worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new ModelError(`extraction worker exited with code ${code}`));
      });
    }
  }

  static async start(init: WorkerInit, count: number): Promise<WorkerSet> {
    return new WorkerSet(await Promise.all(Array.from({ length: count }, () => startWorker(init))));
  }

  get size(): number {
    return this.slots.length;
  }

  request(
    body: Omit<WorkerRequest, 'batchId'> | Omit<InferRequest, 'batchId'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const batchId = this.nextBatch++;
    slot.busy += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(batchId, { resolve, reject, slot });
      slot.worker.postMessage({ batchId, ...body }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private onReply(reply: WorkerReply): void {
    if ('ready' in reply) return;
    const waiter = this.pending.get(reply.batchId);
    if (!waiter) return;
    this.pending.delete(reply.batchId);
    waiter.slot.busy -= 1;
    if ('fatal' in reply) waiter.reject(new ModelError(`extraction failed: ${reply.fatal}`));
    else waiter.resolve(reply);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, waiter] of this.pending) {
      waiter.reject(err);
      this.pending.delete(id);
    }
  }
}

export function workerInit(options: PoolOptions, role: WorkerRole): WorkerInit {
  const executionProvider = options.executionProvider ?? 'cpu';
  return {
    role,
    modelPath: options.modelPath,
    descriptor: options.descriptor,
    cuts: options.cuts,
    threadsPerWorker: options.threadsPerWorker ?? 1,
    executionProvider,
    target: options.target ?? executionProvider,
    limitInputPixels: options.limitInputPixels ?? 100_000_000,
  };
}

/**
 * The set-up of a worker that runs a session (`embed`, `infer`), with the prepared graph it loads: read from the cache
 * of prepared graphs (or prepared once, here, for all workers), so no worker prepares its own.
 */
export async function sessionWorkerInit(
  options: PoolOptions,
  role: WorkerRole,
): Promise<{ init: WorkerInit; cached: boolean }> {
  const init = workerInit(options, role);
  const graph = await loadPreparedGraph(options.modelPath, options.descriptor, options.cuts, {
    target: init.target,
    ...(options.preparedGraphCacheDir ? { cacheDir: options.preparedGraphCacheDir } : {}),
    ...(options.int8Weights ? { int8Weights: options.int8Weights } : {}),
  });
  const { inputName, outputs, precision, descriptor } = graph;
  init.graph = {
    inputName,
    outputs,
    precision,
    descriptor,
    ...(graph.path ? { path: graph.path } : { bytes: graph.bytes! }),
  };
  return { init, cached: graph.cached };
}

/** Starts one extraction worker thread and waits until its session (if any) is loaded. */
export async function startWorker(init: WorkerInit): Promise<Worker> {
  const worker = new Worker(new URL('./extract-worker.js', import.meta.url), { workerData: init });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: WorkerReply): void => {
      if ('ready' in m) {
        worker.off('error', onError);
        resolve();
      }
    };
    const onError = (err: Error): void =>
      reject(new ModelError(`extraction worker failed to start: ${err.message}`, { cause: err }));
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
  return worker;
}
