import { availableParallelism } from 'node:os';
import { ModelError } from '../errors.js';
import type { Embedder, EmbedItem, EmbedResult } from '../ports/embedder.js';
import { sessionWorkerInit, WorkerSet, workerInit, type PoolOptions } from './extraction-pool.js';

/** Images per GPU batch unless told otherwise: large enough to fill a GPU with a MobileNet or a ResNet-50. */
export const GPU_BATCH_SIZE = 128;

/**
 * Embedder for one GPU: decoding, the CPU's share, runs on every vCPU (one `decode` worker each), and one `infer`
 * worker owns the single GPU session. A batch is split across all decoders, its crops gathered and sent to the GPU as
 * one batch; callers keep `parallelism × 2` batches in flight, so while the GPU runs one batch the decoders work on
 * the next ones and the caller's reads (S3 GETs) fill the batch after that.
 */
export class GpuPool implements Embedder {
  /** Batches in flight per side: one on the GPU, one being decoded (the caller doubles it). */
  readonly parallelism = 2;

  private constructor(
    private readonly decoders: WorkerSet,
    private readonly gpu: WorkerSet,
    readonly batchSize: number,
  ) {}

  static async start(options: PoolOptions): Promise<GpuPool> {
    const decoders = Math.max(1, options.workers ?? availableParallelism());
    const [decode, infer] = await Promise.all([
      WorkerSet.start(workerInit(options, 'decode'), decoders),
      sessionWorkerInit(options, 'infer').then(({ init }) => WorkerSet.start(init, 1)),
    ]);
    return new GpuPool(decode, infer, options.batchSize ?? GPU_BATCH_SIZE);
  }

  async embedBatch(items: EmbedItem[]): Promise<EmbedResult[]> {
    const share = Math.ceil(items.length / this.decoders.size);
    const parts = await Promise.all(
      Array.from({ length: Math.ceil(items.length / share) }, (_, k) =>
        this.decoders.request({ items: items.slice(k * share, (k + 1) * share) }),
      ),
    );
    const decoded = parts.flatMap((p) => ('decoded' in p ? p.decoded : []));
    const results: EmbedResult[] = decoded.filter((d) => 'error' in d);
    const crops = decoded.filter((d) => 'crop' in d);
    if (crops.length > 0) {
      const reply = await this.gpu.request(
        { crops },
        crops.map((c) => c.crop.buffer as ArrayBuffer),
      );
      if (!('results' in reply)) throw new ModelError('GPU worker answered without results');
      results.push(...reply.results);
    }
    return results;
  }

  async close(): Promise<void> {
    await Promise.all([this.decoders.close(), this.gpu.close()]);
  }
}
