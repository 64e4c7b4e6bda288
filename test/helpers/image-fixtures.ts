import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { IMAGENET_PREPROCESS } from '../../core/models/builtin.js';
import type { PreprocessSpec } from '../../core/models/descriptor.js';

/**
 * Odd and broken images, generated at test time with sharp so that nothing binary is committed. Every image is made
 * from one asymmetric pattern, so a flip, a transpose or a rotation changes the pixels.
 */

/** The built-in models' torchvision preprocessing: tests exercise exactly what the registry ships. */
export const IMAGENET_SPEC: PreprocessSpec = IMAGENET_PREPROCESS;

export const CROP_BYTES = 224 * 224 * 3;

/** R rises left→right, G top→bottom, B marks 40-px blocks: smooth enough for JPEG, distinct under any rotation. */
export function patternRgb(width: number, height: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = Math.round((255 * x) / (width - 1));
      raw[i + 1] = Math.round((255 * y) / (height - 1));
      raw[i + 2] = (Math.floor(x / 40) + 2 * Math.floor(y / 40)) % 3 === 0 ? 220 : 40;
    }
  }
  return raw;
}

export function pattern(width = 320, height = 240): Sharp {
  return sharp(patternRgb(width, height), { raw: { width, height, channels: 3 } });
}

export const jpeg = (width = 320, height = 240) => pattern(width, height).jpeg({ quality: 95 }).toBuffer();
export const png = (width = 320, height = 240) => pattern(width, height).png().toBuffer();

/** The first `fraction` of the bytes, as a cut-off download would leave them. */
export function truncate(bytes: Buffer, fraction = 0.5): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * fraction));
}

/** A complete JPEG (SOI … EOI) whose entropy-coded middle has been overwritten. */
export async function corruptJpeg(): Promise<Buffer> {
  const bytes = Buffer.from(await jpeg());
  bytes.fill(0x55, Math.floor(bytes.length * 0.3), Math.floor(bytes.length * 0.6));
  return bytes;
}

/** Deterministic bytes that start like no image format. */
export function garbage(length = 4096): Buffer {
  const bytes = Buffer.alloc(length);
  let state = 12345;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  bytes[0] = 0x00; // never a valid magic byte
  return bytes;
}

/** A valid 1×1 PNG whose IHDR (with a correct CRC) claims width×height: a decompression bomb in 70 bytes. */
export async function pngClaimingSize(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await pattern(1, 1).png().toBuffer());
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

export const greyscalePng = () => pattern().toColourspace('b-w').png().toBuffer();
export const png16 = () => pattern().toColourspace('rgb16').png().toBuffer();
export const palettePng = () => pattern().png({ palette: true, colours: 64, dither: 0 }).toBuffer();
export const webp = () => pattern().webp({ lossless: true }).toBuffer();
export const tiff = () => pattern().tiff().toBuffer();

/** Mid-tones (64..191) of the pattern, which a CMYK gamut can hold, as CMYK JPEG and as the PNG to compare with. */
export const mutedPattern = () => pattern().linear(0.5, 64);
export const cmykJpeg = () => mutedPattern().toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
export const mutedPng = () => mutedPattern().png().toBuffer();

/** Left half fully transparent (stored colour black), right half opaque pattern. */
export async function halfTransparentPng(width = 320, height = 240): Promise<Buffer> {
  const rgb = patternRgb(width, height);
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const opaque = p % width >= width / 2;
    rgba[p * 4] = opaque ? rgb[p * 3]! : 0;
    rgba[p * 4 + 1] = opaque ? rgb[p * 3 + 1]! : 0;
    rgba[p * 4 + 2] = opaque ? rgb[p * 3 + 2]! : 0;
    rgba[p * 4 + 3] = opaque ? 255 : 0;
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** Two frames: the pattern, then solid blue. Only the first may be used. */
export async function animatedGif(): Promise<Buffer> {
  const first = await pattern().png().toBuffer();
  const second = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  return sharp([first, second], { join: { animated: true } })
    .gif()
    .toBuffer();
}

/**
 * Splices a minimal EXIF APP1 segment (one Orientation tag) after the JPEG's SOI marker, leaving the pixels untouched.
 * Must stay byte-identical to with_exif_orientation() in test/golden/torchvision_reference.py.
 */
export function withExifOrientation(jpegBytes: Uint8Array, orientation: number): Buffer {
  if (jpegBytes[0] !== 0xff || jpegBytes[1] !== 0xd8) throw new Error('not a JPEG');
  const tiff = Buffer.alloc(26);
  tiff.write('II*\0', 0, 'latin1');
  tiff.writeUInt32LE(8, 4); // offset of the first IFD
  tiff.writeUInt16LE(1, 8); // one entry
  tiff.writeUInt16LE(0x0112, 10); // Orientation
  tiff.writeUInt16LE(3, 12); // SHORT
  tiff.writeUInt32LE(1, 14); // count
  tiff.writeUInt32LE(orientation, 18); // value, left-justified in the 4-byte field
  // bytes 22..25: next IFD offset 0
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpegBytes.subarray(0, 2), header, payload, jpegBytes.subarray(2)]);
}
