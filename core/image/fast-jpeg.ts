import { decode as decodeJpegWasm } from '@cwasm/jpeg-turbo';
import { createRequire } from 'node:module';
import type { PreprocessSpec } from '../models/descriptor.js';
import { planResizeAndCrop, type ResizeCropPlan } from './geometry.js';
import { readJpegHeader, type JpegHeader } from './jpeg-header.js';
import { isCleanBaselineJpeg } from './jpeg-scan-check.js';
import { isPilKernel, resizeAndCropRgb, resizeAndCropRows, type PilKernel, type PixelBuffer } from './pil-resample.js';
import { vipsJpeg, type DecodedPixels } from './vips-jpeg.js';

/**
 * Images at least this many times larger (short side) than the resize target go to libvips, whose JPEG
 * shrink-on-load decodes them at 1/2, 1/4 or 1/8 scale; below it libjpeg-turbo + Pillow's resample is faster
 * (bench/README-decode.md: a 12 MP photo costs 14.5 ms of CPU through libvips, 139 ms decoded in full).
 */
export const SHRINK_ON_LOAD_RATIO = 2;

type Sharp = (typeof import('sharp'))['default'];

/**
 * The common case, fast and exact: a complete, upright, 8-bit grey or YCbCr JPEG below the shrink-on-load size,
 * decoded by libjpeg-turbo with PIL's settings (islow IDCT, fancy upsampling, so the same pixels) and resized by
 * Pillow's own algorithm (`pil-resample.ts`, WebAssembly SIMD): the crop equals torchvision's byte for byte. Answers
 * `undefined` for everything else (other formats, EXIF rotation, CMYK, truncated or corrupt data, images large
 * enough for shrink-on-load, kernels Pillow lacks): the caller decodes those with libvips, which also words the error.
 *
 * The decoder is libvips' (sharp's, its embedded ICC profile ignored as PIL ignores it), called in this thread
 * (`vipsJpeg`), which writes only the rows the crop reads, straight into the resampler's memory (`resizeAndCropRows`);
 * with `inThread` false, or where that cannot be had, through sharp's pipeline: the same pixels, ~1 ms more per image
 * on hymenoptera (bench/results/decode.json). Greyscale JPEGs, which libvips hands over as one band, take the
 * WebAssembly build (`decodeJpegFast`), which expands them to RGB as PIL does.
 */
export async function decodeJpegExact(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limitInputPixels: number,
  loadSharp: () => Promise<Sharp>,
  inThread = true,
): Promise<Buffer | undefined> {
  const plan = fastPathPlan(bytes, spec, limitInputPixels);
  if (!plan) return undefined;
  if (plan.header.components !== 3) return decodeJpegFast(bytes, spec, limitInputPixels);
  const sharp = await loadSharp();
  const vips = inThread ? vipsJpeg() : undefined;
  if (vips) {
    const { width, height } = plan.header;
    const crop = resizeAndCropRows(
      {
        width,
        height,
        channels: 3,
        fill: (into, from, to) => vips.decodeRowsInto(bytes, plan.header, from, to, into),
      },
      plan.resize.resized,
      plan.resize.crop,
      spec.kernel as PilKernel,
    );
    return crop && Buffer.from(crop.buffer, crop.byteOffset, crop.length);
  }
  const pixels = await decodeWithSharp(sharp, bytes, limitInputPixels);
  if (!pixels) return undefined;
  const { data, width, height, channels } = pixels;
  if (width !== plan.header.width || height !== plan.header.height || channels !== 3) return undefined;
  return pillowCrop({ data, width, height, channels: 3 }, plan.resize, spec);
}

/** The same decode through sharp's pipeline (libuv's thread pool): where the in-thread call cannot be had. */
async function decodeWithSharp(
  sharp: Sharp,
  bytes: Uint8Array,
  limitInputPixels: number,
): Promise<DecodedPixels | undefined> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'warning', ignoreIcc: true, limitInputPixels })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch {
    return undefined;
  }
}

/** The decoded image's crop, resized by Pillow's algorithm, as a Buffer. */
function pillowCrop(image: PixelBuffer, plan: ResizeCropPlan, spec: PreprocessSpec): Buffer {
  const crop = resizeAndCropRgb(image, plan.resized, plan.crop, spec.kernel as PilKernel);
  return Buffer.from(crop.buffer, crop.byteOffset, crop.length);
}

let napiModule: typeof import('@napi-rs/image') | undefined;

/** @napi-rs/image on first use: its 18 MB native library costs a worker 5–10 ms to load, for nothing under 'exact'. */
function napiImage(): typeof import('@napi-rs/image') {
  napiModule ??= createRequire(import.meta.url)('@napi-rs/image') as typeof import('@napi-rs/image');
  return napiModule;
}

/** The checks both fast decoders share: the JPEG's header and the resize plan, or undefined where libvips decides. */
function fastPathPlan(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limitInputPixels: number,
): { header: JpegHeader; resize: ResizeCropPlan } | undefined {
  if (!isPilKernel(spec.kernel)) return undefined;
  const header = readJpegHeader(bytes);
  if (!header || !(header.complete || endsInEoiThenZeros(bytes))) return undefined;
  if (header.orientation !== 1 || header.precision !== 8) return undefined;
  if (header.components !== 1 && header.components !== 3) return undefined;
  if (header.width * header.height > limitInputPixels) return undefined;
  const resize = planResizeAndCrop(header.height, header.width, spec);
  if (resize.resized[0] * resize.resized[1] > limitInputPixels) return undefined;
  const ratio = Math.min(header.height / resize.resized[0], header.width / resize.resized[1]);
  if (ratio >= SHRINK_ON_LOAD_RATIO) return undefined;
  return { header, resize };
}

/**
 * A complete JPEG followed by zero bytes (padding some writers add, and bench/extract's ×N copies): libjpeg stops
 * reading at the EOI marker, so the pixels are the file's. Without this such files took the libvips path, whose resize
 * only approximates PIL's and costs ~50 % more.
 */
function endsInEoiThenZeros(bytes: Uint8Array): boolean {
  let n = bytes.length;
  while (n > 2 && bytes[n - 1] === 0) n--;
  return n < bytes.length && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9;
}

/**
 * `decodeJpegExact` with libjpeg-turbo compiled to WebAssembly (@cwasm/jpeg-turbo) as the decoder: synchronous, and
 * needs no libvips. A libjpeg error unwinds out of the WebAssembly instance as an exception and leaks that call's
 * buffers in its heap (tens of kB per corrupt file); the instance stays usable.
 */
export function decodeJpegFast(bytes: Uint8Array, spec: PreprocessSpec, limitInputPixels: number): Buffer | undefined {
  const checked = fastPathPlan(bytes, spec, limitInputPixels);
  if (!checked) return undefined;
  const { header, resize: plan } = checked;
  let decoded: { data: Uint8ClampedArray; width: number; height: number };
  try {
    // TurboJPEG fails on libjpeg warnings too (corrupt data, premature end), like sharp's failOn: 'warning'.
    decoded = decodeJpegWasm(bytes);
  } catch {
    return undefined;
  }
  if (decoded.width !== header.width || decoded.height !== header.height) return undefined;
  const rgba = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length);
  return pillowCrop({ data: rgba, width: decoded.width, height: decoded.height, channels: 4 }, plan, spec);
}

/**
 * The near-exact fast path (`preprocess.decode: 'fast'`: `--decode fast`, CNN_CODES_DECODE=fast): the same plain JPEGs as the exact path
 * (`fastPathPlan`: header, EXIF orientation, pixel limits before any decode, shrink-on-load size), decoded by
 * `@napi-rs/image` (Rust, its own IDCT and upsampling: 0.018 levels mean |Δ| from torchvision's crop on hymenoptera,
 * test/integration/near-exact-decode.test.ts) and resized by Pillow's algorithm. That decoder takes truncated and corrupt data without a
 * word, so it is handed only files that libjpeg decodes without a warning (`isCleanBaselineJpeg`, a Huffman walk of
 * the scan); `undefined` for the rest, which the caller sends down the exact path: a corrupt file is rejected there,
 * with the exact path's error, and an unusual but sound one (progressive, restart markers out of the check's reach)
 * decoded there.
 */
export function decodeJpegNearExact(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limitInputPixels: number,
): Buffer | undefined {
  const checked = fastPathPlan(bytes, spec, limitInputPixels);
  if (!checked || !isCleanBaselineJpeg(bytes)) return undefined;
  const { header, resize: plan } = checked;
  let rgb: Buffer;
  try {
    rgb = new (napiImage().Transformer)(bytes).rawPixelsSync();
  } catch {
    return undefined;
  }
  // RGB for colour and grey JPEGs alike (grey expanded as PIL's convert('RGB') does).
  if (rgb.length !== header.width * header.height * 3) return undefined;
  return pillowCrop({ data: rgb, width: header.width, height: header.height, channels: 3 }, plan, spec);
}
