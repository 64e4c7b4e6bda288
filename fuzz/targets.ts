import { CnnCodesError, InvalidImageError } from '../core/errors.js';
import { decodeBmp } from '../core/image/bmp.js';
import { decodeIco, isIco } from '../core/image/ico.js';
import { sniffFormat } from '../core/image/invalid-image.js';
import { decodeJpegNearExact } from '../core/image/fast-jpeg.js';
import { readJpegHeader } from '../core/image/jpeg-header.js';
import { isCleanBaselineJpeg } from '../core/image/jpeg-scan-check.js';
import { decodeNetpbm, isNetpbm } from '../core/image/netpbm.js';
import { decodeTga, looksLikeTga } from '../core/image/tga.js';
import { decodeNpy, decodeNpyLabels, encodeNpy } from '../core/features/npy.js';
import { parseNpyHeader } from '../core/features/npy-header.js';
import { loadHead } from '../core/heads/serialize.js';
import { BUILTIN_MODELS } from '../core/models/builtin.js';
import { parseDescriptor } from '../core/models/descriptor.js';
import { MESSAGE_VERSION, parseMessageBody, parseWorkMessage } from '../core/messages/schema.js';
import { parseHeadArtefact } from '../core/workspace/head-artefact.js';
import type { FuzzTarget } from './engine.js';
import { bmpFile, headFileExample, icoFile, netpbmFile, rle8Bomb, tgaFile } from '../test/helpers/hostile-files.js';
import { EXTRACT_MESSAGE, RUN_MESSAGE } from '../test/helpers/message-fixtures.js';

/**
 * The pixel limit the image targets run under: 1 MP, so a decoder's budget is 1 MB an input and a campaign keeps its
 * pace; the limit scales every check the same way at the default 100 MP.
 */
export const FUZZ_PIXEL_LIMIT = 1_000_000;

/** A decoded image may not be larger than the budget it was checked against (4 bytes a pixel at most, RGBA). */
function checkPixels(pixels: Uint8Array): void {
  if (pixels.length > FUZZ_PIXEL_LIMIT) throw new Error(`decoder returned ${pixels.length} bytes, over its budget`);
}

const isInvalidImage = (err: unknown) => err instanceof InvalidImageError;
const isOwnError = (err: unknown) => err instanceof CnnCodesError;
const text = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

function imageTarget(
  name: string,
  accepts: (b: Uint8Array) => boolean,
  decode: (b: Uint8Array) => Uint8Array | undefined,
  seeds: () => Uint8Array[],
): FuzzTarget {
  return {
    name,
    maxLength: 8192,
    run(data) {
      if (!accepts(data)) return;
      const out = decode(data);
      if (out) checkPixels(out);
    },
    expected: isInvalidImage,
    seeds,
  };
}

/** A target fed JSON text: bytes that do not parse are not the parser's business (JSON.parse is V8's). */
function jsonTarget(
  name: string,
  maxLength: number,
  check: (json: unknown) => void,
  seeds: () => unknown[],
): FuzzTarget {
  return {
    name,
    maxLength,
    run(b) {
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(b).toString('utf8'));
      } catch {
        return;
      }
      check(json);
    },
    expected: isOwnError,
    seeds: () => seeds().map((value) => text(typeof value === 'string' ? value : JSON.stringify(value))),
  };
}

const rgbBody = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);

export const TARGETS: FuzzTarget[] = [
  imageTarget(
    'bmp',
    (b) => sniffFormat(b) === 'BMP',
    (b) => decodeBmp(b, FUZZ_PIXEL_LIMIT).pixels,
    () => [
      bmpFile({ width: 4, height: 3, bits: 24, body: rgbBody(48) }),
      bmpFile({ width: 5, height: 2, bits: 8, body: rgbBody(16) }),
      bmpFile({ width: 7, height: 3, bits: 4, body: rgbBody(12) }),
      bmpFile({ width: 9, height: 2, bits: 1, body: rgbBody(8) }),
      bmpFile({ width: 3, height: 2, bits: 32, compression: 3, masks: [0xff0000, 0xff00, 0xff], body: rgbBody(24) }),
      bmpFile({ width: 3, height: 2, bits: 16, body: rgbBody(16) }),
      bmpFile({ width: 6, height: 2, bits: 8, compression: 1, body: [3, 1, 3, 2, 0, 0, 0, 3, 4, 5, 6, 0, 0, 1] }),
      bmpFile({ width: 6, height: 2, bits: 4, compression: 2, body: [6, 0x12, 0, 0, 0, 2, 1, 1, 0, 1] }),
      rle8Bomb(64, 64),
    ],
  ),
  imageTarget(
    'tga',
    looksLikeTga,
    (b) => decodeTga(b, FUZZ_PIXEL_LIMIT).pixels,
    () => [
      tgaFile({ width: 3, height: 2, type: 2, depth: 24, body: rgbBody(18) }),
      tgaFile({ width: 3, height: 2, type: 2, depth: 32, body: rgbBody(24) }),
      tgaFile({ width: 3, height: 2, type: 2, depth: 16, body: rgbBody(12) }),
      tgaFile({ width: 3, height: 2, type: 3, depth: 8, body: rgbBody(6) }),
      tgaFile({ width: 3, height: 2, type: 1, depth: 8, map: { start: 0, length: 4, depth: 24 }, body: rgbBody(18) }),
      tgaFile({ width: 4, height: 2, type: 10, depth: 24, body: [0x83, 1, 2, 3, 0x03, ...rgbBody(12)] }),
    ],
  ),
  imageTarget(
    'ico',
    isIco,
    (b) => {
      const icon = decodeIco(b, FUZZ_PIXEL_LIMIT);
      return 'png' in icon ? undefined : icon.pixels;
    },
    () => [
      icoFile([
        {
          width: 2,
          height: 2,
          bpp: 32,
          data: bmpFile({ width: 2, height: 4, bits: 32, body: rgbBody(24) }).subarray(14),
        },
      ]),
      icoFile([
        {
          width: 4,
          height: 4,
          bpp: 8,
          data: bmpFile({ width: 4, height: 8, bits: 8, body: rgbBody(32) }).subarray(14),
        },
        {
          width: 2,
          height: 2,
          bpp: 32,
          data: bmpFile({ width: 2, height: 4, bits: 32, body: rgbBody(24) }).subarray(14),
        },
      ]),
    ],
  ),
  imageTarget(
    'netpbm',
    isNetpbm,
    (b) => decodeNetpbm(b, FUZZ_PIXEL_LIMIT).pixels,
    () => [
      netpbmFile('P1\n# c\n3 2\n1 0 1\n010\n'),
      netpbmFile('P2 2 2 65535\n0 1000 65535 7\n'),
      netpbmFile('P3 2 1 255\n255 0 0 0 255 0\n'),
      Buffer.concat([netpbmFile('P4 9 2\n'), Buffer.from([0xaa, 0x80, 0x55, 0x00])]),
      Buffer.concat([netpbmFile('P5 3 1 255\n'), Buffer.from([1, 2, 3])]),
      Buffer.concat([netpbmFile('P6 1 1 65535\n'), Buffer.from([1, 2, 3, 4, 5, 6])]),
      netpbmFile(`P2 1 1 255\n${'7'.repeat(40)}\n`),
    ],
  ),
  {
    name: 'jpeg-header',
    maxLength: 4096,
    run: (b) => void readJpegHeader(b),
    expected: isInvalidImage,
    seeds: () => {
      const soi = [0xff, 0xd8];
      const app1 = [0xff, 0xe1, 0, 36, ...Buffer.from('Exif\0\0II*\0'), 8, 0, 0, 0, 1, 0, 0x12, 1, 3, 0, 1, 0, 0, 0];
      const exif = [...app1, 6, 0, 0, 0, 0, 0, 0, 0];
      const sof = [0xff, 0xc0, 0, 17, 8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
      const sos = [0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0];
      return [
        Uint8Array.from([...soi, ...exif, ...sof, ...sos, ...rgbBody(64), 0xff, 0xd9]),
        Uint8Array.from([...soi, 0xff, 0xff, ...sof, ...sos, 1, 2, 0xff, 0xd9]),
      ];
    },
  },
  {
    // The Huffman walk that decides whether the near-exact decoder may take a JPEG, then that decoder on what it
    // passes (within the pixel limit, checked before decoding).
    name: 'jpeg-scan',
    maxLength: 8192,
    run(b) {
      if (!isCleanBaselineJpeg(b)) return;
      const crop = decodeJpegNearExact(b, { ...BUILTIN_MODELS[0]!.preprocess, decode: 'fast' }, FUZZ_PIXEL_LIMIT);
      if (crop) checkPixels(crop);
    },
    expected: isInvalidImage,
    seeds: () =>
      [
        // 16×16 colour (4:2:0) and grey JPEGs at quality 50, made with sharp.
        '/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAgAB/8QAIBAAAgICAgIDAAAAAAAAAAAAAQIDERIhABMEUTFB8f/EABQBAQAAAAAAAAAAAAAAAAAAAAD/xAAdEQABAgcAAAAAAAAAAAAAAAABIfAAMmFxscHh/9oADAMBAAIRAxEAPwCWOMyjxlFRKwRqoHHJ47Ot6ZfzhLmaLsBCxquditnBH9+0bmhw6WpKxhTJeyLxST3ranjZO6TqNp46th9/GbpQsb1IvEprjpgVV3Ogz//Z',
        '/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAQABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAwL/xAAhEAACAQMEAwEAAAAAAAAAAAABAgMREiEAE0FRBDHw8f/EABQBAQAAAAAAAAAAAAAAAAAAAAD/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwBljjMwgC0gVghAoCVudKnGcOv5oy5nh3SQsSpfjk7aOOe4z97q8SR31KxhDJ2CbEfvGUOkZBPLa4KeMr2AHkbjrTIziQaD/9k=',
      ].map((b64) => new Uint8Array(Buffer.from(b64, 'base64'))),
  },
  {
    name: 'npy',
    maxLength: 4096,
    run(b) {
      const header = parseNpyHeader(b);
      if (header.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error('shape not whole');
      try {
        decodeNpy(b);
      } catch (err) {
        if (!isOwnError(err)) throw err;
      }
      decodeNpyLabels(b);
    },
    expected: isOwnError,
    seeds: () => [
      encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
      encodeNpy(Int32Array.from([0, 1, 1, 0]), [4]),
      text("\x93NUMPY\x01\x00\x46\x00{'descr': '<i8', 'fortran_order': True, 'shape': (2,), }           \n"),
      text('\x93NUMPY\x02\x00\x30\x00\x00\x00{"descr":"<f8","fortran_order":False,"shape":()}\n'),
    ],
  },
  jsonTarget(
    'descriptor',
    4096,
    (json) => {
      const d = parseDescriptor(json, 'fuzz');
      if (d.file.split('/').includes('..') || d.file.startsWith('/')) throw new Error(`file escapes: ${d.file}`);
    },
    () => [...BUILTIN_MODELS],
  ),
  jsonTarget(
    'head-json',
    8192,
    (json) => loadHead(parseHeadArtefact(json, 'fuzz').head),
    () => [headFileExample()],
  ),
  {
    // A queue message's text as the workers read it: decoded by the one body rule, then checked (text that is not
    // JSON must come back as an InvalidMessageError too, so this target takes every input, not only JSON).
    name: 'message',
    maxLength: 4096,
    run(b) {
      const message = parseWorkMessage(parseMessageBody(Buffer.from(b).toString('utf8')));
      if (!Object.hasOwn(message, 'type')) throw new Error('parsed message has no own type');
    },
    expected: isOwnError,
    seeds: () =>
      [EXTRACT_MESSAGE, RUN_MESSAGE, { v: MESSAGE_VERSION, type: 'constructor' }].map((m) => text(JSON.stringify(m))),
  },
];
