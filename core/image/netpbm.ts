import { InvalidImageError } from '../errors.js';
import type { RawPixels } from './bmp.js';
import { checkDecodeBudget, notEnoughDataError } from './invalid-image.js';

/**
 * Netpbm (P1–P6: PBM, PGM, PPM, plain and binary, 8 and 16 bits), read as PIL 9.4's PpmImagePlugin reads it, so the
 * pixels equal PIL's (test/integration/pil-formats.test.ts compares them byte for byte).
 *
 * Own code, not a package: @thi.ng/pixel-io-netpbm, the maintained reader on npm, does not install here (it asks for a
 * @thi.ng/pixel release the registry does not carry) and comes with a framework of its own; the format is a text
 * header and a raster, and matching PIL takes its exact rescaling (Python's round-half-even of v / maxval · 255).
 */

/** PIL's cap on a plain-format token. */
const MAX_TOKEN = 10;

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/** "P1".."P6" followed by whitespace: PIL takes any "P" + digit; the whitespace keeps text files out. */
export function isNetpbm(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1]! >= 0x31 && bytes[1]! <= 0x36 && WHITESPACE.has(bytes[2]!);
}

export function decodeNetpbm(bytes: Uint8Array, limitInputPixels: number): RawPixels {
  const kind = bytes[1]! - 0x30;
  const header = new HeaderReader(bytes, 3);
  const width = header.number();
  const height = header.number();
  const bitmap = kind === 1 || kind === 4;
  const maxval = bitmap ? 1 : header.number();
  if (width <= 0 || height <= 0) throw failed(`P${kind} of ${width}×${height} pixels`);
  if (!(maxval > 0 && maxval < 65536)) throw failed(`maxval ${maxval} is not in 1..65535`);
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  // 16-bit values (2 bytes a sample) and the 8-bit output (1).
  checkDecodeBudget('Netpbm', width, height, channels * 3, limitInputPixels);
  const count = width * height * channels;
  const start = header.position;
  // Before allocating: a plain sample takes at least one character (a bit) or a digit and a separator.
  const room = kind === 1 ? bytes.length - start : kind <= 3 ? Math.ceil((bytes.length - start) / 2) : Infinity;
  if (count > room) throw notEnoughDataError('Netpbm', `${count} samples declared, ${bytes.length - start} bytes`);
  let samples: Uint8Array;
  if (kind === 4) samples = unpackBits(bytes, start, width, height);
  else if (kind === 1) samples = plainBits(bytes, start, count);
  else {
    // PIL keeps greyscale above 8 bits as 32-bit "I" (0..65535); colour it brings to 8 bits as it reads.
    const wide = channels === 1 && maxval > 255;
    const values = kind <= 3 ? plainValues(bytes, start, count, maxval) : binaryValues(bytes, start, count, maxval);
    samples = wide ? toEightBits(values, maxval) : rescale(values, maxval, 255);
  }
  return { pixels: Buffer.from(samples.buffer, samples.byteOffset, samples.length), width, height, channels };
}

/** PIL's header tokens: whitespace-separated decimals, `#` comments to the end of the line, one whitespace after. */
class HeaderReader {
  constructor(
    private readonly bytes: Uint8Array,
    public position: number,
  ) {}

  number(): number {
    const { bytes } = this;
    let token = '';
    while (this.position < bytes.length) {
      const c = bytes[this.position++]!;
      if (c === 0x23) {
        while (this.position < bytes.length && bytes[this.position] !== 0x0a && bytes[this.position] !== 0x0d)
          this.position++;
        continue;
      }
      if (WHITESPACE.has(c)) {
        if (token) break;
        continue;
      }
      token += String.fromCharCode(c);
      if (token.length > MAX_TOKEN) throw failed(`header token too long: ${token.slice(0, MAX_TOKEN)}…`);
    }
    if (!/^\d+$/.test(token))
      throw token
        ? failed(`header token is not a number: ${token}`)
        : new InvalidImageError('truncated', 'truncated Netpbm: the header ends early');
    return Number(token);
  }
}

function binaryValues(bytes: Uint8Array, start: number, count: number, maxval: number): Uint16Array | Uint8Array {
  const wide = maxval > 255;
  const needed = count * (wide ? 2 : 1);
  if (bytes.length - start < needed) throw truncated(needed, bytes.length - start);
  if (!wide) return bytes.subarray(start, start + count);
  const values = new Uint16Array(count);
  for (let i = 0, p = start; i < count; i++, p += 2) values[i] = (bytes[p]! << 8) | bytes[p + 1]!;
  return values;
}

function plainValues(bytes: Uint8Array, start: number, count: number, maxval: number): Uint16Array {
  const values = new Uint16Array(count);
  const text = new PlainTokens(bytes, start);
  for (let i = 0; i < count; i++) {
    const token = text.next();
    if (token === undefined) throw truncated(count, i, 'values');
    if (!/^\d{1,10}$/.test(token)) throw failed(`not a sample value: ${token.slice(0, 11)}`);
    const value = Number(token);
    if (value > maxval) throw failed(`sample value ${value} is above maxval ${maxval}`);
    values[i] = value;
  }
  return values;
}

/**
 * Plain PBM: every sample is one character, whitespace between them optional, `#` comments to the end of the line
 * (as PIL's _decode_bitonly reads it, byte by byte: no token is built, however long the run of bits); 1 is black.
 */
function plainBits(bytes: Uint8Array, start: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  let i = 0;
  for (let p = start; p < bytes.length && i < count; p++) {
    const c = bytes[p]!;
    if (c === 0x23) {
      while (p < bytes.length && bytes[p] !== 0x0a && bytes[p] !== 0x0d) p++;
      continue;
    }
    if (WHITESPACE.has(c)) continue;
    if (c !== 0x30 && c !== 0x31) throw failed(`not a PBM bit: ${JSON.stringify(String.fromCharCode(c))}`);
    out[i++] = c === 0x31 ? 0 : 255;
  }
  if (i < count) throw truncated(count, i, 'bits');
  return out;
}

/** Binary PBM: rows packed 8 pixels a byte, most significant bit first, each row starting on a byte; 1 is black. */
function unpackBits(bytes: Uint8Array, start: number, width: number, height: number): Uint8Array {
  const stride = Math.ceil(width / 8);
  if (bytes.length - start < stride * height) throw truncated(stride * height, bytes.length - start);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = (bytes[start + y * stride + (x >> 3)]! >> (7 - (x & 7))) & 1;
      out[y * width + x] = bit ? 0 : 255;
    }
  }
  return out;
}

class PlainTokens {
  constructor(
    private readonly bytes: Uint8Array,
    private position: number,
  ) {}

  next(): string | undefined {
    const { bytes } = this;
    let token = '';
    while (this.position < bytes.length) {
      const c = bytes[this.position]!;
      if (c === 0x23 && !token) {
        while (this.position < bytes.length && bytes[this.position] !== 0x0a && bytes[this.position] !== 0x0d)
          this.position++;
        continue;
      }
      if (WHITESPACE.has(c) || c === 0x23) {
        if (token) return token;
        this.position++;
        continue;
      }
      // PIL stops at "Token too long found in data": a sample has at most 10 digits (maxval ≤ 65535 needs 5).
      if (token.length >= MAX_TOKEN) throw failed(`a token longer than ${MAX_TOKEN} characters in the data`);
      token += String.fromCharCode(c);
      this.position++;
    }
    return token || undefined;
  }
}

/** v → round(v / maxval · top) as PIL computes it (a double, then Python's round, which rounds halves to even). */
function rescale(values: ArrayLike<number>, maxval: number, top: number): Uint8Array {
  if (maxval === top && top === 255) return Uint8Array.from(values);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(top, roundHalfEven((values[i]! / maxval) * top));
  return out;
}

/**
 * Greyscale above 8 bits: PIL's 16-bit value (round(v / maxval · 65535)), then 8 bits by the same rule PIL applies to
 * 16-bit colour. PIL's own convert('RGB') of such an image clips at 255 instead, which turns nearly every pixel white;
 * this keeps a 16-bit PGM the same picture as the 16-bit PPM of the same scene.
 */
function toEightBits(values: ArrayLike<number>, maxval: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const sixteen = maxval === 65535 ? values[i]! : Math.min(65535, roundHalfEven((values[i]! / maxval) * 65535));
    out[i] = Math.min(255, roundHalfEven((sixteen / 65535) * 255));
  }
  return out;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

function failed(detail: string): InvalidImageError {
  return new InvalidImageError('decode-failed', `Netpbm could not be decoded: ${detail}`);
}

function truncated(expected: number, found: number, unit = 'bytes of pixel data'): InvalidImageError {
  return new InvalidImageError('truncated', `truncated Netpbm: ${found} of ${expected} ${unit}`);
}
