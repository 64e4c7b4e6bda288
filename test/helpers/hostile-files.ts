/**
 * Crafted files from issue 23's hostile-input review, written by hand so each test says what it feeds the decoders.
 * Also the seeds of the fuzz corpora (fuzz/seeds.ts).
 */

/** A BITMAPINFOHEADER BMP: `bits` per pixel, `compression` (0 none, 1 RLE8, 2 RLE4, 3 bit fields), `body` after the
 * 256-entry palette (8 bits and less) or the header. */
export function bmpFile(opts: {
  width: number;
  height: number;
  bits: number;
  compression?: number;
  body: Uint8Array | number[];
  pixelOffset?: number;
  masks?: [number, number, number];
}): Buffer {
  const paletteBytes = opts.bits <= 8 ? 4 * 2 ** opts.bits : 0;
  const maskBytes = opts.masks ? 12 : 0;
  const start = 54 + maskBytes + paletteBytes;
  const body = Buffer.from(opts.body);
  const file = Buffer.alloc(start + body.length);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(opts.pixelOffset ?? start, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(opts.width, 18);
  file.writeInt32LE(opts.height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(opts.bits, 28);
  file.writeUInt32LE(opts.compression ?? 0, 30);
  file.writeUInt32LE(body.length, 34);
  if (opts.masks) opts.masks.forEach((m, i) => file.writeUInt32LE(m, 54 + 4 * i));
  for (let i = 0; i < paletteBytes / 4; i++) file.writeUInt32LE(i * 0x010101, 54 + maskBytes + 4 * i);
  body.copy(file, start);
  return file;
}

/** An RLE8 BMP of `width`×`height` whose only data is a few runs and an end-of-bitmap marker: the D1 bomb. */
export function rle8Bomb(width: number, height: number): Buffer {
  const body = [];
  for (let i = 0; i < 4; i++) body.push(255, 7);
  body.push(0, 1);
  return bmpFile({ width, height, bits: 8, compression: 1, body });
}

/** An 18-byte-header TGA: `type` (1 colour-mapped, 2 true colour, 3 grey, +8 RLE), then palette and raster. */
export function tgaFile(opts: {
  width: number;
  height: number;
  type: number;
  depth: number;
  map?: { start: number; length: number; depth: number };
  body: Uint8Array | number[];
}): Buffer {
  const header = Buffer.alloc(18);
  header[1] = opts.map ? 1 : 0;
  header[2] = opts.type;
  if (opts.map) {
    header.writeUInt16LE(opts.map.start, 3);
    header.writeUInt16LE(opts.map.length, 5);
    header[7] = opts.map.depth;
  }
  header.writeUInt16LE(opts.width, 12);
  header.writeUInt16LE(opts.height, 14);
  header[16] = opts.depth;
  header[17] = 0x20;
  return Buffer.concat([header, Buffer.from(opts.body)]);
}

export function netpbmFile(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** A .npy v1.0 file with `header` as its dict text, verbatim (padded as numpy pads it), and `body` after it. */
export function npyWith(header: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  const text = header.padEnd(total - 11, ' ') + '\n';
  const out = new Uint8Array(total + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), 10);
  out.set(body, total);
  return out;
}

/** A valid head.json of two classes over two features. */
export function headFileExample(): Record<string, unknown> {
  return {
    version: 1,
    model: { name: 'mobilenetv2-12-int8', sha256: 'a'.repeat(64) },
    layer: 'final',
    namespace: 'n',
    classes: ['ants', 'bees'],
    options: { kind: 'logistic', C: 1 },
    cv: null,
    head: {
      format: 'cnn-codes.head',
      version: 1,
      options: { kind: 'logistic', C: 1 },
      nClasses: 2,
      nFeatures: 2,
      standardizer: { mean: [0, 1], scale: [1, 2] },
      weights: [[0.5, -0.25]],
      intercepts: [0.1],
      probability: 'logistic-model',
      fit: { iterations: 3, converged: true },
    },
    trainedOn: 10,
    fitSeconds: 0.1,
    cacheKey: 'k',
  };
}

/** An icon file: a directory of `entries` (width, height, bits per pixel) followed by each entry's data. */
export function icoFile(entries: Array<{ width: number; height: number; bpp: number; data: Uint8Array }>): Buffer {
  const dir = Buffer.alloc(6 + 16 * entries.length);
  dir.writeUInt16LE(1, 2);
  dir.writeUInt16LE(entries.length, 4);
  let offset = dir.length;
  entries.forEach((e, i) => {
    const at = 6 + 16 * i;
    dir[at] = e.width & 255;
    dir[at + 1] = e.height & 255;
    dir.writeUInt16LE(e.bpp, at + 6);
    dir.writeUInt32LE(e.data.length, at + 8);
    dir.writeUInt32LE(offset, at + 12);
    offset += e.data.length;
  });
  return Buffer.concat([dir, ...entries.map((e) => Buffer.from(e.data))]);
}
