import onnxProto from 'onnx-proto';
import { ModelError } from '../errors.js';

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.ITensorProto;
const T = onnx.TensorProto.DataType;

/**
 * Reads a constant tensor's values as numbers, whichever storage its writer chose (raw little-endian bytes or a typed
 * field): the converters below dequantize weights and rewrite shapes, and models in the wild use both.
 */
export function tensorValues(t: Tensor): number[] {
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const fromRaw = (bytes: number, read: (offset: number) => number): number[] =>
    Array.from({ length: view!.byteLength / bytes }, (_, i) => read(i * bytes));
  switch (t.dataType) {
    case T.FLOAT:
      return view ? fromRaw(4, (o) => view.getFloat32(o, true)) : Array.from(t.floatData ?? []);
    case T.DOUBLE:
      return view ? fromRaw(8, (o) => view.getFloat64(o, true)) : Array.from(t.doubleData ?? []);
    case T.FLOAT16:
      return view ? fromRaw(2, (o) => view.getFloat16(o, true)) : Array.from(t.int32Data ?? [], halfBitsToNumber);
    case T.UINT8:
      return view ? fromRaw(1, (o) => view.getUint8(o)) : Array.from(t.int32Data ?? []);
    case T.INT8:
      return view ? fromRaw(1, (o) => view.getInt8(o)) : Array.from(t.int32Data ?? []);
    case T.INT32:
      return view ? fromRaw(4, (o) => view.getInt32(o, true)) : Array.from(t.int32Data ?? []);
    case T.INT64:
      return view
        ? fromRaw(8, (o) => Number(view.getBigInt64(o, true)))
        : Array.from(t.int64Data ?? [], (v) => Number(v));
    default:
      throw new ModelError(`tensor "${t.name}": cannot read element type ${t.dataType}`);
  }
}

export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
  return { name, dims: [...dims], dataType: T.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

/** float32 values rounded to the nearest IEEE half (what a cast to float16 does), stored raw. */
export function float16Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
  return { name, dims: [...dims], dataType: T.FLOAT16, rawData: new Uint8Array(Float16Array.from(values).buffer) };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): Tensor {
  return {
    name,
    dims: [...dims],
    dataType: T.INT64,
    rawData: new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer),
  };
}

const INT64_OUTPUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);

/**
 * The element type a node's outputs have, from its inputs' types: enough inference for the backbone graphs here
 * (Cast says it, QuantizeLinear yields its zero point's type (uint8 without one), DequantizeLinear its scale's,
 * shape-like ops int64, everything else follows its first float input).
 */
export function outputElementType(
  n: onnxProto.onnx.INodeProto,
  inputTypes: ReadonlyArray<number | undefined>,
): number | undefined {
  const op = n.opType ?? '';
  if (op === 'Cast') return Number((n.attribute ?? []).find((a) => a.name === 'to')?.i ?? 0);
  if (op === 'QuantizeLinear') return inputTypes[2] ?? T.UINT8;
  if (op === 'DequantizeLinear') return inputTypes[1] ?? T.FLOAT;
  if (INT64_OUTPUT.has(op)) return T.INT64;
  return inputTypes.find((t) => t === T.FLOAT || t === T.FLOAT16) ?? inputTypes[0];
}

export function dimsOf(t: Tensor): number[] {
  return (t.dims ?? []).map((d) => Number(d));
}

function halfBitsToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(2));
  view.setUint16(0, bits, true);
  return view.getFloat16(0, true);
}
