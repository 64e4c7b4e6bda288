import type { ActivationMode, ModelDescriptor } from './descriptor.js';

/**
 * Where a prepared graph runs: the int8 (or fp32) graph as shipped on CPU, a float graph on CUDA. Kept apart from
 * prepare-target.ts so that code keyed by target (the code cache) does not load the ONNX protobuf code.
 */
export type Target = 'cpu' | 'cuda';
export type Precision = 'float16' | 'float32';

/** Declared with the descriptor, which holds it (`targets.cuda.activations`). */
export type { ActivationMode };

/** How a model runs on CUDA (more knobs may follow; the descriptor's `targets.cuda` holds them). */
export interface CudaVariant {
  precision: Precision;
  activations: ActivationMode;
}

/** The CUDA variant a descriptor asks for: float32 unless the model says float16 holds its accuracy. */
export function cudaVariant(descriptor: ModelDescriptor): CudaVariant {
  const cuda = descriptor.targets?.cuda;
  return { precision: cuda?.precision ?? 'float32', activations: cuda?.activations ?? 'clamp' };
}
