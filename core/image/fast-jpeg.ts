import { decode as decodeJpegWasm } from '@cwasm/jpeg-turbo';
import type { PreprocessSpec } from '../models/descriptor.js';
import { planResizeAndCrop } from './geometry.js';
import { readJpegHeader } from './jpeg-header.js';
import { isPilKernel, resizeAndCropRgb } from './pil-resample.js';

/**
 * Images at least this many times larger (short side) than the resize target go to libvips, whose JPEG
 * shrink-on-load decodes them at 1/2, 1/4 or 1/8 scale; below it libjpeg-turbo + Pillow's resample is faster
 * (bench/README-decode.md: a 12 MP photo costs 14.5 ms of CPU through libvips, 139 ms decoded in full).
 */
export const SHRINK_ON_LOAD_RATIO = 2;

/**
 * The common case, fast and exact: a complete, upright, 8-bit grey or YCbCr JPEG decoded by libjpeg-turbo compiled to
 * WebAssembly (@cwasm/jpeg-turbo: the same library and settings as PIL, islow IDCT and fancy upsampling, so the same
 * pixels) and resized by Pillow's own algorithm: the crop equals torchvision's byte for byte. Answers `undefined` for
 * everything else (other formats, EXIF rotation, CMYK, truncated or corrupt data, images large enough for
 * shrink-on-load, kernels Pillow lacks): the caller decodes those with libvips, which also words the error.
 *
 * A libjpeg error unwinds out of the WebAssembly instance as an exception and leaks that call's buffers in its heap
 * (tens of kB per corrupt file); the instance stays usable.
 */
export function decodeJpegFast(bytes: Uint8Array, spec: PreprocessSpec, limitInputPixels: number): Buffer | undefined {
  if (!isPilKernel(spec.kernel)) return undefined;
  const header = readJpegHeader(bytes);
  if (!header?.complete || header.orientation !== 1 || header.precision !== 8) return undefined;
  if (header.components !== 1 && header.components !== 3) return undefined;
  if (header.width * header.height > limitInputPixels) return undefined;
  const plan = planResizeAndCrop(header.height, header.width, spec);
  if (plan.resized[0] * plan.resized[1] > limitInputPixels) return undefined;
  const ratio = Math.min(header.height / plan.resized[0], header.width / plan.resized[1]);
  if (ratio >= SHRINK_ON_LOAD_RATIO) return undefined;
  let decoded: { data: Uint8ClampedArray; width: number; height: number };
  try {
    // TurboJPEG fails on libjpeg warnings too (corrupt data, premature end), like sharp's failOn: 'warning'.
    decoded = decodeJpegWasm(bytes);
  } catch {
    return undefined;
  }
  if (decoded.width !== header.width || decoded.height !== header.height) return undefined;
  const rgba = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length);
  const crop = resizeAndCropRgb(
    { data: rgba, width: decoded.width, height: decoded.height, channels: 4 },
    plan.resized,
    plan.crop,
    spec.kernel,
  );
  return Buffer.from(crop.buffer, crop.byteOffset, crop.length);
}
