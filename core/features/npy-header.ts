import { DataError } from '../errors.js';

/**
 * The .npy preamble, parsed as the Python literal it is (numpy reads it with `ast.literal_eval`), not by regex: a dict
 * with exactly the keys `descr` (str), `fortran_order` (bool) and `shape` (tuple of ints ≥ 0), each once. Anything
 * else is a DataError. Kept apart from the array code so it can be fuzzed on its own (fuzz/targets/npy.ts).
 */
export interface NpyHeader {
  descr: string;
  /** Column-major order: numpy's `fortran_order`. Readers that cannot honour it refuse it (`requireCOrder`). */
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the first value. */
  offset: number;
  /** Bytes per value. */
  width: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy writes headers of a few hundred bytes; its own reader refuses more than 10,000 unless told otherwise. */
export const MAX_NPY_HEADER_BYTES = 10_000;

/** Element counts beyond this are refused before any arithmetic on bytes (2^53 keeps every product exact). */
const MAX_ELEMENTS = 2 ** 48;

const WIDTHS: Record<string, number> = { '<f4': 4, '<i4': 4, '<f8': 8, '<i8': 8 };

/** Parses a .npy preamble (the first bytes of the file: 12 + header length suffice). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new DataError('not a .npy file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new DataError(`.npy format version ${major} is not supported`);
  if (major !== 1 && bytes.length < 12) throw new DataError('.npy header is truncated');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (headerLen > MAX_NPY_HEADER_BYTES)
    throw new DataError(`.npy header is ${headerLen} bytes, over the ${MAX_NPY_HEADER_BYTES}-byte limit`);
  if (bytes.length < start + headerLen) throw new DataError('.npy header is truncated');
  const text = latin1(bytes.subarray(start, start + headerLen));
  const dict = new LiteralParser(text).header();
  const width = WIDTHS[dict.descr];
  if (width === undefined)
    throw new DataError(`.npy dtype ${JSON.stringify(dict.descr.slice(0, 16))} is not supported (<f4, <f8, <i4, <i8)`);
  if (dict.shape.reduce((a, b) => a * b, 1) > MAX_ELEMENTS)
    throw new DataError(`.npy shape (${dict.shape.join(', ')}) is too large`);
  return { ...dict, offset: start + headerLen, width };
}

/** Readers of [rows, cols] data in row order call this: a Fortran-order file read as C order is silently transposed. */
export function requireCOrder(header: NpyHeader): void {
  if (header.fortranOrder && header.shape.filter((d) => d > 1).length > 1)
    throw new DataError('.npy in Fortran order is not supported: save it with numpy.ascontiguousarray');
}

function latin1(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

type Literal = string | boolean | number | number[];

/** The subset of Python literals a .npy header uses: one dict of str keys to str, bool or a tuple of ints. */
class LiteralParser {
  private at = 0;
  constructor(private readonly text: string) {}

  header(): { descr: string; fortranOrder: boolean; shape: number[] } {
    const fields = new Map<string, Literal>();
    this.expect('{');
    for (;;) {
      this.space();
      if (this.peek() === '}') break;
      const key = this.string();
      if (fields.has(key)) throw this.error(`key ${JSON.stringify(key)} is repeated`);
      this.space();
      this.expect(':');
      fields.set(key, this.value());
      this.space();
      if (this.peek() === ',') this.at++;
      else if (this.peek() !== '}') throw this.error('expected , or }');
    }
    this.at++;
    if (this.text.slice(this.at).trim() !== '') throw this.error('text after the dict');
    const keys = [...fields.keys()].sort().join(',');
    if (keys !== 'descr,fortran_order,shape')
      throw new DataError(`.npy header keys must be descr, fortran_order and shape; got ${keys.slice(0, 80)}`);
    const [descr, fortranOrder, shape] = [fields.get('descr'), fields.get('fortran_order'), fields.get('shape')];
    if (typeof descr !== 'string') throw new DataError('.npy header: descr is not a string');
    if (typeof fortranOrder !== 'boolean') throw new DataError('.npy header: fortran_order is not True or False');
    if (!Array.isArray(shape)) throw new DataError('.npy header: shape is not a tuple of integers');
    return { descr, fortranOrder, shape };
  }

  private value(): Literal {
    this.space();
    const c = this.peek();
    if (c === "'" || c === '"') return this.string();
    if (c === '(') return this.tuple();
    if (c !== undefined && c >= '0' && c <= '9') return this.integer();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    throw this.error('expected a string, a tuple, an integer, True or False');
  }

  private tuple(): number[] {
    this.expect('(');
    const items: number[] = [];
    let commas = 0;
    for (;;) {
      this.space();
      if (this.peek() === ')') break;
      if (items.length > 32) throw this.error('shape has more than 32 dimensions');
      items.push(this.integer());
      this.space();
      if (this.peek() === ',') {
        this.at++;
        commas++;
      } else if (this.peek() !== ')') throw this.error('expected , or ) in shape');
    }
    this.at++;
    // Python: (5) is the integer 5, not a tuple; (5,) and () are tuples.
    if (items.length === 1 && commas === 0) throw this.error('shape (n) is an integer, not a tuple: write (n,)');
    return items;
  }

  private integer(): number {
    const match = /^[0-9]{1,16}/.exec(this.text.slice(this.at, this.at + 17));
    if (!match || /[0-9._a-zA-Z]/.test(this.text[this.at + match[0].length] ?? ''))
      throw this.error('shape entries must be whole numbers ≥ 0');
    this.at += match[0].length;
    const n = Number(match[0]);
    if (!Number.isSafeInteger(n)) throw this.error('shape entry is too large');
    return n;
  }

  private string(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') throw this.error('expected a quoted string');
    const end = this.text.indexOf(quote, this.at + 1);
    if (end < 0) throw this.error('unterminated string');
    const value = this.text.slice(this.at + 1, end);
    if (value.includes('\\') || value.includes('\n')) throw this.error('escapes are not supported in header strings');
    this.at = end + 1;
    return value;
  }

  private space(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at]!)) this.at++;
  }

  private peek(): string | undefined {
    return this.text[this.at];
  }

  private expect(c: string): void {
    this.space();
    if (this.peek() !== c) throw this.error(`expected ${c}`);
    this.at++;
  }

  private error(detail: string): DataError {
    return new DataError(`.npy header is not a valid dict literal at byte ${this.at}: ${detail}`);
  }
}
