import sharp from 'sharp';
import { sniffFormat } from './invalid-image.js';
import { sharpInput } from './sharp-input.js';
import { vipsJpeg, type DecodedPixels } from './vips-jpeg.js';

const LIMIT_INPUT_PIXELS = 100_000_000;
/**
 * A JPEG is DCT-scaled only while SCALED_SIDES × side pixels stay on its short side: coarser, the scaled decode's
 * blocks move the thumbnail off the whole decode's (1/8 on a 500 × 333 photo: 11 levels mean |Δ| on a 32² thumbnail;
 * 1/2: 1.7), and a copy at another size would be scaled differently from its original.
 */
const SCALED_SIDES = 8;
/** A PNG decoded whole in this thread at most (larger ones go to sharp, which streams). */
const IN_THREAD_PNG_PIXELS = 4_000_000;

/**
 * An image's `side`² grayscale thumbnail: the oriented image (alpha on white), its luma (Rec. 601, as PIL's "L")
 * averaged over each of `side` × `side` equal areas, stretched to the square; one byte a pixel, row-major. What
 * core/quality/image-signature.ts hashes.
 *
 * JPEG and 8-bit PNG are decoded in this thread by sharp's libvips (core/image/vips-jpeg.ts), a large JPEG DCT-scaled
 * (1/2, 1/4, 1/8; see SCALED_SIDES): on the 100,000 small images of
 * bench/data-quality.ts a sharp pipeline per thumbnail cost about 3 ms of CPU, mostly sharp's own per-call work, and
 * the signatures of a run's train set a tenth of the run. Every other image (and any the in-thread loader refuses)
 * is decoded whole by sharp; the area average is the same code either way, so a copy's thumbnail is its original's
 * within what DCT scaling changes.
 */
export async function grayThumbnail(
  bytes: Uint8Array,
  side: number,
  /** 'sharp' decodes every image with sharp (what tests compare the in-thread decode with). */
  decoder: 'auto' | 'sharp' = 'auto',
): Promise<Uint8Array> {
  const pixels = (decoder === 'auto' ? inThread(bytes, side) : undefined) ?? (await bySharp(bytes));
  return areaGray(pixels, side);
}

type Oriented = DecodedPixels & { orientation: number };

function inThread(bytes: Uint8Array, side: number): Oriented | undefined {
  const format = sniffFormat(bytes);
  if (format !== 'JPEG' && format !== 'PNG') return undefined;
  const kind = format === 'JPEG' ? 'jpeg' : 'png';
  const pixels = vipsJpeg()?.decodeSmall(bytes, kind, (width, height) => {
    if (width * height > LIMIT_INPUT_PIXELS) return undefined;
    if (kind === 'png') return width * height <= IN_THREAD_PNG_PIXELS ? 1 : undefined;
    let shrink = 8;
    while (shrink > 1 && Math.min(width, height) / shrink < SCALED_SIDES * side) shrink /= 2;
    return shrink;
  });
  // CMYK (4 bands in a JPEG) needs a colour conversion: sharp's.
  return pixels && (kind === 'png' || pixels.channels === 1 || pixels.channels === 3) ? pixels : undefined;
}

async function bySharp(bytes: Uint8Array): Promise<Oriented> {
  const { input, options } = sharpInput(bytes, LIMIT_INPUT_PIXELS);
  const { data, info } = await sharp(input, {
    ...options,
    limitInputPixels: LIMIT_INPUT_PIXELS,
    autoOrient: true,
    pages: 1,
  })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== info.width * info.height * info.channels)
    throw new Error(`thumbnail source of ${data.length} bytes for ${info.width} × ${info.height} × ${info.channels}`);
  return { data, width: info.width, height: info.height, channels: info.channels, orientation: 1 };
}

/** Cell k of `to` equal cells over [0, from): source positions index[offset[k] .. offset[k + 1]) with their weights. */
interface Cells {
  offset: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

function cells(from: number, to: number): Cells {
  const offset = new Int32Array(to + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let k = 0; k < to; k++) {
    const start = (k * from) / to;
    const end = ((k + 1) * from) / to;
    for (let x = Math.floor(start); x < Math.min(from, Math.ceil(end)); x++) {
      const w = Math.min(end, x + 1) - Math.max(start, x);
      if (w > 0) {
        index.push(x);
        weight.push(w / (end - start));
      }
    }
    offset[k + 1] = index.length;
  }
  return { offset, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** One row's luma (Rec. 601; alpha composited on white) from interleaved 8-bit pixels of 1–4 channels. */
function lumaRow(data: Uint8Array, channels: number, from: number, width: number, out: Float64Array): void {
  for (let x = 0, p = from; x < width; x++, p += channels) {
    const y = channels >= 3 ? 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]! : data[p]!;
    const alpha = channels === 4 ? data[p + 3]! / 255 : channels === 2 ? data[p + 1]! / 255 : 1;
    out[x] = y * alpha + 255 * (1 - alpha);
  }
}

/** The area average to side × side, then the EXIF orientation applied (the grid is square, so it maps exactly). */
export function areaGray(pixels: Oriented, side: number): Uint8Array {
  const { data, width, height, channels, orientation } = pixels;
  const columns = cells(width, side);
  const rows = cells(height, side);
  // Columns first (height × side), each source row's luma taken once.
  const half = new Float64Array(height * side);
  const luma = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    lumaRow(data, channels, y * width * channels, width, luma);
    for (let j = 0; j < side; j++) {
      let s = 0;
      for (let t = columns.offset[j]!; t < columns.offset[j + 1]!; t++)
        s += columns.weight[t]! * luma[columns.index[t]!]!;
      half[y * side + j] = s;
    }
  }
  const out = new Uint8Array(side * side);
  const last = side - 1;
  for (let i = 0; i < side; i++)
    for (let j = 0; j < side; j++) {
      let s = 0;
      for (let t = rows.offset[i]!; t < rows.offset[i + 1]!; t++)
        s += rows.weight[t]! * half[rows.index[t]! * side + j]!;
      const [r, c] = displayed(orientation, i, j, last);
      out[r * side + c] = Math.min(255, Math.max(0, Math.round(s)));
    }
  return out;
}

/** Where stored cell (i, j) is shown under EXIF orientation 1–8 (2: mirrored, 6: turned 90° clockwise, …). */
function displayed(orientation: number, i: number, j: number, last: number): [number, number] {
  switch (orientation) {
    case 2:
      return [i, last - j];
    case 3:
      return [last - i, last - j];
    case 4:
      return [last - i, j];
    case 5:
      return [j, i];
    case 6:
      return [j, last - i];
    case 7:
      return [last - j, last - i];
    case 8:
      return [last - j, i];
    default:
      return [i, j];
  }
}
