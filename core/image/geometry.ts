import { ConfigError } from '../errors.js';
import type { PreprocessSpec } from '../models/descriptor.js';

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface ResizeCropPlan {
  /** Size after the resize, [height, width]. */
  resized: [number, number];
  crop: CropBox;
}

/**
 * torchvision 0.14 `Resize(int)` then `CenterCrop`, for an image of `height`×`width` (already EXIF-oriented).
 * Reproduced exactly, including the truncation of the long side and Python's round-half-to-even in the crop offset,
 * so that our crop covers the same source pixels as the PyTorch reference pipeline.
 */
export function planResizeAndCrop(height: number, width: number, spec: PreprocessSpec): ResizeCropPlan {
  const resized = resizedSize(height, width, spec.resize);
  const [cropH, cropW] = spec.crop;
  if (cropH > resized[0] || cropW > resized[1]) {
    // torchvision would zero-pad here; no descriptor we ship needs it, so refuse instead of silently padding.
    throw new ConfigError(`crop ${cropH}×${cropW} is larger than the resized image ${resized[0]}×${resized[1]}`);
  }
  return {
    resized,
    crop: {
      top: roundHalfToEven((resized[0] - cropH) / 2),
      left: roundHalfToEven((resized[1] - cropW) / 2),
      height: cropH,
      width: cropW,
    },
  };
}

/** torchvision `_compute_resized_output_size`: the short side becomes `size`, the long side `int(size * long / short)`. */
export function resizedSize(height: number, width: number, size: PreprocessSpec['resize']): [number, number] {
  if (Array.isArray(size)) return [size[0], size[1]];
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [newLong, size] : [size, newLong];
}

/** Python 3 `round()`: halves go to the even neighbour (round(58.5) == 58). */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}
