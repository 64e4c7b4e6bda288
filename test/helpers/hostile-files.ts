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
