/**
 * Whether a JPEG is one that libjpeg decodes without a single warning, decided without decoding pixels: the markers
 * are parsed and the entropy-coded data is Huffman-decoded block by block (no dequantization, no IDCT), as libjpeg's
 * decoder walks it. The near-exact decoder (`@napi-rs/image`) decodes truncated and corrupt data without complaint;
 * the fast path hands it only files this check passes, and everything else to the exact path, which then decodes it
 * or rejects it with the exact path's own error. So both paths reject the same files with the same message.
 *
 * The check is conservative: it passes only a single-scan baseline (SOF0/SOF1) Huffman JPEG, grey or 3-component
 * YCbCr, whose every segment decodes to exactly its MCUs with no bit missing (libjpeg: "premature end of data
 * segment"), no whole byte left over ("extraneous bytes before marker"), no invalid Huffman code ("bad Huffman
 * code"), restart markers in order ("found marker … instead of RST"), and the EOI right after the scan. Anything it
 * does not know (progressive, arithmetic, multi-scan, fill bytes inside the data, odd component ids, an Adobe colour
 * transform, a JFIF version libjpeg warns about) fails the check: the exact path takes such files, at its own speed.
 */

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DQT = 0xdb;
const DHT = 0xc4;
const DRI = 0xdd;
const APP0 = 0xe0;
const APP14 = 0xee;
const COM = 0xfe;

/**
 * A Huffman table as the check uses it. The check never needs a coefficient's value, only how many bits it takes and
 * where it moves in the block, so one lookup on the next 12 bits gives both for every code up to 12 bits long: an
 * entry is (code length + magnitude bits) | (advance << 5), where the advance is 1 for a DC difference or a run of r
 * zeros and a value (r + 1), 16 for sixteen zeros and 128 for the end of the block. 0: a longer code (found with the
 * canonical limits), INVALID: a symbol the check refuses.
 */
interface HuffmanTable {
  lookup: Uint16Array;
  /** maxCode[l]: the largest code of length l (−1 when none), l = 1..16. */
  maxCode: Int32Array;
  /** valOffset[l]: index into `values` of the code of length l minus that length's first code. */
  valOffset: Int32Array;
  /** For each symbol in code order, its entry (long codes: found by the canonical search). */
  entries: Uint16Array;
}

const INVALID = 0xffff;
const END_OF_BLOCK = 128;

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
}

const LOOKAHEAD = 12;

/** True when libjpeg would decode `bytes` without a warning and the fast decoder may take it. Never throws. */
export function isCleanBaselineJpeg(bytes: Uint8Array): boolean {
  try {
    return checkJpeg(bytes);
  } catch {
    return false;
  }
}

function checkJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return false;
  const dc: Array<HuffmanTable | undefined> = [];
  const ac: Array<HuffmanTable | undefined> = [];
  const quant = [false, false, false, false];
  let components: Component[] | undefined;
  let width = 0;
  let height = 0;
  let restartInterval = 0;
  let at = 2;
  for (;;) {
    // Markers follow one another directly: any other byte is "extraneous data" to libjpeg.
    if (at + 4 > n || bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) return false; // fill bytes: legal, rare, left to the exact path
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const body = at + 4;
    const end = at + 2 + length;
    if (length < 2 || end > n) return false;
    if (marker === SOS) {
      if (!components || restartInterval < 0) return false;
      return checkScan(bytes, body, end, { components, width, height, restartInterval, dc, ac, quant });
    }
    if (marker === 0xc0 || marker === 0xc1) {
      if (components) return false; // a second frame
      const frame = readFrame(bytes, body, end);
      if (!frame) return false;
      ({ components, width, height } = frame);
    } else if (marker === DHT) {
      if (!readHuffmanTables(bytes, body, end, dc, ac)) return false;
    } else if (marker === DQT) {
      if (!readQuantTables(bytes, body, end, quant)) return false;
    } else if (marker === DRI) {
      if (length !== 4) return false;
      restartInterval = (bytes[body]! << 8) | bytes[body + 1]!;
    } else if (marker === APP0) {
      // libjpeg warns on a JFIF major version other than 1.
      if (isTagged(bytes, body, end, 'JFIF\0') && bytes[body + 5] !== 1) return false;
    } else if (marker === APP14) {
      // An Adobe transform other than YCbCr (RGB, YCCK, unknown) is decoded differently or with a warning.
      if (isTagged(bytes, body, end, 'Adobe') && (end - body < 12 || bytes[body + 11] !== 1)) return false;
    } else if (!((marker > APP0 && marker <= 0xef) || marker === COM)) {
      return false; // SOF2 and the other frames, DNL, DAC, EOI before the scan, RST outside a scan, …
    }
    at = end;
  }
}

function isTagged(bytes: Uint8Array, body: number, end: number, tag: string): boolean {
  if (end - body < tag.length) return false;
  for (let i = 0; i < tag.length; i++) if (bytes[body + i] !== tag.charCodeAt(i)) return false;
  return true;
}

function readFrame(
  bytes: Uint8Array,
  body: number,
  end: number,
): { components: Component[]; width: number; height: number } | undefined {
  if (end - body < 6) return undefined;
  const precision = bytes[body]!;
  const height = (bytes[body + 1]! << 8) | bytes[body + 2]!;
  const width = (bytes[body + 3]! << 8) | bytes[body + 4]!;
  const count = bytes[body + 5]!;
  if (precision !== 8 || width === 0 || height === 0 || (count !== 1 && count !== 3)) return undefined;
  // Past a million blocks a component, libjpeg's DC sum could overflow (it then fails): not a fast-path image anyway.
  if (Math.ceil(width / 8) * Math.ceil(height / 8) > 1_000_000) return undefined;
  if (end - body !== 6 + 3 * count) return undefined;
  const components: Component[] = [];
  for (let i = 0; i < count; i++) {
    const p = body + 6 + 3 * i;
    const sampling = bytes[p + 1]!;
    const component = { id: bytes[p]!, h: sampling >> 4, v: sampling & 15, tq: bytes[p + 2]! };
    if (component.h < 1 || component.h > 4 || component.v < 1 || component.v > 4 || component.tq > 3) return undefined;
    components.push(component);
  }
  // The ids libjpeg and every other decoder read as YCbCr (R, G, B ids mean RGB to libjpeg only).
  if (count === 3 && !(components.every((c, i) => c.id === i + 1) || components.every((c, i) => c.id === i)))
    return undefined;
  return { components, width, height };
}

function readQuantTables(bytes: Uint8Array, body: number, end: number, quant: boolean[]): boolean {
  let p = body;
  while (p < end) {
    const pq = bytes[p]! >> 4;
    const tq = bytes[p]! & 15;
    if (pq > 1 || tq > 3) return false;
    p += 1 + 64 * (pq + 1);
    quant[tq] = true;
  }
  return p === end;
}

function readHuffmanTables(
  bytes: Uint8Array,
  body: number,
  end: number,
  dc: Array<HuffmanTable | undefined>,
  ac: Array<HuffmanTable | undefined>,
): boolean {
  let p = body;
  while (p < end) {
    if (p + 17 > end) return false;
    const tc = bytes[p]! >> 4;
    const th = bytes[p]! & 15;
    if (tc > 1 || th > 3) return false;
    const counts = bytes.subarray(p + 1, p + 17);
    let total = 0;
    for (const c of counts) total += c;
    if (total > 256 || p + 17 + total > end) return false;
    const values = bytes.slice(p + 17, p + 17 + total);
    // Baseline DC differences have at most 11 bits; AC symbols at most 10 magnitude bits.
    if (tc === 0 ? values.some((v) => v > 11) : values.some((v) => (v & 15) > 10)) return false;
    const table = buildTable(counts, values, tc === 0);
    if (!table) return false;
    (tc === 0 ? dc : ac)[th] = table;
    p += 17 + total;
  }
  return p === end;
}

/** Canonical Huffman codes from the 16 counts, as libjpeg builds them; undefined when the counts overflow the code space. */
function buildTable(counts: Uint8Array, values: Uint8Array, dc: boolean): HuffmanTable | undefined {
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  const maxCode = new Int32Array(18).fill(-1);
  const valOffset = new Int32Array(18);
  const entries = new Uint16Array(values.length);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const count = counts[length - 1]!;
    valOffset[length] = k - code;
    for (let i = 0; i < count; i++, k++, code++) {
      entries[k] = entryOf(values[k]!, length, dc);
      if (length <= LOOKAHEAD) {
        const shift = LOOKAHEAD - length;
        lookup.fill(entries[k]!, code << shift, (code + 1) << shift);
      }
    }
    if (count > 0) maxCode[length] = code - 1;
    if (code > 1 << length) return undefined;
    code <<= 1;
  }
  return { lookup, maxCode, valOffset, entries };
}

/** The lookup entry of `symbol` with a code of `length` bits (see HuffmanTable). */
function entryOf(symbol: number, length: number, dc: boolean): number {
  if (dc) return (length + symbol) | (1 << 5); // the symbol is the difference's bit count (≤ 11, checked)
  const size = symbol & 15;
  if (size !== 0) return (length + size) | (((symbol >> 4) + 1) << 5);
  if (symbol === 0xf0) return length | (16 << 5);
  if (symbol === 0) return length | (END_OF_BLOCK << 5);
  return INVALID; // a run with no value: decoders read it as end of block, or not
}

interface ScanContext {
  components: Component[];
  width: number;
  height: number;
  restartInterval: number;
  dc: Array<HuffmanTable | undefined>;
  ac: Array<HuffmanTable | undefined>;
  quant: boolean[];
}

/** Block layout of one MCU: for each block, its component's DC and AC table and its DC predictor slot. */
function mcuLayout(ctx: ScanContext, scan: Array<{ index: number; td: number; ta: number }>) {
  const { components, width, height } = ctx;
  if (scan.length === 1) {
    const c = components[scan[0]!.index]!;
    const hMax = Math.max(...components.map((x) => x.h));
    const vMax = Math.max(...components.map((x) => x.v));
    const cw = Math.ceil((width * c.h) / hMax);
    const ch = Math.ceil((height * c.v) / vMax);
    return { mcus: Math.ceil(cw / 8) * Math.ceil(ch / 8), blocks: [0] };
  }
  const hMax = Math.max(...components.map((x) => x.h));
  const vMax = Math.max(...components.map((x) => x.v));
  const blocks: number[] = [];
  scan.forEach((s, i) => {
    const c = components[s.index]!;
    for (let b = 0; b < c.h * c.v; b++) blocks.push(i);
  });
  if (blocks.length > 10) return undefined; // libjpeg's limit on blocks per MCU
  return { mcus: Math.ceil(width / (8 * hMax)) * Math.ceil(height / (8 * vMax)), blocks };
}

function checkScan(bytes: Uint8Array, body: number, headerEnd: number, ctx: ScanContext): boolean {
  const count = bytes[body]!;
  // One scan holding every component, in frame order: a baseline sequential file in one pass.
  if (count !== ctx.components.length || headerEnd - body !== 1 + 2 * count + 3) return false;
  const scan: Array<{ index: number; td: number; ta: number }> = [];
  for (let i = 0; i < count; i++) {
    const id = bytes[body + 1 + 2 * i]!;
    const tables = bytes[body + 2 + 2 * i]!;
    if (ctx.components[i]!.id !== id) return false;
    const td = tables >> 4;
    const ta = tables & 15;
    if (td > 3 || ta > 3 || !ctx.dc[td] || !ctx.ac[ta] || !ctx.quant[ctx.components[i]!.tq]) return false;
    scan.push({ index: i, td, ta });
  }
  const spectral = body + 1 + 2 * count;
  if (bytes[spectral] !== 0 || bytes[spectral + 1] !== 63 || bytes[spectral + 2] !== 0) return false;
  const layout = mcuLayout(ctx, scan);
  if (!layout) return false;
  const dcTables = layout.blocks.map((i) => ctx.dc[scan[i]!.td]!);
  const acTables = layout.blocks.map((i) => ctx.ac[scan[i]!.ta]!);
  const end = decodeEntropy(bytes, headerEnd, layout.mcus, ctx.restartInterval, layout.blocks, dcTables, acTables);
  if (end < 0) return false;
  // The EOI right after the scan; only zero bytes may follow it (padding libjpeg never reads).
  if (bytes[end] !== 0xff || bytes[end + 1] !== EOI) return false;
  for (let i = end + 2; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Huffman-decodes every block of the scan starting at `start`. Answers the offset of the marker that ends the scan, or
 * −1 where libjpeg would warn or a decoder could differ. One function without closures: V8 keeps the bit buffer in
 * registers (a closure over it made the check cost as much as the decode).
 */
function decodeEntropy(
  bytes: Uint8Array,
  start: number,
  mcus: number,
  restartInterval: number,
  blocks: number[],
  dcTables: HuffmanTable[],
  acTables: HuffmanTable[],
): number {
  const n = bytes.length;
  const perMcu = blocks.length;
  let pos = start;
  // Bit buffer: the low `bits` bits of `acc` are unread. Magnitude bits are skipped, not read, so `bits` may go
  // negative: the next bytes' first bits are then skipped as they arrive.
  let acc = 0;
  let bits = 0;
  let fake = 0; // zero bits appended after the segment's end marker was reached
  let markerAt = -1;
  let nextRestart = 0;
  let left = restartInterval || mcus;
  let nextFf = bytes.indexOf(0xff, pos);
  if (nextFf < 0) nextFf = n;

  for (let mcu = 0; ; mcu++) {
    if (left === 0 || mcu === mcus) {
      // A segment's end: its skipped magnitude bits taken from the bytes that follow (stopping at a marker), then no
      // bit missing, no whole byte left over, and the marker directly after the data.
      while (bits < 0 && markerAt < 0 && pos < n) {
        if (bytes[pos] !== 0xff) pos++;
        else if (bytes[pos + 1] === 0) pos += 2;
        else break;
        bits += 8;
      }
      if (bits < fake || bits - fake >= 8) return -1;
      const marker = markerAt >= 0 ? markerAt : pos;
      if (mcu === mcus) return marker;
      if (marker + 1 >= n || bytes[marker] !== 0xff || bytes[marker + 1] !== 0xd0 + nextRestart) return -1;
      nextRestart = (nextRestart + 1) & 7;
      pos = marker + 2;
      nextFf = bytes.indexOf(0xff, pos);
      if (nextFf < 0) nextFf = n;
      acc = 0;
      bits = 0;
      fake = 0;
      markerAt = -1;
      left = restartInterval;
    }
    left--;
    for (let b = 0; b < perMcu; b++) {
      let table = dcTables[b]!;
      const ac = acTables[b]!;
      let coefficient = 0;
      while (coefficient < 64) {
        // At least 25 bits: any code (≤ 16 bits) can be read, as libjpeg's buffer allows; at a marker (or the file's
        // end) zero bits are appended and counted in `fake`.
        while (bits < 25) {
          if (pos < nextFf) {
            // Between 0xFF bytes: plain data.
            acc = (acc << 8) | bytes[pos++]!;
            bits += 8;
            continue;
          }
          let byte = 0;
          if (markerAt >= 0) fake += 8;
          else if (pos >= n) {
            markerAt = n;
            fake += 8;
          } else {
            // At a 0xFF: a stuffed 0xFF00 is one 0xFF byte; anything else is a marker.
            const next = pos + 1 < n ? bytes[pos + 1]! : -1;
            if (next === 0) {
              byte = 0xff;
              pos += 2;
              nextFf = bytes.indexOf(0xff, pos);
              if (nextFf < 0) nextFf = n;
            } else if (next === 0xff)
              return -1; // fill bytes inside the data: decoders disagree
            else {
              markerAt = pos;
              fake += 8;
            }
          }
          acc = (acc << 8) | byte;
          bits += 8;
        }
        let entry = table.lookup[(acc >>> (bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)]!;
        if (entry === 0) {
          // A code longer than the lookup: libjpeg's canonical search ("bad Huffman code" when none matches).
          entry = INVALID;
          for (let length = LOOKAHEAD + 1; length <= 16; length++) {
            const code = (acc >>> (bits - length)) & ((1 << length) - 1);
            if (code <= table.maxCode[length]!) {
              entry = table.entries[code + table.valOffset[length]!]!;
              break;
            }
          }
        }
        if (entry === INVALID) return -1;
        bits -= entry & 31;
        coefficient += entry >>> 5;
        table = ac;
      }
      // A value or a run past the block's 63rd coefficient (an end of block lands at 128 or above).
      if (coefficient > 64 && coefficient < END_OF_BLOCK) return -1;
    }
    // Once a segment's real bits are used up, only appended zeros remain: "premature end of data segment".
    if (fake !== 0 && bits < fake) return -1;
  }
}
