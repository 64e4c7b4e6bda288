import onnxProto from 'onnx-proto';
import type { CutPoint, ModelDescriptor } from './descriptor.js';
import { cudaVariant, type CudaVariant, type Precision, type Target } from './targets.js';
import { convertToFloat16 } from './onnx-float16.js';
import { dequantizeModel, makeBatchDynamic, opsetOf } from './onnx-float-graph.js';
import { pruneDeadNodes } from './onnx-export-prune.js';
import { decodeModel, extendModel, prepareGraph, type PreparedGraph } from './onnx-graph.js';

const { onnx } = onnxProto;
export { cudaVariant, type CudaVariant, type Precision, type Target } from './targets.js';

export interface TargetGraph extends PreparedGraph {
  target: Target;
  /** 'as-shipped' on CPU (int8 stays int8); float16 or float32 on CUDA. */
  precision: Precision | 'as-shipped';
  /** The descriptor the graph answers to: on CUDA the batch is dynamic even where the file's was fixed. */
  descriptor: ModelDescriptor;
}

/**
 * Model bytes → the graph a target runs, as bytes: a pure function of (model, cut points, target, precision), so a
 * content-addressed cache can key it by the model's sha256 and these arguments.
 *
 * cuda: the quantized graph becomes a float one (`dequantizeModel`), fixed batches become dynamic, the same cut points
 * and uint8 RGB input with in-graph normalization are added as on CPU, what no code needs is dropped, and the result
 * is stored in float16 where the descriptor says float16 holds (`convertToFloat16`), with float32 codes out.
 */
export function prepareForTarget(
  modelBytes: Uint8Array,
  descriptor: ModelDescriptor,
  cuts: readonly string[],
  target: Target,
  override: Partial<CudaVariant> = {},
): TargetGraph {
  if (target === 'cpu') return { ...prepareGraph(modelBytes, descriptor, cuts), target, precision: 'as-shipped', descriptor };
  const { precision } = { ...cudaVariant(descriptor), ...override };
  const model = decodeModel(modelBytes, descriptor.name);
  const { aliases } = dequantizeModel(model, descriptor.name);
  const graph = model.graph as onnxProto.onnx.GraphProto;
  if (descriptor.input.batch !== 'dynamic') makeBatchDynamic(graph, descriptor.input.name, descriptor.input.batch);
  const floatDescriptor = floatVariant(descriptor, aliases);
  const prepared = extendModel(model, floatDescriptor, cuts);
  pruneDeadNodes(graph);
  if (precision === 'float16') convertToFloat16(graph, opsetOf(model));
  model.producerName = 'cnn-codes';
  model.docString = `${descriptor.name} (sha256 ${descriptor.sha256}) prepared for ${target} in ${precision}: cut points ${cuts.join(', ')}`;
  return { bytes: onnx.ModelProto.encode(model).finish(), ...prepared, target, precision, descriptor: floatDescriptor };
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
