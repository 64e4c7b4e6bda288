import { startExtractionPool } from './start-pool.js';
import type { Int8WeightsSetting } from '../models/int8-weights-choice.js';
import { resolveModelFile, type RegisteredModel } from '../models/registry.js';
import type { Embedder } from '../ports/embedder.js';

export interface BackboneOptions {
  modelsDirs: string[];
  executionProvider: 'cpu' | 'cuda';
  /** Runs `executionProvider`'s graph on this provider instead (cpu: the GPU worker's graph without a GPU). */
  sessionProvider?: 'cpu';
  threads?: number;
  preparedGraphCacheDir?: string;
  int8Weights?: Int8WeightsSetting;
}

/**
 * One backbone session pool per process, reused by every message for the same model and cut points: loading the
 * graph and starting the workers costs far more than a shard. The embedders it hands out do not close it.
 */
export class SharedBackbone {
  private current?: { key: string; pool: Promise<Embedder> };

  constructor(private readonly options: BackboneOptions) {}

  open = async (model: RegisteredModel, cuts: string[]): Promise<Embedder> => {
    const key = `${model.descriptor.sha256}:${[...cuts].sort().join(',')}`;
    if (this.current?.key !== key) {
      await this.close();
      this.current = { key, pool: this.start(model, cuts) };
    }
    const entry = this.current;
    const pool = await entry.pool.catch((err: unknown) => {
      if (this.current === entry) this.current = undefined;
      throw err;
    });
    return {
      parallelism: pool.parallelism,
      batchSize: pool.batchSize,
      embedBatch: (items) =>
        pool.embedBatch(items).catch((err: unknown) => {
          // A crashed worker thread poisons the pool; the next message starts a fresh one.
          if (this.current === entry) {
            this.current = undefined;
            void pool.close();
          }
          throw err;
        }),
      close: async () => {},
    };
  };

  async close(): Promise<void> {
    const entry = this.current;
    this.current = undefined;
    if (entry) await (await entry.pool.catch(() => undefined))?.close();
  }

  private async start(model: RegisteredModel, cuts: string[]): Promise<Embedder> {
    const resolved = await resolveModelFile(model, { modelsDirs: this.options.modelsDirs, allowDownload: false });
    return startExtractionPool({
      modelPath: resolved.path,
      descriptor: model.descriptor,
      cuts,
      executionProvider: this.options.sessionProvider ?? this.options.executionProvider,
      target: this.options.executionProvider,
      ...(this.options.threads ? { workers: this.options.threads } : {}),
      ...(this.options.int8Weights ? { int8Weights: this.options.int8Weights } : {}),
      ...(this.options.preparedGraphCacheDir ? { preparedGraphCacheDir: this.options.preparedGraphCacheDir } : {}),
    });
  }
}
