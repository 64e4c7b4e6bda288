import onnxProto from 'onnx-proto';
import { cudaSupportsFloat16 } from './cuda-kernels.js';
import { dimsOf, float16Tensor, outputElementType, tensorValues } from './onnx-tensors.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.GraphProto;
type Node = onnxProto.onnx.INodeProto;
const T = onnx.TensorProto.DataType;

/** Ops kept in float32 even where a float16 kernel exists: their scale inputs are float32 before opset 19. */
const KEEP_FLOAT32 = new Set(['DequantizeLinear', 'QuantizeLinear']);

/**
 * Converts a float32 graph to float16 where onnxruntime's CUDA provider has a float16 kernel for the op at this opset,
 * keeping the graph's inputs and outputs as they are: a Cast goes in wherever a float32 tensor meets a float16 op and
 * back, weights are stored as float16 (half the bytes to move), and the input Cast of the raw RGB bytes turns to
 * float16 directly. Returns each tensor's element type after conversion (the op test reads it).
 */
export function convertToFloat16(graph: Graph, opset: number): Map<string, number> {
  const types = new Map<string, number>();
  for (const i of graph.input) types.set(i.name ?? '', i.type?.tensorType?.elemType ?? T.FLOAT);
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  for (const [name, t] of initializers) types.set(name, t.dataType ?? T.FLOAT);
  const casts = new Map<string, string>();
  const nodes: Node[] = [];

  /** The tensor `name` as `to`: a float16 copy of a constant, or a Cast shared by every consumer. */
  const as = (name: string, to: number): string => {
    const key = `${name}/${to === T.FLOAT16 ? 'fp16' : 'fp32'}`;
    if (casts.has(key)) return key;
    const constant = initializers.get(name);
    if (constant && to === T.FLOAT16)
      graph.initializer.push(float16Tensor(key, dimsOf(constant), tensorValues(constant)));
    else nodes.push(castNode(name, key, to));
    casts.set(key, key);
    types.set(key, to);
    return key;
  };

  for (const n of graph.node) {
    const op = n.opType ?? '';
    const inputs = n.input ?? [];
    const castTo = op === 'Cast' ? Number((n.attribute ?? []).find((a) => a.name === 'to')?.i ?? 0) : undefined;
    const floatIn = inputs.some((i) => isFloat(types.get(i)));
    const half = (floatIn || castTo === T.FLOAT) && !KEEP_FLOAT32.has(op) && cudaSupportsFloat16(op, opset);
    const want = half ? T.FLOAT16 : T.FLOAT;
    const converted = inputs.map((i) => (i && isFloat(types.get(i)) && types.get(i) !== want ? as(i, want) : i));
    if (half && castTo === T.FLOAT)
      n.attribute = (n.attribute ?? []).map((a) => (a.name === 'to' ? { ...a, i: T.FLOAT16 } : a));
    nodes.push({ ...n, input: converted });
    const outType = outputElementType(
      nodes[nodes.length - 1]!,
      converted.map((i) => types.get(i)),
    );
    for (const o of n.output ?? []) if (outType !== undefined) types.set(o, outType);
  }
  graph.node = nodes;

  // Outputs keep their declared float32: the last producer writes a float16 twin, a Cast restores the name.
  for (const output of graph.output) {
    const name = output.name ?? '';
    if (types.get(name) !== T.FLOAT16) continue;
    const twin = `${name}/fp16`;
    for (const n of graph.node) {
      n.output = (n.output ?? []).map((o) => (o === name ? twin : o));
      n.input = (n.input ?? []).map((i) => (i === name ? twin : i));
    }
    graph.node.push(castNode(twin, name, T.FLOAT));
    types.set(twin, T.FLOAT16);
    types.set(name, T.FLOAT);
  }
  const used = new Set(graph.node.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name ?? ''));
  graph.valueInfo = [];
  return types;
}

function isFloat(type: number | undefined): boolean {
  return type === T.FLOAT || type === T.FLOAT16;
}

function castNode(input: string, output: string, to: number): Node {
  return {
    opType: 'Cast',
    input: [input],
    output: [output],
    name: `${output}/Cast`,
    domain: '',
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  };
}
