import type { ModelDescriptor } from './descriptor.js';

/**
 * Where a prepared graph runs: the int8 (or fp32) graph as shipped on CPU, a float graph on CUDA. Kept apart from
 * prepare-target.ts so that code keyed by target (the code cache) does not load the ONNX protobuf code.
 */
export type Target = 'cpu' | 'cuda';
export type Precision = 'float16' | 'float32';

/** How a model runs on CUDA (more knobs may follow; the descriptor's `targets.cuda` holds them). */
/**
 * What becomes of each activation the int8 graph quantized: 'clamp' keeps only the range its quantization implied (a
 * Clip); 'int8-rounding' keeps the rounding too (QuantizeLinear → DequantizeLinear, float32 in and out); 'int8-exact'
 * computes on the integers themselves, held in float32, so that every rounding matches the int8 kernels' (QOperator
 * graphs only; float32 only).
 */
export type ActivationMode = 'clamp' | 'int8-rounding' | 'int8-exact';

export interface CudaVariant {
  precision: Precision;
  activations: ActivationMode;
}

/** The CUDA variant a descriptor asks for: float32 unless the model says float16 holds its accuracy. */
export function cudaVariant(descriptor: ModelDescriptor): CudaVariant {
  const cuda = descriptor.targets?.cuda;
  return { precision: cuda?.precision ?? 'float32', activations: cuda?.activations ?? 'clamp' };
}
