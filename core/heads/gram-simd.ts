import { leb } from '../util/leb128.js';

/**
 * A row-major float64 matrix: matrix.ts's `Matrix` by shape, declared here so that this kernel, which matrix.ts's `gram`
 * calls, does not import matrix.ts back (no import circle).
 */
export interface RowMajor {
  rows: number;
  cols: number;
  data: Float64Array;
}

/**
 * X·Xᵀ with WebAssembly SIMD (two float64 lanes): the 3 × 3 row tiles of the scalar `gram`, each tile's nine dot
 * products summed over even and odd columns in separate lanes, so each loaded pair of values feeds two multiply-adds
 * per instruction. The module is tiny and written out here byte by byte (no toolchain in the build): one function,
 * `tile(a0, a1, a2, p0, p1, p2, pairs, out)`, byte offsets of six rows in its memory, and nine float64 results.
 * Null when the runtime has no SIMD; callers then use the scalar loop.
 */
export function gramSimd(X: RowMajor): RowMajor | null {
  const kernel = simdKernel();
  if (!kernel) return null;
  const n = X.rows;
  const d = X.cols;
  const rowBytes = d * 8;
  const need = n * rowBytes + 9 * 8;
  const have = kernel.memory.buffer.byteLength;
  if (need > have) kernel.memory.grow(Math.ceil((need - have) / 65_536));
  const heap = new Float64Array(kernel.memory.buffer);
  heap.set(X.data.subarray(0, n * d));
  const outAt = n * d;
  const pairs = d >> 1;
  const odd = d % 2 === 1;
  const x = X.data;
  const K = new Float64Array(n * n);
  const put = (a: number, b: number, v: number) => {
    K[a * n + b] = v;
    K[b * n + a] = v;
  };
  const rows = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i += 3) {
    const i1 = Math.min(i + 1, n - 1);
    const i2 = Math.min(i + 2, n - 1);
    for (let l = 0; l <= i2; l += 3) {
      const l1 = Math.min(l + 1, n - 1);
      const l2 = Math.min(l + 2, n - 1);
      kernel.tile(
        i * rowBytes,
        i1 * rowBytes,
        i2 * rowBytes,
        l * rowBytes,
        l1 * rowBytes,
        l2 * rowBytes,
        pairs,
        outAt * 8,
      );
      rows[0] = i;
      rows[1] = i1;
      rows[2] = i2;
      rows[3] = l;
      rows[4] = l1;
      rows[5] = l2;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) {
          // An odd last column is added here, in the scalar loop's order (after the other columns' sum).
          const last = odd ? x[rows[r]! * d + d - 1]! * x[rows[3 + c]! * d + d - 1]! : 0;
          put(rows[r]!, rows[3 + c]!, heap[outAt + 3 * r + c]! + last);
        }
      }
    }
  }
  return { rows: n, cols: n, data: K };
}

/** The slice of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

interface Kernel {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  tile: (a0: number, a1: number, a2: number, p0: number, p1: number, p2: number, pairs: number, out: number) => void;
}

let cached: Kernel | null | undefined;

function simdKernel(): Kernel | null {
  if (cached !== undefined) return cached;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(moduleBytes()));
    const { memory, tile } = instance.exports as unknown as Kernel;
    cached = { memory, tile };
  } catch {
    cached = null;
  }
  return cached;
}

// Locals: 0–2 rows a (the tile's i rows), 3–5 rows p (its l rows), 6 pairs, 7 out; 8 j, 9 byte offset; 10–18 the nine
// accumulators s[r][c]; 19–21 loaded u (p rows), 22–24 loaded v (a rows).
const SIMD = 0xfd;
const f64x2Mul = [SIMD, 0xf2, 0x01];
const f64x2Add = [SIMD, 0xf0, 0x01];
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];

function moduleBytes(): Uint8Array {
  const body: number[] = [];
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(...get(8), ...get(6), 0x4f, 0x0d, 0x01); // if j ≥ pairs: break
  body.push(...get(8), 0x41, 0x04, 0x74, ...set(9)); // offset = j << 4
  for (let r = 0; r < 3; r++) body.push(...get(3 + r), ...get(9), 0x6a, SIMD, 0x00, 0x03, 0x00, ...set(19 + r));
  for (let r = 0; r < 3; r++) body.push(...get(r), ...get(9), 0x6a, SIMD, 0x00, 0x03, 0x00, ...set(22 + r));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++)
      body.push(
        ...get(10 + 3 * r + c),
        ...get(22 + r),
        ...get(19 + c),
        ...f64x2Mul,
        ...f64x2Add,
        ...set(10 + 3 * r + c),
      );
  }
  body.push(...get(8), 0x41, 0x01, 0x6a, ...set(8), 0x0c, 0x00, 0x0b, 0x0b); // j++, continue; end loop, end block
  for (let s = 0; s < 9; s++) {
    // out[s] = lane 0 + lane 1
    body.push(...get(7), ...get(10 + s), SIMD, 0x21, 0x00, ...get(10 + s), SIMD, 0x21, 0x01, 0xa0, 0x39, 0x03, s * 8);
  }
  body.push(0x0b);
  const locals = [0x02, 0x02, 0x7f, 0x0f, 0x7b]; // 2 × i32, 15 × v128
  const code = [...locals, ...body];
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x08, ...new Array<number>(8).fill(0x7f), 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [0x02, ...name('tile'), 0x00, 0x00, ...name('memory'), 0x02, 0x00]),
    ...section(10, [0x01, ...leb(code.length), ...code]),
  ]);
}
