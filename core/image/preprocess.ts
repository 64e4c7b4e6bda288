import type { Interpolators, OutputInfo, Sharp } from 'sharp';
import { ConfigError, InvalidImageError } from '../errors.js';
import type { PreprocessSpec } from '../models/descriptor.js';
import { decodeJpegExact, decodeJpegFast, decodeJpegNearExact } from './fast-jpeg.js';
import { planResizeAndCrop, type ResizeCropPlan } from './geometry.js';
import { sharpInput } from './sharp-input.js';
import {
  classifyDecodeFailure,
  emptyFileError,
  resizedTooLargeError,
  tooLargeError,
  truncatedWebpError,
} from './invalid-image.js';

/** Decompression-bomb guard: ~100 MP is 300 MB of RGB before shrinking, and far above any photo we expect. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 100_000_000;

export interface DecodeOptions {
  limitInputPixels?: number;
  /**
   * JPEG shrink-on-load by up to the full 1/2, 1/4, 1/8 factor (sharp's default). `false` leaves at least a factor 2
   * to the resampling kernel. Only images with a short side ≥ 512 are affected; on hymenoptera's 8 such images true is
   * ~12 % faster and moves from torchvision by 0.0049 instead of 0.0036 mean |Δ| (normalized units): kept on.
   */
  fastShrinkOnLoad?: boolean;
  /**
   * Convert RGB images with an embedded ICC profile (Adobe RGB, ProPhoto, …) to sRGB through it. Off by default: PIL,
   * hence torchvision, the ImageNet training of our backbones and the PyTorch fine-tune job, reads the stored values as
   * sRGB; matching that keeps codes comparable, and the lcms transform of the full-size image costs ~30 % of decode
   * time on hymenoptera (162 of 398 images carry a profile). CMYK is converted either way.
   */
  honourIccProfile?: boolean;
  /**
   * 'auto' (default) takes the libjpeg-turbo + Pillow-resample fast path for the images it can reproduce exactly
   * (`decodeJpegExact`, libvips' libjpeg-turbo called in this thread) and libvips for the rest; 'sharp-raw' takes the
   * same fast path decoded through sharp's pipeline, and 'wasm' with libjpeg-turbo compiled to WebAssembly
   * (`decodeJpegFast`), both the same pixels; 'sharp' sends every image through libvips (benchmarks, comparisons).
   */
  decoder?: 'auto' | 'sharp-raw' | 'wasm' | 'sharp';
}

/**
 * Bytes of any common format → the model's crop as interleaved RGB uint8 (HWC, crop[0]×crop[1]×3), with the geometry
 * of torchvision `Resize(resize)` + `CenterCrop(crop)`. Plain JPEGs below the shrink-on-load size take the
 * libjpeg-turbo + Pillow path (`decodeJpegExact`: byte-identical to torchvision's crop, bench/README-decode.md), or
 * with `spec.decode` 'fast' the near-exact `@napi-rs/image` + Pillow path first (`decodeJpegNearExact`, for the JPEGs
 * libjpeg decodes without a warning); everything else runs inside libvips (one pipeline, two for images that must be
 * enlarged), so both settings reject the same files with the same errors.
 *
 * Alpha is flattened onto white, before the resize. `removeAlpha()` would not reproduce PIL's `convert('RGB')`
 * either: sharp applies it after a premultiplied resize, which paints fully transparent pixels black whatever colour
 * they stored. White is what the image looks like on a page, is independent of hidden colour values, and lets the
 * resize work on 3 bands instead of 4.
 */
export async function decodeToRgb(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  options: DecodeOptions = {},
): Promise<Buffer> {
  if (bytes.length === 0) throw emptyFileError();
  const truncatedWebp = truncatedWebpError(bytes);
  if (truncatedWebp) throw truncatedWebp;
  const limitInputPixels = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  const decoder = options.decoder ?? 'auto';
  if (decoder !== 'sharp' && !options.honourIccProfile) {
    const fast =
      decoder === 'wasm'
        ? decodeJpegFast(bytes, spec, limitInputPixels)
        : ((spec.decode === 'fast' ? decodeJpegNearExact(bytes, spec, limitInputPixels) : undefined) ??
          (await decodeJpegExact(bytes, spec, limitInputPixels, loadSharp, decoder === 'auto')));
    if (fast) return fast;
  }
  const sharp = await loadSharp();
  try {
    // failOn 'warning' makes libjpeg's "premature end" fatal instead of returning a grey-padded image.
    const { input, options: rawOptions } = sharpInput(bytes, limitInputPixels);
    const image = sharp(input, {
      ...rawOptions,
      failOn: 'warning',
      limitInputPixels,
      autoOrient: true,
      ignoreIcc: !(options.honourIccProfile ?? false),
    });
    const { autoOrient } = await image.metadata();
    const plan = planResizeAndCrop(autoOrient.height, autoOrient.width, spec);
    if (plan.resized[0] * plan.resized[1] > limitInputPixels)
      throw resizedTooLargeError(plan.resized, limitInputPixels);
    image
      .flatten({ background: '#ffffff' })
      // Greyscale, CMYK, 16-bit and palette inputs all end as 8-bit, 3-band sRGB.
      .toColourspace('srgb')
      .raw({ depth: 'uchar' });
    const upscale = plan.resized[0] > autoOrient.height && plan.resized[1] > autoOrient.width;
    const { data, info } = upscale
      ? await enlargeThenCrop(image, [autoOrient.height, autoOrient.width], plan, spec.kernel)
      : await image
          .resize(plan.resized[1], plan.resized[0], {
            fit: 'fill',
            kernel: spec.kernel,
            fastShrinkOnLoad: options.fastShrinkOnLoad ?? true,
          })
          .extract(plan.crop)
          .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== spec.crop[1] || info.height !== spec.crop[0]) {
      throw new InvalidImageError(
        'decode-failed',
        `decoded to ${info.width}×${info.height}×${info.channels}, expected ${spec.crop[1]}×${spec.crop[0]}×3`,
      );
    }
    return data;
  } catch (err) {
    if (err instanceof InvalidImageError || err instanceof ConfigError) throw err;
    const invalid = classifyDecodeFailure(err, bytes);
    if (invalid.kind === 'too-large') throw await describeTooLarge(bytes, limitInputPixels, invalid);
    throw invalid;
  }
}

/**
 * Images smaller than the target. libvips' resize enlarges with a kernel that is sharper than, and offset from, PIL's
 * bilinear (a step edge 0|200 at 10→15 px gives 33,167 where PIL gives 100); an affine transform with the bilinear
 * interpolator and pixel-centre alignment (idx = 0.5, odx = −0.5) reproduces PIL inside the image. sharp crops before
 * an affine in its pipeline, so the crop takes a second, cheap pass over the small enlarged raw image.
 */
async function enlargeThenCrop(
  image: Sharp,
  [height, width]: [number, number],
  plan: ResizeCropPlan,
  kernel: PreprocessSpec['kernel'],
): Promise<{ data: Buffer; info: OutputInfo }> {
  const [newHeight, newWidth] = plan.resized;
  const enlarged = await image
    .affine([newWidth / width, 0, 0, newHeight / height], {
      idx: 0.5,
      idy: 0.5,
      odx: -0.5,
      ody: -0.5,
      interpolator: UPSCALE_INTERPOLATORS[kernel],
    })
    .toBuffer({ resolveWithObject: true });
  const { width: w, height: h, channels } = enlarged.info;
  const sharp = await loadSharp();
  return sharp(enlarged.data, { raw: { width: w, height: h, channels } })
    .extract(plan.crop)
    .raw()
    .toBuffer({ resolveWithObject: true });
}

/** PIL enlarges with plain interpolation (its filter support is not scaled up); these are libvips' equivalents. */
const UPSCALE_INTERPOLATORS: Record<PreprocessSpec['kernel'], Interpolators[keyof Interpolators]> = {
  nearest: 'nearest',
  linear: 'bilinear',
  cubic: 'bicubic',
  mitchell: 'bicubic',
  lanczos2: 'bicubic',
  lanczos3: 'bicubic',
};

/** Re-reads only the header (no pixel limit, no decode) to say how large the image claims to be. */
async function describeTooLarge(
  bytes: Uint8Array,
  limit: number,
  fallback: InvalidImageError,
): Promise<InvalidImageError> {
  try {
    const sharp = await loadSharp();
    const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
    return tooLargeError(width, height, limit, fallback.cause);
  } catch {
    return fallback;
  }
}

/**
 * Reference normalization x = (p·scale − mean[c]) / std[c] of HWC RGB crops into one batch tensor. Production runs
 * this inside the ONNX graph; this is the JS fallback and what the golden test checks against torchvision.
 */
export function toTensor(images: Buffer[], spec: PreprocessSpec, layout: 'NCHW' | 'NHWC'): Float32Array {
  const [height, width] = spec.crop;
  const plane = height * width;
  const perImage = plane * 3;
  // A lookup per channel: 256 exact values instead of a multiply-subtract-divide per element.
  const lut = [0, 1, 2].map((c) =>
    Float32Array.from({ length: 256 }, (_, p) => (p * spec.scale - spec.mean[c]!) / spec.std[c]!),
  );
  const [lutR, lutG, lutB] = lut as [Float32Array, Float32Array, Float32Array];
  const out = new Float32Array(images.length * perImage);
  images.forEach((rgb, n) => {
    if (rgb.length !== perImage) {
      throw new ConfigError(`image ${n} has ${rgb.length} bytes, expected ${height}×${width}×3 = ${perImage}`);
    }
    const base = n * perImage;
    if (layout === 'NHWC') {
      for (let i = 0; i < perImage; i += 3) {
        out[base + i] = lutR[rgb[i]!]!;
        out[base + i + 1] = lutG[rgb[i + 1]!]!;
        out[base + i + 2] = lutB[rgb[i + 2]!]!;
      }
      return;
    }
    for (let i = 0, j = 0; i < plane; i++, j += 3) {
      out[base + i] = lutR[rgb[j]!]!;
      out[base + plane + i] = lutG[rgb[j + 1]!]!;
      out[base + 2 * plane + i] = lutB[rgb[j + 2]!]!;
    }
  });
  return out;
}

/**
 * Call once in each extraction worker thread. Parallelism comes from one decoder per worker; libvips' own thread pool
 * per image would oversubscribe the cores (workers × vips threads), and its operation cache only holds memory: every
 * image is decoded exactly once. Both settings are process-wide, so calling this from several workers is harmless.
 * They apply when sharp is first needed (the JPEG fast path decodes with it too).
 */
export function configureSharpForWorker(): void {
  oneThreadNoCache = true;
}

/**
 * Starts loading sharp without waiting for it: an extraction worker calls it before loading its session, so that
 * libvips' start-up (~0.1 s; the JPEG fast path decodes with it) overlaps the session's instead of delaying the first
 * batch.
 */
export function preloadSharp(): void {
  void loadSharp().catch(() => undefined);
}

let oneThreadNoCache = false;
let sharpModule: Promise<(typeof import('sharp'))['default']> | undefined;

/** sharp on first use: loading libvips costs ~0.1 s of start-up that a worker given no images does not need. */
function loadSharp(): Promise<(typeof import('sharp'))['default']> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    if (oneThreadNoCache) {
      sharp.concurrency(1);
      sharp.cache(false);
    }
    return sharp;
  });
  return sharpModule;
}

/** The horizontal mirror of an interleaved RGB crop (HWC, `width` pixels a row): the second view of `tta: 'flip'`. */
export function mirrorRgb(crop: Uint8Array, width: number): Buffer {
  const out = Buffer.allocUnsafe(crop.length);
  const rowBytes = width * 3;
  for (let row = 0; row < crop.length; row += rowBytes) {
    for (let x = 0; x < width; x++) {
      const from = row + x * 3;
      const to = row + (width - 1 - x) * 3;
      out[to] = crop[from]!;
      out[to + 1] = crop[from + 1]!;
      out[to + 2] = crop[from + 2]!;
    }
  }
  return out;
}
