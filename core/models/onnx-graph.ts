import onnxProto from 'onnx-proto';
import { ModelError } from '../errors.js';
import type { CutPoint, ModelDescriptor } from './descriptor.js';
import type { Int8WeightEncoding } from './int8-weights-choice.js';
import { pruneDeadNodes } from './onnx-export-prune.js';
import { useExactInt8Kernels } from './onnx-int8-weights.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.GraphProto;
type Node = onnxProto.onnx.INodeProto;

/** Name of the uint8 NHWC input added by `withRawRgbInput`: callers pass sharp's raw bytes as they are. */
export const RAW_INPUT = 'cnn_codes/rgb';
export const codeOutputName = (cut: string): string => `cnn_codes/${cut}`;

export interface PreparedGraph {
  bytes: Uint8Array;
  /** The input to feed: RAW_INPUT (uint8 NHWC) after `withRawRgbInput`, else the model's own. */
  inputName: string;
  /** Cut point name → graph output carrying its pooled float32 [N, dim] code. */
  outputs: Record<string, string>;
}

export interface ExtendOptions {
  /** false keeps a float32 model's own normalized input (for callers that normalize themselves). Default true. */
  rawRgbInput?: boolean;
  /**
   * How int8 weights that meet uint8 activations are stored (`int8-weights-choice.ts`). Default 'uint8': exact on
   * every CPU and runtime, which is what an exported file needs; the extraction pool passes the CPU's choice.
   */
  int8Weights?: Int8WeightEncoding;
}

/**
 * Extends a backbone so that one forward pass yields every requested cut point as a pooled float vector, and so that
 * the input is the raw RGB crop: per-pixel work (cast, layout, normalization) and pooling run in the ONNX graph, not
 * in JavaScript loops. The original classifier is dropped from the file: onnxruntime does not prune nodes that no
 * output reads (it ran the 1000-way QLinearMatMul for nothing).
 */
export function prepareGraph(
  modelBytes: Uint8Array,
  descriptor: ModelDescriptor,
  cuts: readonly string[],
  options: Pick<ExtendOptions, 'int8Weights'> = {},
): PreparedGraph {
  const model = decodeModel(modelBytes, descriptor.name);
  const { inputName, outputs } = extendModel(model, descriptor, cuts, options);
  pruneDeadNodes(model.graph as Graph);
  return { bytes: onnx.ModelProto.encode(model).finish(), inputName, outputs };
}

export function decodeModel(modelBytes: Uint8Array, name: string): Model {
  try {
    return onnx.ModelProto.decode(modelBytes);
  } catch (err) {
    throw new ModelError(`${name}: not a readable ONNX model`, { cause: err });
  }
}

/** The surgery of `prepareGraph` on a decoded model, in place, so that an exporter can keep building on the graph. */
export function extendModel(
  model: Model,
  descriptor: ModelDescriptor,
  cuts: readonly string[],
  options: ExtendOptions = {},
): Omit<PreparedGraph, 'bytes'> {
  const graph = model.graph as Graph | null | undefined;
  if (!graph) throw new ModelError(`${descriptor.name}: ONNX model has no graph`);

  const outputs: Record<string, string> = {};
  const newOutputs: onnxProto.onnx.IValueInfoProto[] = [];
  for (const cut of cuts) {
    const spec = descriptor.cutPoints[cut];
    if (!spec)
      throw new ModelError(
        `${descriptor.name} has no cut point "${cut}" (has: ${Object.keys(descriptor.cutPoints).join(', ')})`,
      );
    outputs[cut] = appendPooledCode(graph, cut, spec, descriptor.name);
    newOutputs.push(floatOutput(outputs[cut], spec.dim, descriptor.input.batch));
  }
  graph.output = newOutputs;
  if ((options.int8Weights ?? 'uint8') === 'uint8') useExactInt8Kernels(graph);

  const raw = descriptor.input.dtype === 'float32' && (options.rawRgbInput ?? true);
  if (raw) withRawRgbInput(graph, descriptor);
  return { inputName: raw ? RAW_INPUT : descriptor.input.name, outputs };
}

function appendPooledCode(graph: Graph, cut: string, spec: CutPoint, modelName: string): string {
  const producer = graph.node.find((n) => n.output?.includes(spec.tensor));
  const isInput = graph.input.some((i) => i.name === spec.tensor);
  if (!producer && !isInput)
    throw new ModelError(`${modelName}: cut point "${cut}" names tensor "${spec.tensor}", which is not in the graph`);

  const prefix = `cnn_codes/${cut}`;
  let tensor = spec.tensor;
  const quant = spec.dequantize ?? (producer ? quantParamsOf(graph, spec.tensor, producer) : undefined);
  if (quant) {
    graph.node.push(node('DequantizeLinear', [tensor, quant.scale, quant.zeroPoint], `${prefix}/dequantized`));
    tensor = `${prefix}/dequantized`;
  }
  if ((spec.layout ?? 'NCHW') === 'NCHW') {
    graph.node.push(node('GlobalAveragePool', [tensor], `${prefix}/pooled`));
    tensor = `${prefix}/pooled`;
  }
  const out = codeOutputName(cut);
  graph.node.push(
    node('Flatten', [tensor], out, [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
  );
  return out;
}

/**
 * Where a QOperator producer keeps its output scale and zero point (input positions); QDQ graphs have float tensors
 * at their cut points and need none. A table keyed by op is explicit and fails loudly for unknown quantized ops.
 */
const OUTPUT_QUANT_INPUTS: Record<string, [number, number]> = {
  QuantizeLinear: [1, 2],
  QLinearConv: [6, 7],
  QLinearAdd: [6, 7],
  QLinearMul: [6, 7],
  QLinearMatMul: [6, 7],
  QLinearGlobalAveragePool: [3, 4],
  QLinearAveragePool: [3, 4],
  QLinearSigmoid: [3, 4],
  QLinearLeakyRelu: [3, 4],
  QLinearConcat: [0, 1],
};

function quantParamsOf(graph: Graph, tensor: string, producer: Node): { scale: string; zeroPoint: string } | undefined {
  const op = producer.opType ?? '';
  const at = OUTPUT_QUANT_INPUTS[op];
  if (at) {
    const inputs = producer.input ?? [];
    const scale = inputs[at[0]];
    const zeroPoint = inputs[at[1]];
    if (!scale || !zeroPoint) throw new ModelError(`${op} producing "${tensor}" lacks output scale/zero point`);
    return { scale, zeroPoint };
  }
  if (op.startsWith('QLinear'))
    throw new ModelError(
      `cannot dequantize "${tensor}": unsupported producer ${op}; give "dequantize" in the descriptor`,
    );
  return undefined;
}

/**
 * Replaces the model's float input with a uint8 [N, H, W, 3] one: Cast → (x − mean/scale) · (scale/std) →
 * (Transpose to NCHW). Feeding raw bytes also quarters what crosses from JavaScript into the runtime.
 *
 * The normalization runs on rows of W·3 values against constants tiled to one row: a per-channel [1, 1, 1, 3] (or,
 * after the Transpose, [1, 3, 1, 1]) operand made onnxruntime's broadcast loop go element by element, and the
 * Transpose is moved past the element-wise ops and cancelled against the first NHWC convolution's, so they ran on
 * NHWC with an innermost dimension of 3: 2.2 ms per image, half the stock model's whole inference. On whole rows
 * they are vector loops (~0.1 ms). The arithmetic per element is the same Sub then Mul in float32.
 */
function withRawRgbInput(graph: Graph, descriptor: ModelDescriptor): void {
  const { input, preprocess } = descriptor;
  const original = graph.input.findIndex((i) => i.name === input.name);
  if (original < 0) throw new ModelError(`${descriptor.name}: input "${input.name}" is not a graph input`);
  graph.input.splice(original, 1);

  const [h, w] = input.size;
  graph.input.unshift({
    name: RAW_INPUT,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.UINT8,
        shape: { dim: [batchDim(input.batch), { dimValue: h }, { dimValue: w }, { dimValue: 3 }] },
      },
    },
  });
  const nchw = input.layout === 'NCHW';
  const tiled = (perChannel: number[]) => Array.from({ length: w * 3 }, (_, i) => perChannel[i % 3]!);
  graph.initializer.push(
    floatTensor('cnn_codes/offset', [w * 3], tiled(preprocess.mean.map((m) => m / preprocess.scale))),
    floatTensor('cnn_codes/gain', [w * 3], tiled(preprocess.std.map((s) => preprocess.scale / s))),
    int64Tensor('cnn_codes/rows_shape', [0, h, w * 3]),
    int64Tensor('cnn_codes/nhwc_shape', [0, h, w, 3]),
  );

  const ints = onnx.AttributeProto.AttributeType;
  const nodes: Node[] = [
    node('Cast', [RAW_INPUT], 'cnn_codes/rgb_float', [
      { name: 'to', type: ints.INT, i: onnx.TensorProto.DataType.FLOAT },
    ]),
    node('Reshape', ['cnn_codes/rgb_float', 'cnn_codes/rows_shape'], 'cnn_codes/rgb_rows'),
    node('Sub', ['cnn_codes/rgb_rows', 'cnn_codes/offset'], 'cnn_codes/centered'),
    node('Mul', ['cnn_codes/centered', 'cnn_codes/gain'], 'cnn_codes/normalized_rows'),
    node('Reshape', ['cnn_codes/normalized_rows', 'cnn_codes/nhwc_shape'], nchw ? 'cnn_codes/normalized' : input.name),
  ];
  if (nchw)
    nodes.push(
      node('Transpose', ['cnn_codes/normalized'], input.name, [{ name: 'perm', type: ints.INTS, ints: [0, 3, 1, 2] }]),
    );
  graph.node.unshift(...nodes);
}

function node(opType: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []): Node {
  return { opType, input, output: [output], name: `${output}/${opType}`, attribute, domain: '' };
}

function floatTensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values };
}

function int64Tensor(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

function floatOutput(name: string, dim: number, batch: 'dynamic' | number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [batchDim(batch), { dimValue: dim }] } },
    },
  };
}

function batchDim(batch: 'dynamic' | number): onnxProto.onnx.TensorShapeProto.IDimension {
  return batch === 'dynamic' ? { dimParam: 'N' } : { dimValue: batch };
}
