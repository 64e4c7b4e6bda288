import { DataError } from '../errors.js';
import { parseNpyHeader, requireCOrder } from './npy-header.js';

/**
 * NumPy .npy v1.0, little-endian, C order: the shard format, so `numpy.load("x.npy")` reads a shard directly.
 * Writes float32/int32; reads those and numpy's defaults (float64, int64) for arrays made in Python.
 */
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type Dtype = '<f4' | '<i4';

export function encodeNpy(data: Float32Array | Int32Array, shape: number[]): Uint8Array {
  const descr: Dtype = data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The whole preamble (10 bytes + header + '\n') is padded with spaces to a multiple of 64 for aligned reads.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

export { parseNpyHeader, type NpyHeader } from './npy-header.js';

export function decodeNpy(bytes: Uint8Array): {
  data: Float32Array | Int32Array | Float64Array | BigInt64Array;
  shape: number[];
} {
  const header = parseNpyHeader(bytes);
  requireCOrder(header);
  const { descr, shape, offset, width } = header;
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - offset < count * width) throw new DataError('.npy file is truncated');
  // Copy so the typed array is aligned whatever the source buffer's offset. Uint8Array.prototype.slice, because
  // Buffer#slice returns a view whose .buffer still starts at the file header.
  const body = Uint8Array.prototype.slice.call(bytes, offset, offset + count * width);
  if (body.byteLength !== count * width) throw new DataError('.npy file is truncated');
  if (descr === '<f4') return { data: new Float32Array(body.buffer, 0, count), shape };
  if (descr === '<i4') return { data: new Int32Array(body.buffer, 0, count), shape };
  if (descr === '<f8') return { data: new Float64Array(body.buffer, 0, count), shape };
  return { data: new BigInt64Array(body.buffer, 0, count), shape };
}

/** Labels are class indices: int32 keeps any realistic class count, and a wrapped int64 would be a silent relabel. */
const MAX_LABEL = 2 ** 31 - 1;

/**
 * A labels .npy → Int32Array, checked before anything is sized by a label: 1-D, integer dtype, every value in
 * 0..2³¹−1 (an int64 beyond int32 is an error, not a wrap), and k = max + 1 ≤ the number of rows (a label of 2³¹−1
 * among 10 rows would otherwise have the trainer allocate 2³¹ classes).
 */
export function decodeNpyLabels(bytes: Uint8Array): Int32Array {
  const header = parseNpyHeader(bytes);
  const { descr, shape, offset } = header;
  if (shape.length !== 1 || (descr !== '<i4' && descr !== '<i8'))
    throw new DataError(`labels must be a 1-D integer array (<i4 or <i8); got ${descr} of shape (${shape.join(', ')})`);
  const n = shape[0]!;
  const width = header.width;
  if (bytes.length - offset < n * width) throw new DataError('.npy file is truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, n * width);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const label = width === 4 ? view.getInt32(i * 4, true) : Number(view.getBigInt64(i * 8, true));
    if (!(label >= 0 && label <= MAX_LABEL))
      throw new DataError(`labels must be integers 0..k−1 within int32; found ${label} at row ${i}`);
    if (label > max) max = label;
  }
  if (max + 1 > n)
    throw new DataError(`labels go up to ${max}, so ${max + 1} classes, more than the ${n} rows: not class indices`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = width === 4 ? view.getInt32(i * 4, true) : Number(view.getBigInt64(i * 8, true));
  return out;
}
