import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeJpegFast } from '../../../core/image/fast-jpeg.js';
import { readJpegHeader } from '../../../core/image/jpeg-header.js';
import { decodeToRgb, DEFAULT_LIMIT_INPUT_PIXELS } from '../../../core/image/preprocess.js';
import { vipsJpeg } from '../../../core/image/vips-jpeg.js';
import * as fx from '../../helpers/image-fixtures.js';

const { IMAGENET_SPEC: SPEC, CROP_BYTES } = fx;
const fast = (bytes: Uint8Array, limit = DEFAULT_LIMIT_INPUT_PIXELS) => decodeJpegFast(bytes, SPEC, limit);

describe('readJpegHeader', () => {
  it('reads size, components, precision and completeness without decoding', async () => {
    assert.deepEqual(readJpegHeader(await fx.jpeg(320, 240)), {
      width: 320,
      height: 240,
      components: 3,
      precision: 8,
      orientation: 1,
      complete: true,
    });
    assert.equal(readJpegHeader(fx.truncate(await fx.jpeg()))?.complete, false);
    assert.equal(readJpegHeader(await fx.cmykJpeg())?.components, 4);
  });

  it('finds the EXIF orientation tag', async () => {
    assert.equal(readJpegHeader(fx.withExifOrientation(await fx.jpeg(), 6))?.orientation, 6);
  });

  it('answers undefined for other formats and garbage', async () => {
    assert.equal(readJpegHeader(await fx.png()), undefined);
    assert.equal(readJpegHeader(fx.garbage()), undefined);
    assert.equal(readJpegHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0xff)), undefined);
  });
});

describe('decodeJpegFast takes plain JPEGs and leaves the rest to libvips', () => {
  it('a plain JPEG → the crop, equal to what decodeToRgb returns', async () => {
    const bytes = await fx.jpeg(320, 240);
    const crop = fast(bytes);
    assert.equal(crop?.length, CROP_BYTES);
    assert.deepEqual(await decodeToRgb(bytes, SPEC), crop);
  });

  it('greyscale JPEG → 3 equal channels', async () => {
    const crop = fast(await fx.pattern().greyscale().jpeg().toBuffer())!;
    for (let i = 0; i < crop.length; i += 3) assert.ok(crop[i] === crop[i + 1] && crop[i] === crop[i + 2]);
  });

  it('is within one level of libvips on the same image', async () => {
    const bytes = await fx.jpeg(320, 240);
    const viaVips = await decodeToRgb(bytes, SPEC, { decoder: 'sharp' });
    const crop = fast(bytes)!;
    let sum = 0;
    for (let i = 0; i < crop.length; i++) sum += Math.abs(crop[i]! - viaVips[i]!);
    assert.ok(sum / crop.length < 1, `mean |Δ| ${sum / crop.length}`);
  });

  const declined: Array<[string, () => Promise<Uint8Array>]> = [
    ['EXIF-rotated', async () => fx.withExifOrientation(await fx.jpeg(), 6)],
    ['CMYK', () => fx.cmykJpeg()],
    ['truncated', async () => fx.truncate(await fx.jpeg())],
    ['corrupt', () => fx.corruptJpeg()],
    ['large enough for shrink-on-load (1024×768)', () => fx.jpeg(1024, 768)],
    ['PNG', () => fx.png()],
  ];
  for (const [what, make] of declined) {
    it(`declines ${what}`, async () => assert.equal(fast(await make()), undefined));
  }

  it('declines images over the pixel limit, so libvips words the error', async () => {
    assert.equal(fast(await fx.jpeg(320, 240), 1000), undefined);
  });

  it('declines kernels Pillow lacks', async () => {
    assert.equal(
      decodeJpegFast(await fx.jpeg(), { ...SPEC, kernel: 'mitchell' }, DEFAULT_LIMIT_INPUT_PIXELS),
      undefined,
    );
  });

  it('keeps working after a corrupt file threw inside the WebAssembly decoder', async () => {
    for (let i = 0; i < 3; i++) assert.equal(fast(await fx.corruptJpeg()), undefined);
    assert.equal(fast(await fx.jpeg())?.length, CROP_BYTES);
  });
});

describe("the in-thread libvips decode (vipsJpeg): sharp's pixels, sharp's rejects", () => {
  const raw = async (bytes: Uint8Array) => {
    const { data, info } = await sharp(bytes, { failOn: 'warning', ignoreIcc: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  };

  it('is available where sharp is loaded (Linux), so the default decode takes it', () => {
    assert.ok(vipsJpeg(), 'koffi and the libvips sharp loaded');
  });

  it('decodes to the bytes sharp decodes, whole buffers and views into larger ones; one band for a grey JPEG', async () => {
    const { decode } = vipsJpeg()!;
    const colour = await fx.jpeg(321, 239);
    const padded = new Uint8Array(colour.length + 64);
    padded.set(colour, 32);
    const view = padded.subarray(32, 32 + colour.length);
    for (const bytes of [colour, view]) assert.deepEqual(decode(bytes), await raw(bytes));
    // sharp expands grey to three equal bands on output; the loader hands over the one.
    const grey = await fx.pattern(64, 48).toColourspace('b-w').jpeg().toBuffer();
    const expanded = await raw(grey);
    const oneBand = decode(grey)!;
    assert.deepEqual([oneBand.width, oneBand.height, oneBand.channels], [64, 48, 1]);
    assert.ok(oneBand.data.every((v, i) => v === expanded.data[i * 3]));
  });

  it('answers undefined, and keeps working, for what sharp rejects with failOn warning and for other formats', async () => {
    const { decode } = vipsJpeg()!;
    for (const bad of [fx.truncate(await fx.jpeg()), await fx.corruptJpeg(), fx.garbage()]) {
      await assert.rejects(raw(bad));
      assert.equal(decode(bad), undefined);
    }
    assert.equal(decode(await fx.png()), undefined, 'the JPEG loader only');
    assert.deepEqual(decode(await fx.jpeg()), await raw(await fx.jpeg()));
  });

  it("decodes rows [from, to) into memory it is given, and refuses a size that is not the file's", async () => {
    const { decodeRowsInto } = vipsJpeg()!;
    const bytes = await fx.jpeg(321, 239);
    const whole = await raw(bytes);
    const stride = 321 * 3;
    const memory = new Uint8Array(stride * 100 + 16);
    const into = memory.subarray(16);
    assert.ok(decodeRowsInto(bytes, { width: 321, height: 239 }, 120, 220, into));
    assert.deepEqual(Buffer.from(into), whole.data.subarray(120 * stride, 220 * stride));
    assert.deepEqual(memory.subarray(0, 16), new Uint8Array(16), 'nothing written before the view');
    assert.equal(decodeRowsInto(bytes, { width: 320, height: 239 }, 0, 10, into), false);
    assert.equal(decodeRowsInto(bytes, { width: 321, height: 239 }, 200, 260, into), false, 'rows past the end');
    assert.equal(decodeRowsInto(bytes, { width: 321, height: 239 }, 0, 239, into), false, 'more than the memory holds');
    assert.equal(decodeRowsInto(fx.truncate(bytes), { width: 321, height: 239 }, 0, 100, into), false);
    const grey = await fx.pattern(64, 48).toColourspace('b-w').jpeg().toBuffer();
    assert.equal(decodeRowsInto(grey, { width: 64, height: 48 }, 0, 10, into), false, 'one band, not three');
  });

  it("gives decodeToRgb's default the same crop as the sharp-pipeline and WebAssembly decodes", async () => {
    const bytes = await fx.jpeg(500, 375);
    const crop = await decodeToRgb(bytes, SPEC);
    assert.deepEqual(await decodeToRgb(bytes, SPEC, { decoder: 'sharp-raw' }), crop);
    assert.deepEqual(await decodeToRgb(bytes, SPEC, { decoder: 'wasm' }), crop);
  });
});
