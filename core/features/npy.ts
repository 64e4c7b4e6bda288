import { DataError } from '../errors.js';

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

export interface NpyHeader {
  descr: string;
  shape: number[];
  /** Byte offset of the first value. */
  offset: number;
  /** Bytes per value. */
  width: number;
}

/** Parses a .npy preamble (the first bytes of the file: 10 + header length suffice, 64 KiB always do). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new DataError('not a .npy file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start + headerLen) throw new DataError('.npy header is truncated');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new DataError('.npy in Fortran order is not supported');
  if (shapeText === undefined) throw new DataError('.npy header has no shape');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const width = descr === '<f8' || descr === '<i8' ? 8 : 4;
  if (descr !== '<f4' && descr !== '<i4' && width !== 8) throw new DataError(`.npy dtype ${descr} is not supported`);
  return { descr: descr!, shape, offset: start + headerLen, width };
}

export function decodeNpy(bytes: Uint8Array): {
  data: Float32Array | Int32Array | Float64Array | BigInt64Array;
  shape: number[];
} {
  const { descr, shape, offset, width } = parseNpyHeader(bytes);
  const count = shape.reduce((a, b) => a * b, 1);
  // Copy so the typed array is aligned whatever the source buffer's offset. Uint8Array.prototype.slice, because
  // Buffer#slice returns a view whose .buffer still starts at the file header.
  const body = Uint8Array.prototype.slice.call(bytes, offset, offset + count * width);
  if (body.byteLength !== count * width) throw new DataError('.npy file is truncated');
  if (descr === '<f4') return { data: new Float32Array(body.buffer, 0, count), shape };
  if (descr === '<i4') return { data: new Int32Array(body.buffer, 0, count), shape };
  if (descr === '<f8') return { data: new Float64Array(body.buffer, 0, count), shape };
  return { data: new BigInt64Array(body.buffer, 0, count), shape };
}
