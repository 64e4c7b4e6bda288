import type { Embedder } from '../ports/embedder.js';
import { ExtractionPool, type PoolOptions } from './extraction-pool.js';
import { GpuPool } from './gpu-pool.js';

/**
 * The pool for a target: on CPU, workers that each decode and infer; on CUDA, decoders on every vCPU feeding one GPU
 * session that runs the float graph (`prepareForTarget(…, 'cuda')`, from the cache of prepared graphs like the CPU one).
 * The CUDA target keeps the GPU layout when its session runs on the CPU provider (the GPU worker under test).
 */
export function startExtractionPool(options: PoolOptions): Promise<Embedder> {
  return (options.target ?? options.executionProvider) === 'cuda'
    ? GpuPool.start(options)
    : ExtractionPool.start(options);
}
