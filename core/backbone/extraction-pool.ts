import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ModelError } from '../errors.js';
import type { Embedder, EmbedItem, EmbedResult } from '../ports/embedder.js';
import type { ExecutionProvider } from './onnx-backbone.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';
import type { ModelDescriptor } from '../models/descriptor.js';

export interface PoolOptions {
  modelPath: string;
  descriptor: ModelDescriptor;
  cuts: string[];
  /** Worker threads; default one per core (each with a single-threaded session). */
  workers?: number;
  threadsPerWorker?: number;
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  limitInputPixels?: number;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** Embedder over worker threads; each batch goes to the least busy worker. */
export class ExtractionPool implements Embedder {
  readonly parallelism: number;
  readonly batchSize: number;
  private readonly slots: Slot[];
  private readonly pending = new Map<number, { resolve: (r: EmbedResult[]) => void; reject: (e: Error) => void; slot: Slot }>();
  private nextBatch = 0;
  private failure?: Error;
  private closing = false;

  private constructor(slots: Slot[], batchSize: number) {
    this.slots = slots;
    this.parallelism = slots.length;
    this.batchSize = batchSize;
    for (const slot of slots) {
      slot.worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
      slot.worker.on('error', (err) => this.fail(new ModelError(`extraction worker crashed: ${err.message}`, { cause: err })));
      slot.worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new ModelError(`extraction worker exited with code ${code}`));
      });
    }
  }

  static async start(options: PoolOptions): Promise<ExtractionPool> {
    const count = Math.max(1, options.workers ?? availableParallelism());
    const batchSize = options.descriptor.input.batch === 'dynamic' ? (options.batchSize ?? 8) : options.descriptor.input.batch;
    const init: WorkerInit = {
      modelPath: options.modelPath,
      descriptor: options.descriptor,
      cuts: options.cuts,
      threadsPerWorker: options.threadsPerWorker ?? 1,
      executionProvider: options.executionProvider ?? 'cpu',
      limitInputPixels: options.limitInputPixels ?? 100_000_000,
    };
    const url = new URL('./extract-worker.js', import.meta.url);
    const slots = await Promise.all(
      Array.from({ length: count }, async () => {
        const worker = new Worker(url, { workerData: init });
        await new Promise<void>((resolve, reject) => {
          const onMessage = (m: WorkerReply): void => {
            if ('ready' in m) {
              worker.off('error', onError);
              resolve();
            }
          };
          const onError = (err: Error): void => reject(new ModelError(`extraction worker failed to start: ${err.message}`, { cause: err }));
          worker.once('message', onMessage);
          worker.once('error', onError);
        });
        return { worker, busy: 0 };
      }),
    );
    return new ExtractionPool(slots, batchSize);
  }

  embedBatch(items: EmbedItem[]): Promise<EmbedResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const batchId = this.nextBatch++;
    slot.busy += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(batchId, { resolve, reject, slot });
      const request: WorkerRequest = { batchId, items };
      slot.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if ('ready' in reply) return;
    const waiter = this.pending.get(reply.batchId);
    if (!waiter) return;
    this.pending.delete(reply.batchId);
    slot.busy -= 1;
    if ('fatal' in reply) waiter.reject(new ModelError(`extraction failed: ${reply.fatal}`));
    else waiter.resolve(reply.results);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, waiter] of this.pending) {
      waiter.reject(err);
      this.pending.delete(id);
    }
  }
}
