import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { dimsOf, floatTensor, outputElementType, tensorValues } from '../../core/models/onnx-tensors.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/**
 * onnxruntime's CPU provider has no float16 Conv, so a float16 graph cannot run here as it is. This rewrites it into a
 * float32 graph that rounds the same values the GPU stores in float16: float16 weights widen exactly, and every
 * tensor the float16 graph holds in float16 goes through Cast(float16) → Cast(float32) after it is computed. What it
 * does not model is float16 arithmetic inside a kernel (cuDNN accumulates convolutions in float32 by default).
 */
export function emulateFloat16(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const types = new Map<string, number>();
  for (const i of graph.input) types.set(i.name ?? '', i.type?.tensorType?.elemType ?? 0);
  for (const t of graph.initializer) types.set(t.name ?? '', t.dataType ?? 0);
  graph.initializer = graph.initializer.map((t) =>
    t.dataType === T.FLOAT16 ? floatTensor(t.name ?? '', dimsOf(t), tensorValues(t)) : t,
  );
  const nodes: onnxProto.onnx.INodeProto[] = [];
  for (const n of graph.node) {
    const outType = outputElementType(
      n,
      (n.input ?? []).map((i) => types.get(i)),
    );
    for (const o of n.output ?? []) if (outType !== undefined) types.set(o, outType);
    if (outType !== T.FLOAT16) {
      nodes.push(n);
      continue;
    }
    const widened = n.opType === 'Cast' ? { ...n, attribute: [castTo(T.FLOAT)] } : n;
    nodes.push({ ...widened, output: n.output!.map((o) => `${o}/exact`) });
    for (const o of n.output!) nodes.push(cast(`${o}/exact`, `${o}/half`, T.FLOAT16), cast(`${o}/half`, o, T.FLOAT));
  }
  graph.node = nodes;
  return onnx.ModelProto.encode(model).finish();
}

/** Codes of one output, batch by batch. The optimizer is off by default: it must not fold emulating casts away. */
export async function runCodes(
  bytes: Uint8Array,
  inputName: string,
  output: string,
  crops: readonly Uint8Array[],
  size: [number, number],
  optimize = false,
  batch = 16,
): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: optimize ? 'all' : 'disabled',
    intraOpNumThreads: 2,
  });
  const rows: Float32Array[] = [];
  try {
    for (let start = 0; start < crops.length; start += batch) {
      const chunk = crops.slice(start, start + batch);
      const data = new Uint8Array(chunk.reduce((s, c) => s + c.byteLength, 0));
      chunk.forEach((c, i) => data.set(c, i * c.byteLength));
      const result = (
        await session.run({ [inputName]: new ort.Tensor('uint8', data, [chunk.length, size[0], size[1], 3]) }, [output])
      )[output]!;
      const codes = result.data as Float32Array;
      const dim = codes.length / chunk.length;
      for (let i = 0; i < chunk.length; i++) rows.push(codes.slice(i * dim, (i + 1) * dim));
    }
  } finally {
    await session.release();
  }
  return rows;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function castTo(to: number): onnxProto.onnx.IAttributeProto {
  return { name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to };
}

function cast(input: string, output: string, to: number): onnxProto.onnx.INodeProto {
  return {
    opType: 'Cast',
    input: [input],
    output: [output],
    name: `${input}/emulated-cast-${to}`,
    domain: '',
    attribute: [castTo(to)],
  };
}
