import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidImageError, type InvalidImageKind } from '../../../core/errors.js';
import { decodeToRgb } from '../../../core/image/preprocess.js';
import { sharpInput } from '../../../core/image/sharp-input.js';
import { bmpFile, netpbmFile, rle8Bomb, tgaFile } from '../../helpers/hostile-files.js';
import { IMAGENET_SPEC, jpeg } from '../../helpers/image-fixtures.js';

async function rejects(bytes: Uint8Array, kind: InvalidImageKind, message: RegExp): Promise<void> {
  await assert.rejects(decodeToRgb(bytes, IMAGENET_SPEC), (err: unknown) => {
    assert.ok(err instanceof InvalidImageError, `expected InvalidImageError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, message);
    return true;
  });
}

test('D1: an RLE8 BMP whose runs stop short of its raster is "not enough image data", as in PIL, not zero-filled', async () => {
  const small = rle8Bomb(2000, 2000);
  assert.ok(small.length < 1100);
  await rejects(small, 'truncated', /not enough image data \(1020 of 4000000 pixels\)/);
  // 10000×10000 (the review's 1,080-byte file, 994–1,305 MiB in predict) is refused before any allocation.
  await rejects(rle8Bomb(10_000, 10_000), 'too-large', /memory budget/);
});

test('D1: corrupt BMP and TGA headers are rejects, not black images', async () => {
  const pixels = new Uint8Array(4 * 4 * 3 + 4);
  await rejects(
    bmpFile({ width: 4, height: 4, bits: 24, body: pixels, pixelOffset: 0xffffff00 }),
    'truncated',
    /not enough image data \(pixel data at byte 4294967040/,
  );
  await rejects(
    bmpFile({ width: 4, height: 4, bits: 32, compression: 3, masks: [0, 0, 0], body: new Uint8Array(64) }),
    'decode-failed',
    /bit masks are all zero/,
  );
  await rejects(bmpFile({ width: 400, height: 400, bits: 24, body: pixels }), 'truncated', /not enough image data/);
  const tga = tgaFile({
    width: 2,
    height: 2,
    type: 1,
    depth: 8,
    map: { start: 300, length: 4, depth: 24 },
    body: new Uint8Array(12 + 4),
  });
  await rejects(tga, 'decode-failed', /palette of entries 300\.\.303/);
});

test('D2: plain Netpbm tokens stop at 10 characters, as in PIL; plain PBM bits are read without building tokens', async () => {
  await rejects(netpbmFile(`P2 1 1 255\n${'7'.repeat(2_000_000)}\n`), 'decode-failed', /token longer than 10/);
  await rejects(netpbmFile(`P2 4000 4000 255\n1 2 3\n`), 'truncated', /not enough image data/);
  const bits = netpbmFile(`P1 300 200\n${'10'.repeat(150 * 100)}\n# a comment\n${'01'.repeat(150 * 100)}`);
  const { input, options } = sharpInput(bits, 1e8);
  assert.deepEqual(options.raw, { width: 300, height: 200, channels: 1 });
  assert.equal(input[0], 0);
  assert.equal(input[1], 255);
  assert.equal(input[300 * 100], 255);
});

test('hand-decoded formats are held to a memory budget derived from the pixel limit, before they allocate', () => {
  const grey = tgaFile({ width: 5000, height: 5000, type: 3, depth: 8, body: new Uint8Array(16) });
  assert.throws(() => sharpInput(grey, 1e6), /over the 1000000 pixels limit|over the .* limit/);
  assert.throws(
    () => sharpInput(tgaFile({ width: 800, height: 800, type: 3, depth: 8, body: [] }), 1e6),
    (err: unknown) => err instanceof InvalidImageError && err.kind === 'too-large' && /memory budget/.test(err.message),
  );
});

test('the JPEG header reader refuses a scan too short for the frame it declares, before any decoder allocates', async () => {
  const small = Buffer.from(await jpeg(320, 240));
  for (let at = 2; at + 9 < small.length; at++) {
    if (small[at] === 0xff && small[at + 1] === 0xc0) {
      small.writeUInt16BE(10_000, at + 5);
      small.writeUInt16BE(10_000, at + 7);
      break;
    }
  }
  await rejects(small, 'truncated', /^truncated JPEG: not enough image data \(10000×10000 has 1562500 blocks/);
});

test('what the fuzzer found: zero widths with huge heights, absurd palettes and depths, short icons are quick rejects', async () => {
  const zeroWide = bmpFile({ width: 0, height: 399_754_622, bits: 8, body: new Uint8Array(16) });
  await rejects(zeroWide, 'decode-failed', /0×399754622 pixels \(PIL refuses it too\)/);
  const deep = bmpFile({ width: 2, height: 2, bits: 2570, body: new Uint8Array(16) });
  await rejects(deep, 'decode-failed', /2570 bits per pixel/);
  const inHeader = bmpFile({ width: 2, height: 2, bits: 24, body: new Uint8Array(16), pixelOffset: 20 });
  await rejects(inHeader, 'decode-failed', /starts inside its header/);
  // 24 bits with "2²⁵ colours used": PIL ignores the field; it used to cost 0.4 s in bmp-ts.
  const manyColours = bmpFile({ width: 2, height: 2, bits: 24, body: new Uint8Array(16) });
  manyColours.writeUInt32LE(2 ** 25, 46);
  const started = performance.now();
  assert.equal(sharpInput(manyColours, 1e8).options.raw?.width, 2);
  assert.ok(performance.now() - started < 100);
  assert.throws(() => sharpInput(Uint8Array.of(0, 0, 1, 0, 1), 1e8), /truncated ICO/);
});

test('what the fuzzer found: an icon whose DIB declares width −1 is refused as too large before any allocation', () => {
  // One 32-bit entry: directory, then a 40-byte DIB header with width 0xffffffff and (XOR + AND) height 74.
  const dib = Buffer.alloc(40 + 64);
  dib.writeUInt32LE(40, 0);
  dib.writeInt32LE(-1, 4);
  dib.writeInt32LE(74, 8);
  dib.writeUInt16LE(1, 12);
  dib.writeUInt16LE(32, 14);
  const ico = Buffer.alloc(22);
  ico.writeUInt16LE(1, 2);
  ico.writeUInt16LE(1, 4);
  ico.writeUInt16LE(32, 6 + 6);
  ico.writeUInt32LE(dib.length, 6 + 8);
  ico.writeUInt32LE(22, 6 + 12);
  const started = performance.now();
  assert.throws(
    () => sharpInput(Buffer.concat([ico, dib]), 268_402_689),
    (err: unknown) => err instanceof InvalidImageError && err.kind === 'too-large' && /4294967295/.test(err.message),
  );
  assert.ok(performance.now() - started < 50, 'refused without allocating');
});
