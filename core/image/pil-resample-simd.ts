/**
 * The two passes of Pillow's 8-bit resample (`pil-resample.ts`) in WebAssembly SIMD, with the same integers: int32
 * products of 8-bit pixels and 22-bit fixed-point weights, summed from 1 << 21, shifted right by 22 and clipped to
 * 0…255 (the saturating narrows clip exactly as Pillow's `clip8`). The horizontal pass puts one channel of a pixel in
 * each of four int32 lanes; the vertical pass runs 16 bytes of a row at a time in four accumulators. The module is
 * written out here instruction by instruction (no toolchain in the build, like `heads/gram-simd.ts`).
 *
 * Each pass reads up to 15 bytes past the last pixel it uses and writes up to 15 past its output: the caller leaves
 * that much room (`PAD`). Null when the runtime lacks WebAssembly SIMD; callers then use the JavaScript passes.
 */

import { leb, sleb } from '../util/leb128.js';

export const PAD = 16;

export interface ResampleKernel {
  /** The module's memory (grown by `reserve`); the pointers below are byte offsets into it. */
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  /**
   * rows × outWidth pixels: out pixel x of row y = Σ_t weights[x·ksize + t] · src[y·stride + offsets[x] + t·channels],
   * written as 3 bytes (R, G, B) at dst + (y·outWidth + x)·3. `offsets`, `taps`, `weights`: int32 arrays.
   */
  horizontal: (
    src: number,
    stride: number,
    channels: number,
    rows: number,
    offsets: number,
    taps: number,
    weights: number,
    ksize: number,
    outWidth: number,
    dst: number,
  ) => void;
  /**
   * outHeight rows of `stride` bytes: out[y·stride + i] = Σ_t weights[y·ksize + t] · src[offsets[y] + t·stride + i].
   */
  vertical: (
    src: number,
    stride: number,
    outHeight: number,
    offsets: number,
    taps: number,
    weights: number,
    ksize: number,
    dst: number,
  ) => void;
}

let cached: ResampleKernel | null | undefined;

/** The compiled module, once per thread; null without WebAssembly SIMD. */
export function resampleKernel(): ResampleKernel | null {
  if (cached !== undefined) return cached;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(moduleBytes()));
    const { memory, horizontal, vertical } = instance.exports as unknown as ResampleKernel;
    cached = { memory, horizontal, vertical };
  } catch {
    cached = null;
  }
  return cached;
}

/** Grows the kernel's memory to at least `bytes`. */
export function reserve(kernel: ResampleKernel, bytes: number): void {
  const have = kernel.memory.buffer.byteLength;
  if (bytes > have) kernel.memory.grow(Math.ceil((bytes - have) / 65_536));
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

// ---- a small assembler: each helper returns the bytes of one instruction ----
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a;
const MUL = 0x6c;
const GE_S = 0x4e;
const load32 = [0x28, 0x02, 0x00]; // i32.load align 4
const simd = (op: number, ...immediates: number[]) => [0xfd, ...leb(op), ...immediates];
const V128_LOAD = simd(0x00, 0x00, 0x00);
const V128_LOAD32_ZERO = simd(0x5c, 0x02, 0x00);
const V128_STORE = simd(0x0b, 0x00, 0x00);
const V128_STORE32_LANE0 = simd(0x5a, 0x00, 0x00, 0x00);
const I32X4_SPLAT = simd(0x11);
const I8X16_NARROW_I16X8_U = simd(0x66);
const I16X8_NARROW_I32X4_S = simd(0x85);
const I16X8_EXTEND_LOW_U8 = simd(0x89);
const I16X8_EXTEND_HIGH_U8 = simd(0x8a);
const I32X4_EXTEND_LOW_U16 = simd(0xa9);
const I32X4_EXTEND_HIGH_U16 = simd(0xaa);
const I32X4_SHR_S = simd(0xac);
const I32X4_ADD = simd(0xae);
const I32X4_MUL = simd(0xb5);
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

/** The int32 at `array[index]` (both locals): array + index·4, loaded. */
const element = (array: number, index: number) => [...get(array), ...get(index), ...i32(4), MUL, ADD, ...load32];
/** weights + index·ksize·4: where one output pixel's (or row's) weights start. */
const weightsOf = (weights: number, index: number, ksize: number) => [
  ...get(weights),
  ...get(index),
  ...get(ksize),
  MUL,
  ...i32(4),
  MUL,
  ADD,
];
/** `local += step` */
const bump = (local: number, step: number[]) => [...get(local), ...step, ADD, ...set(local)];
/** block { loop { if (a >= b) break; …body; continue } } */
const forLoop = (a: number, b: number, body: number[]) => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...get(a),
  ...get(b),
  GE_S,
  0x0d,
  0x01,
  ...body,
  0x0c,
  0x00,
  0x0b,
  0x0b,
];

function horizontalBody(): number[] {
  // params 0 src, 1 stride, 2 channels, 3 rows, 4 offsets, 5 taps, 6 weights, 7 ksize, 8 outWidth, 9 dst
  // locals 10 y, 11 x, 12 t, 13 n, 14 p, 15 k, 16 rowBase (i32); 17 acc (v128)
  const [y, x, t, n, p, k, rowBase, acc] = [10, 11, 12, 13, 14, 15, 16, 17];
  const tap = [
    ...get(acc),
    ...get(p),
    ...V128_LOAD32_ZERO,
    ...I16X8_EXTEND_LOW_U8,
    ...I32X4_EXTEND_LOW_U16,
    ...get(k),
    ...load32,
    ...I32X4_SPLAT,
    ...I32X4_MUL,
    ...I32X4_ADD,
    ...set(acc),
    ...bump(p, get(2)),
    ...bump(k, i32(4)),
    ...bump(t, i32(1)),
  ];
  const pixel = [
    ...i32(HALF),
    ...I32X4_SPLAT,
    ...set(acc),
    // p = rowBase + offsets[x]; n = taps[x]; k = weights + x·ksize·4
    ...get(rowBase),
    ...element(4, x),
    ADD,
    ...set(p),
    ...element(5, x),
    ...set(n),
    ...weightsOf(6, x, 7),
    ...set(k),
    ...i32(0),
    ...set(t),
    ...forLoop(t, n, tap),
    ...get(9),
    ...narrowOne(acc),
    ...V128_STORE32_LANE0,
    ...bump(9, i32(3)),
    ...bump(x, i32(1)),
  ];
  const row = [
    ...get(0),
    ...get(y),
    ...get(1),
    MUL,
    ADD,
    ...set(rowBase),
    ...i32(0),
    ...set(x),
    ...forLoop(x, 8, pixel),
    ...bump(y, i32(1)),
  ];
  return [...i32(0), ...set(y), ...forLoop(y, 3, row)];
}

/** acc >> 22, clipped to 0…255, as the vector's low 4 bytes (acc is overwritten). */
function narrowOne(acc: number): number[] {
  const tee = [0x22, acc];
  return [
    ...get(acc),
    ...i32(PRECISION_BITS),
    ...I32X4_SHR_S,
    ...tee,
    ...get(acc),
    ...I16X8_NARROW_I32X4_S,
    ...tee,
    ...get(acc),
    ...I8X16_NARROW_I16X8_U,
  ];
}

function verticalBody(): number[] {
  // params 0 src, 1 stride, 2 outHeight, 3 offsets, 4 taps, 5 weights, 6 ksize, 7 dst
  // locals 8 y, 9 x, 10 t, 11 n, 12 p, 13 k, 14 base (i32); 15 v, 16 w, 17 lo, 18 hi, 19–22 a0…a3 (v128)
  const [y, x, t, n, p, k, base, v, w, lo, hi] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const a = [19, 20, 21, 22];
  const widen = [
    [lo, I32X4_EXTEND_LOW_U16],
    [lo, I32X4_EXTEND_HIGH_U16],
    [hi, I32X4_EXTEND_LOW_U16],
    [hi, I32X4_EXTEND_HIGH_U16],
  ] as const;
  const tap = [
    ...get(p),
    ...V128_LOAD,
    ...set(v),
    ...get(v),
    ...I16X8_EXTEND_LOW_U8,
    ...set(lo),
    ...get(v),
    ...I16X8_EXTEND_HIGH_U8,
    ...set(hi),
    ...get(k),
    ...load32,
    ...I32X4_SPLAT,
    ...set(w),
    ...widen.flatMap(([half, extend], i) => [
      ...get(a[i]!),
      ...get(half),
      ...extend,
      ...get(w),
      ...I32X4_MUL,
      ...I32X4_ADD,
      ...set(a[i]!),
    ]),
    ...bump(p, get(1)),
    ...bump(k, i32(4)),
    ...bump(t, i32(1)),
  ];
  const shifted = (i: number) => [...get(a[i]!), ...i32(PRECISION_BITS), ...I32X4_SHR_S];
  const chunk = [
    ...a.flatMap((acc) => [...i32(HALF), ...I32X4_SPLAT, ...set(acc)]),
    ...get(base),
    ...get(x),
    ADD,
    ...set(p),
    ...weightsOf(5, y, 6),
    ...set(k),
    ...i32(0),
    ...set(t),
    ...forLoop(t, n, tap),
    // dst + x ← narrow(narrow(a0, a1), narrow(a2, a3))
    ...get(7),
    ...get(x),
    ADD,
    ...shifted(0),
    ...shifted(1),
    ...I16X8_NARROW_I32X4_S,
    ...shifted(2),
    ...shifted(3),
    ...I16X8_NARROW_I32X4_S,
    ...I8X16_NARROW_I16X8_U,
    ...V128_STORE,
    ...bump(x, i32(16)),
  ];
  const row = [
    // base = src + offsets[y]; n = taps[y]
    ...get(0),
    ...element(3, y),
    ADD,
    ...set(base),
    ...element(4, y),
    ...set(n),
    ...i32(0),
    ...set(x),
    ...forLoop(x, 1, chunk),
    ...bump(7, get(1)),
    ...bump(y, i32(1)),
  ];
  return [...i32(0), ...set(y), ...forLoop(y, 2, row)];
}

function moduleBytes(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  const fn = (locals: Array<[number, number]>, body: number[]) => {
    const code = [...leb(locals.length), ...locals.flatMap(([count, type]) => [...leb(count), type]), ...body, 0x0b];
    return [...leb(code.length), ...code];
  };
  const h = fn(
    [
      [7, I32],
      [1, V128],
    ],
    horizontalBody(),
  );
  const v = fn(
    [
      [7, I32],
      [8, V128],
    ],
    verticalBody(),
  );
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const type = (params: number) => [0x60, params, ...new Array<number>(params).fill(I32), 0x00];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x02, ...type(10), ...type(8)]),
    ...section(3, [0x02, 0x00, 0x01]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [
      0x03,
      ...name('horizontal'),
      0x00,
      0x00,
      ...name('vertical'),
      0x00,
      0x01,
      ...name('memory'),
      0x02,
      0x00,
    ]),
    ...section(10, [0x02, ...h, ...v]),
  ]);
}
