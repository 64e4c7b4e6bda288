import type { Embedder } from '../ports/embedder.js';
import { ExtractionPool, type PoolOptions } from './extraction-pool.js';
import { GpuPool } from './gpu-pool.js';

/**
 * The pool for a provider: on CPU, workers that each decode and infer; on CUDA, decoders on every vCPU feeding one GPU
 * session that runs the float graph (`prepareForTarget(…, 'cuda')`, from the cache of prepared graphs like the CPU one).
 */
export function startExtractionPool(options: PoolOptions): Promise<Embedder> {
  return options.executionProvider === 'cuda' ? GpuPool.start(options) : ExtractionPool.start(options);
}
