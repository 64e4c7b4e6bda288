import type { PreprocessSpec } from '../models/descriptor.js';
import type { CropBox } from './geometry.js';
import { PAD, reserve, resampleKernel, type ResampleKernel } from './pil-resample-simd.js';

/**
 * Pillow's `Image.resize` (Resample.c, 8-bit path), restricted to the pixels a centre crop keeps: the same
 * coefficients, the same 22-bit fixed point, the same order (horizontal pass, clip to 8 bits, vertical pass), so the
 * crop is bit-identical to torchvision's Resize + CenterCrop on PIL given the same decoded pixels. Each output pixel
 * depends only on its own coordinate, so computing just the crop changes nothing but the cost.
 *
 * Why our own code: libvips' resize reproduces PIL only approximately (the golden bounds allow ~1 level) and, through
 * sharp, costs more per image than decoding does (bench/decode.ts).
 *
 * The two passes run in WebAssembly SIMD where the runtime has it (`pil-resample-simd.ts`, the same integers; ~8×
 * faster than these loops, which stay as the fallback and the reference its test compares against).
 */

/** Kernels with an exact Pillow counterpart; the others stay with libvips. */
export type PilKernel = 'linear' | 'cubic' | 'lanczos3';

interface Filter {
  support: number;
  weight: (x: number) => number;
}

const FILTERS: Record<PilKernel, Filter> = {
  linear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  cubic: { support: 2, weight: bicubic },
  lanczos3: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

export function isPilKernel(kernel: PreprocessSpec['kernel']): kernel is PilKernel {
  return kernel in FILTERS;
}

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);

interface Coefficients {
  /** Per output pixel: first source index and tap count. */
  first: Int32Array;
  taps: Int32Array;
  /** `ksize` fixed-point weights per output pixel. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for output pixels [from, from + count) of `outSize`. */
function coefficients(inSize: number, outSize: number, from: number, count: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(count);
  const taps = new Int32Array(count);
  const weights = new Int32Array(count * ksize);
  const raw = new Float64Array(ksize);
  // Pillow multiplies by the reciprocal; dividing would differ in the last bit and, after rounding, in a level.
  const ss = 1 / filterScale;
  for (let i = 0; i < count; i++) {
    const center = (from + i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      raw[x] = filter.weight((x + xmin - center + 0.5) * ss);
      sum += raw[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? raw[x]! / sum : raw[x]!;
      weights[i * ksize + x] =
        w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    first[i] = xmin;
    taps[i] = xmax;
  }
  return { first, taps, weights, ksize };
}

/** Interleaved pixels: `channels` bytes each (3 RGB, 4 RGBA/RGBX), of which the first three are R, G, B. */
export interface PixelBuffer {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * `image` → the `crop` of its resize to `resized` ([height, width]), as interleaved RGB. A pass whose size does not
 * change is skipped, as Pillow skips it; a fourth channel is dropped on the way (Pillow stores RGB as RGBX too).
 */
export function resizeAndCropRgb(
  image: PixelBuffer,
  resized: [number, number],
  crop: CropBox,
  kernel: PilKernel,
  options: { simd?: boolean } = {},
): Uint8Array {
  const stride = image.width * image.channels;
  const rows: RowSource = {
    ...image,
    image,
    fill: (into, from, to) => {
      into.set(image.data.subarray(from * stride, to * stride));
      return true;
    },
  };
  return resizeAndCropRows(rows, resized, crop, kernel, options)!;
}

/**
 * An image whose rows are written on demand: `fill` writes rows [from, to), `width × channels` bytes each, into
 * `into` (false: it could not, e.g. a decode error). A decoder can thus write straight into the resampler's memory,
 * and only the rows the crop reads (`image`: the whole image where it is already at hand).
 */
export interface RowSource {
  width: number;
  height: number;
  channels: 3 | 4;
  fill: (into: Uint8Array, from: number, to: number) => boolean;
  image?: PixelBuffer;
}

/** `resizeAndCropRgb` over rows filled on demand; undefined when `fill` fails. */
export function resizeAndCropRows(
  source: RowSource,
  resized: [number, number],
  crop: CropBox,
  kernel: PilKernel,
  options: { simd?: boolean } = {},
): Uint8Array | undefined {
  const { width, height } = source;
  const filter = FILTERS[kernel];
  const needHorizontal = resized[1] !== width;
  const needVertical = resized[0] !== height;
  const vertical = needVertical ? coefficients(height, resized[0], crop.top, crop.height, filter) : undefined;
  // Source rows the vertical pass reads; without a vertical pass, exactly the cropped rows.
  const rowFrom = vertical ? vertical.first[0]! : crop.top;
  const rowTo = vertical ? vertical.first[crop.height - 1]! + vertical.taps[crop.height - 1]! : crop.top + crop.height;
  const simd = (options.simd ?? true) && needHorizontal && vertical ? resampleKernel() : null;
  if (simd) {
    const horizontal = coefficients(width, resized[1], crop.left, crop.width, filter);
    return bothPassesSimd(simd, source, rowFrom, rowTo, horizontal, vertical!);
  }

  const image = source.image ?? filledImage(source, rowFrom, rowTo);
  if (!image) return undefined;
  // The horizontal pass (or, without one, a copy of the cropped columns) yields RGB rows of the crop's width.
  const rows = needHorizontal
    ? horizontalPass(image, rowFrom, rowTo, coefficients(width, resized[1], crop.left, crop.width, filter))
    : copyColumns(image, rowFrom, rowTo, crop.left, crop.width);
  return vertical ? verticalPass(rows, crop.width, rowFrom, vertical) : rows.subarray(0, crop.width * crop.height * 3);
}

/** The whole image's buffer with rows [from, to) filled (the others are never read). */
function filledImage(source: RowSource, from: number, to: number): PixelBuffer | undefined {
  const { width, height, channels } = source;
  const data = new Uint8Array(width * height * channels);
  const stride = width * channels;
  return source.fill(data.subarray(from * stride, to * stride), from, to)
    ? { data, width, height, channels }
    : undefined;
}

/** Both passes in WebAssembly: the rows the vertical pass reads are filled into its memory, the crop copied out. */
function bothPassesSimd(
  kernel: ResampleKernel,
  { width, channels, fill }: RowSource,
  rowFrom: number,
  rowTo: number,
  h: Coefficients,
  v: Coefficients,
): Uint8Array | undefined {
  const outWidth = h.first.length;
  const outHeight = v.first.length;
  const rows = rowTo - rowFrom;
  const stride = width * channels;
  const midStride = outWidth * 3;
  let top = 0;
  const take = (bytes: number) => {
    const at = top;
    top += Math.ceil((bytes + PAD) / 16) * 16;
    return at;
  };
  const hOffsets = take(outWidth * 4);
  const hTaps = take(outWidth * 4);
  const hWeights = take(h.weights.length * 4);
  const vOffsets = take(outHeight * 4);
  const vTaps = take(outHeight * 4);
  const vWeights = take(v.weights.length * 4);
  const src = take(rows * stride);
  const mid = take(rows * midStride);
  const dst = take(outHeight * midStride);
  reserve(kernel, top);
  const heap = new Uint8Array(kernel.memory.buffer);
  const ints = new Int32Array(kernel.memory.buffer);
  ints.set(
    h.first.map((x) => x * channels),
    hOffsets >> 2,
  );
  ints.set(h.taps, hTaps >> 2);
  ints.set(h.weights, hWeights >> 2);
  ints.set(
    v.first.map((y) => (y - rowFrom) * midStride),
    vOffsets >> 2,
  );
  ints.set(v.taps, vTaps >> 2);
  ints.set(v.weights, vWeights >> 2);
  // The memory does not grow from here on, so `fill` may hold its address for the call.
  if (!fill(heap.subarray(src, src + rows * stride), rowFrom, rowTo)) return undefined;
  kernel.horizontal(src, stride, channels, rows, hOffsets, hTaps, hWeights, h.ksize, outWidth, mid);
  kernel.vertical(mid, midStride, outHeight, vOffsets, vTaps, vWeights, v.ksize, dst);
  return heap.slice(dst, dst + outHeight * midStride);
}

function copyColumns(
  { data, width, channels }: PixelBuffer,
  rowFrom: number,
  rowTo: number,
  left: number,
  count: number,
): Uint8Array {
  const out = new Uint8Array((rowTo - rowFrom) * count * 3);
  let o = 0;
  for (let y = rowFrom; y < rowTo; y++) {
    for (let x = 0, p = (y * width + left) * channels; x < count; x++, p += channels) {
      out[o++] = data[p]!;
      out[o++] = data[p + 1]!;
      out[o++] = data[p + 2]!;
    }
  }
  return out;
}

function horizontalPass(
  { data: rgb, width, channels }: PixelBuffer,
  rowFrom: number,
  rowTo: number,
  c: Coefficients,
): Uint8Array {
  const outWidth = c.first.length;
  const out = new Uint8Array((rowTo - rowFrom) * outWidth * 3);
  let o = 0;
  for (let y = rowFrom; y < rowTo; y++) {
    const row = y * width * channels;
    for (let x = 0; x < outWidth; x++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      const k = x * c.ksize;
      let p = row + c.first[x]! * channels;
      for (let t = 0, n = c.taps[x]!; t < n; t++, p += channels) {
        const w = c.weights[k + t]!;
        r += rgb[p]! * w;
        g += rgb[p + 1]! * w;
        b += rgb[p + 2]! * w;
      }
      out[o++] = clip8(r);
      out[o++] = clip8(g);
      out[o++] = clip8(b);
    }
  }
  return out;
}

/** `rows`: RGB rows `outWidth` wide, the first of which is source row `rowFrom`. */
function verticalPass(rows: Uint8Array, outWidth: number, rowFrom: number, c: Coefficients): Uint8Array {
  const outHeight = c.first.length;
  const out = new Uint8Array(outWidth * outHeight * 3);
  const stride = outWidth * 3;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const k = y * c.ksize;
    const top = (c.first[y]! - rowFrom) * stride;
    const n = c.taps[y]!;
    for (let x = 0; x < outWidth * 3; x++) {
      let s = HALF;
      for (let t = 0, p = top + x; t < n; t++, p += stride) s += rows[p]! * c.weights[k + t]!;
      out[o++] = clip8(s);
    }
  }
  return out;
}

function clip8(v: number): number {
  if (v >= 1 << (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}
