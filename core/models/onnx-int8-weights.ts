import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.GraphProto;
type Tensor = onnxProto.onnx.ITensorProto;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const INT8 = onnx.TensorProto.DataType.INT8;

/**
 * Rewrites int8 weights that meet uint8 activations as uint8 weights with zero point + 128: the same numbers
 * ((w + 128) − (z + 128) = w − z), but a different kernel. On x86 CPUs with AVX2 and no VNNI, onnxruntime runs
 * u8·s8 products with VPMADDUBSW, which saturates pairs of products at int16: measured on mobilenetv2-12-int8, the first
 * QLinearConv is off by up to 48 of 255 and the ImageNet top-1 of 3 of 8 val ants changes. The u8·u8 kernel widens
 * first and is exact, so codes become identical on every CPU, in onnxruntime-web and in Python (and a little faster).
 * Models whose activations are int8 (s8·s8) do not take that path and are left alone.
 */
export function useExactInt8Kernels(graph: Graph): number {
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const producers = new Map(graph.node.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const consumers = new Map<string, onnxProto.onnx.INodeProto[]>();
  for (const n of graph.node) {
    for (const i of n.input ?? []) {
      if (!consumers.has(i)) consumers.set(i, []);
      consumers.get(i)!.push(n);
    }
  }
  const isType = (name: string | undefined, type: number) =>
    name !== undefined && initializers.get(name)?.dataType === type;
  const copies = new Map<string, string>();
  const asUint8 = (name: string): string => {
    const existing = copies.get(name);
    if (existing) return existing;
    const copy = shiftedToUint8(initializers.get(name)!, `${name}/u8`);
    graph.initializer.push(copy);
    copies.set(name, copy.name!);
    return copy.name!;
  };

  let rewritten = 0;
  for (const n of graph.node) {
    const inputs = n.input ?? [];
    // QOperator format: x, x_scale, x_zp, w, w_scale, w_zp, …
    if (
      (n.opType === 'QLinearConv' || n.opType === 'QLinearMatMul') &&
      isType(inputs[2], UINT8) &&
      isType(inputs[3], INT8) &&
      isType(inputs[5], INT8)
    ) {
      inputs[3] = asUint8(inputs[3]!);
      inputs[5] = asUint8(inputs[5]!);
      rewritten += 1;
    }
    // QDQ format: DequantizeLinear(w: int8 initializer) feeding the weight input of a Conv/MatMul/Gemm whose data input
    // is dequantized from uint8; onnxruntime fuses these into the same integer kernels.
    if (n.opType === 'DequantizeLinear' && isType(inputs[0], INT8) && isType(inputs[2], INT8)) {
      const users = consumers.get(n.output?.[0] ?? '') ?? [];
      const feedsUint8Weights =
        users.length > 0 &&
        users.every((u) => {
          if (!['Conv', 'MatMul', 'Gemm'].includes(u.opType ?? '') || u.input?.[1] !== n.output?.[0]) return false;
          const data = producers.get(u.input?.[0] ?? '');
          return data?.opType === 'DequantizeLinear' && isType(data.input?.[2], UINT8);
        });
      if (feedsUint8Weights) {
        inputs[0] = asUint8(inputs[0]!);
        inputs[2] = asUint8(inputs[2]!);
        rewritten += 1;
      }
    }
  }
  // The int8 originals are now unused; onnxruntime would log a warning for each one it drops.
  const used = new Set(graph.node.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer.filter((t) => !copies.has(t.name ?? '') || used.has(t.name ?? ''));
  return rewritten;
}

function shiftedToUint8(t: Tensor, name: string): Tensor {
  const values =
    t.rawData && t.rawData.length > 0
      ? Array.from(new Int8Array(t.rawData.buffer, t.rawData.byteOffset, t.rawData.length))
      : Array.from(t.int32Data ?? []);
  return { name, dims: t.dims ?? [], dataType: UINT8, rawData: Uint8Array.from(values, (v) => v + 128) };
}
