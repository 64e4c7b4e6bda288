import onnxProto from 'onnx-proto';
import { ModelError } from '../errors.js';
import type { CutPoint, ModelDescriptor } from './descriptor.js';
import { cudaVariant, type ActivationMode, type CudaVariant, type Precision, type Target } from './targets.js';
import { convertToFloat16 } from './onnx-float16.js';
import { integerValuedModel } from './onnx-int8-exact.js';
import { dequantizeModel, makeBatchDynamic, opsetOf } from './onnx-float-graph.js';
import { pruneDeadNodes } from './onnx-export-prune.js';
import { decodeModel, extendModel, prepareGraph, type PreparedGraph } from './onnx-graph.js';
import type { Int8WeightEncoding } from './int8-weights-choice.js';

const { onnx } = onnxProto;
export { cudaVariant, type ActivationMode, type CudaVariant, type Precision, type Target } from './targets.js';

export interface TargetGraph extends PreparedGraph {
  target: Target;
  /** 'as-shipped' on CPU (int8 stays int8); float16 or float32 on CUDA. */
  precision: Precision | 'as-shipped';
  /** CPU: how the int8 weights were stored (`int8-weights-choice.ts`). */
  int8Weights?: Int8WeightEncoding;
  /** How the int8 graph's quantized activations carried over (CUDA only). */
  activations?: ActivationMode;
  /** The descriptor the graph answers to: on CUDA the batch is dynamic even where the file's was fixed. */
  descriptor: ModelDescriptor;
}

/**
 * Model bytes → the graph a target runs, as bytes: a pure function of (model, cut points, target, precision, int8
 * weight encoding), so a content-addressed cache can key it by the model's sha256 and these arguments.
 *
 * cpu: the int8 graph with the cut points, uint8 RGB input and in-graph normalization (`prepareGraph`), its weights
 * as shipped or shifted to uint8 (`int8Weights`, default 'uint8': exact on every CPU).
 *
 * cuda: the quantized graph becomes a float one (`dequantizeModel`), fixed batches become dynamic, the same cut points
 * and uint8 RGB input with in-graph normalization are added as on CPU, what no code needs is dropped, and the result
 * is stored in float16 where the descriptor says float16 holds (`convertToFloat16`), with float32 codes out. With
 * activations 'int8-exact' the float graph computes the int8 kernels' integers instead (`integerValuedModel`).
 */
export function prepareForTarget(
  modelBytes: Uint8Array,
  descriptor: ModelDescriptor,
  cuts: readonly string[],
  target: Target,
  override: Partial<CudaVariant> = {},
  int8Weights: Int8WeightEncoding = 'uint8',
): TargetGraph {
  if (target === 'cpu') {
    const prepared = prepareGraph(modelBytes, descriptor, cuts, { int8Weights });
    return { ...prepared, target, precision: 'as-shipped', int8Weights, descriptor };
  }
  const { precision, activations } = { ...cudaVariant(descriptor), ...override };
  // Sums of 8-bit products leave float16's 11-bit integers after a few terms: the exact graph is float32 or nothing.
  if (activations === 'int8-exact' && precision !== 'float32')
    throw new ModelError(`${descriptor.name}: activations int8-exact run in float32 only (asked: ${precision})`);
  const model = decodeModel(modelBytes, descriptor.name);
  const { aliases } =
    activations === 'int8-exact'
      ? integerValuedModel(model, descriptor.name)
      : dequantizeModel(model, descriptor.name, activations);
  const graph = model.graph as onnxProto.onnx.GraphProto;
  if (descriptor.input.batch !== 'dynamic') makeBatchDynamic(graph, descriptor.input.name, descriptor.input.batch);
  const floatDescriptor = floatVariant(descriptor, aliases);
  const prepared = extendModel(model, floatDescriptor, cuts);
  pruneDeadNodes(graph);
  if (precision === 'float16') convertToFloat16(graph, opsetOf(model));
  model.producerName = 'cnn-codes';
  model.docString = `${descriptor.name} (sha256 ${descriptor.sha256}) prepared for ${target} in ${precision}, activations ${activations}: cut points ${cuts.join(', ')}`;
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    ...prepared,
    target,
    precision,
    activations,
    descriptor: floatDescriptor,
  };
}

/** The descriptor of the float graph: dynamic batch, cut tensors renamed where a DequantizeLinear was folded away. */
function floatVariant(descriptor: ModelDescriptor, aliases: ReadonlyMap<string, string>): ModelDescriptor {
  const cutPoints: Record<string, CutPoint> = {};
  for (const [name, cut] of Object.entries(descriptor.cutPoints)) {
    const { dequantize: _quantizedOnly, ...rest } = cut;
    cutPoints[name] = { ...rest, tensor: aliases.get(cut.tensor) ?? cut.tensor };
  }
  return { ...descriptor, input: { ...descriptor.input, batch: 'dynamic' }, cutPoints };
}
