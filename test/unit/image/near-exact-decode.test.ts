import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { InvalidImageError } from '../../../core/errors.js';
import { namespaceOf } from '../../../core/features/feature-store.js';
import { decodeJpegNearExact } from '../../../core/image/fast-jpeg.js';
import { isCleanBaselineJpeg } from '../../../core/image/jpeg-scan-check.js';
import { DEFAULT_LIMIT_INPUT_PIXELS, decodeToRgb, type DecodeOptions } from '../../../core/image/preprocess.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import {
  parseDecodeSetting,
  parseDescriptor,
  withDecode,
  type PreprocessSpec,
} from '../../../core/models/descriptor.js';
import { ConfigError } from '../../../core/errors.js';
import * as fx from '../../helpers/image-fixtures.js';
import { HYMENOPTERA } from '../../helpers/paths.js';

const FAST: PreprocessSpec = { ...fx.IMAGENET_SPEC, decode: 'fast' };
const EXACT = fx.IMAGENET_SPEC;

/** What decodeToRgb does with `bytes`: the crop, or the reject's kind and message. */
async function outcome(bytes: Uint8Array, spec: PreprocessSpec, options: DecodeOptions = {}): Promise<Buffer | string> {
  try {
    return await decodeToRgb(bytes, spec, options);
  } catch (err) {
    assert.ok(err instanceof InvalidImageError, `not an InvalidImageError: ${String(err)}`);
    return `${err.kind}: ${err.message}`;
  }
}

const hymenopteraJpegs = (): string[] =>
  ['train/ants', 'train/bees', 'val/ants', 'val/bees']
    .flatMap((dir) => readdirSync(path.join(HYMENOPTERA, dir)).map((f) => path.join(HYMENOPTERA, dir, f)))
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();

describe('isCleanBaselineJpeg: the JPEGs libjpeg decodes without a warning', () => {
  it('passes the hymenoptera JPEGs that are single-scan baseline files', () => {
    const files = hymenopteraJpegs();
    const clean = files.filter((f) => isCleanBaselineJpeg(readFileSync(f)));
    assert.ok(clean.length >= files.length - 3, `${clean.length} of ${files.length}`);
  });

  it('passes greyscale, and zero padding after the EOI', async () => {
    const plain = await fx.jpeg();
    assert.ok(isCleanBaselineJpeg(plain));
    assert.ok(isCleanBaselineJpeg(await fx.pattern().greyscale().jpeg().toBuffer()));
    assert.ok(isCleanBaselineJpeg(Buffer.concat([plain, Buffer.alloc(100)])));
  });

  const refused: Array<[string, () => Promise<Uint8Array>]> = [
    ['truncated', async () => fx.truncate(await fx.jpeg())],
    ['corrupt (a third overwritten)', () => fx.corruptJpeg()],
    ['progressive', () => fx.pattern().jpeg({ progressive: true }).toBuffer()],
    ['CMYK', () => fx.cmykJpeg()],
    ['trailing garbage', async () => Buffer.concat([await fx.jpeg(), Buffer.from('junk')])],
    ['PNG', () => fx.png()],
    ['garbage', async () => fx.garbage()],
  ];
  for (const [what, make] of refused) {
    it(`refuses ${what}`, async () => assert.equal(isCleanBaselineJpeg(await make()), false));
  }

  it('refuses every mutation of hymenoptera JPEGs that libvips rejects (seeded: cuts, flips, overwrites, inserts)', async () => {
    let seed = 20;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const files = hymenopteraJpegs().filter((_, i) => i % 8 === 0);
    let rejected = 0;
    for (const file of files) {
      const original = readFileSync(file);
      for (const mutate of MUTATIONS) {
        const bytes = mutate(Buffer.from(original), random);
        const vips = await sharp(bytes, { failOn: 'warning', ignoreIcc: true })
          .raw()
          .toBuffer()
          .then(
            () => true,
            () => false,
          );
        if (!vips) {
          rejected++;
          assert.equal(isCleanBaselineJpeg(bytes), false, `${path.basename(file)}: ${mutate.name}`);
        }
      }
    }
    assert.ok(rejected > 40, `only ${rejected} mutations were rejected by libvips: the test lost its teeth`);
  });
});

const MUTATIONS: Array<(b: Buffer, random: () => number) => Buffer> = [
  function cut(b, random) {
    return b.subarray(0, Math.floor(b.length * (0.2 + 0.75 * random())));
  },
  function overwrite(b) {
    return b.fill(0x55, Math.floor(b.length * 0.3), Math.floor(b.length * 0.6));
  },
  function flipEight(b, random) {
    for (let k = 0; k < 8; k++) {
      const at = Math.floor(b.length * (0.2 + 0.75 * random()));
      b[at] = b[at]! ^ (1 << Math.floor(random() * 8));
    }
    return b;
  },
  function zeros(b, random) {
    const at = Math.floor(b.length * (0.2 + 0.7 * random()));
    return b.fill(0, at, at + 64);
  },
  function insert(b, random) {
    const at = Math.floor(b.length * (0.2 + 0.75 * random()));
    return Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), b.subarray(at)]);
  },
];

describe('decode fast rejects exactly what the exact path rejects, with the same error', () => {
  const bad: Array<[string, () => Promise<Uint8Array>]> = [
    ['truncated JPEG', async () => fx.truncate(await fx.jpeg())],
    ['corrupt JPEG', () => fx.corruptJpeg()],
    ['empty file', async () => new Uint8Array(0)],
    ['a JPEG over the pixel limit', () => fx.jpeg(320, 240)],
    ['random bytes', async () => fx.garbage()],
  ];
  for (const [what, make] of bad) {
    it(what, async () => {
      const bytes = await make();
      const limit = what.includes('limit') ? { limitInputPixels: 1000 } : {};
      const exact = await outcome(bytes, EXACT, limit);
      assert.equal(typeof exact, 'string', 'the exact path rejects it');
      assert.equal(await outcome(bytes, FAST, limit), exact);
    });
  }

  it('on the seeded mutations of hymenoptera JPEGs, both paths reject the same files with the same message', async () => {
    let seed = 23;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const file of hymenopteraJpegs().filter((_, i) => i % 16 === 3)) {
      for (const mutate of MUTATIONS) {
        const bytes = mutate(Buffer.from(readFileSync(file)), random);
        const [exact, fast] = [await outcome(bytes, EXACT), await outcome(bytes, FAST)];
        assert.equal(typeof fast, typeof exact, `${path.basename(file)}: ${mutate.name}`);
        if (typeof exact === 'string') assert.equal(fast, exact);
      }
    }
  });

  it('checks the pixel limit before decoding: a header over it never reaches the near-exact decoder', async () => {
    assert.equal(decodeJpegNearExact(await fx.jpeg(320, 240), FAST, 1000), undefined);
    assert.equal(decodeJpegNearExact(await fx.jpeg(320, 240), FAST, DEFAULT_LIMIT_INPUT_PIXELS)?.length, fx.CROP_BYTES);
  });
});

describe('the decode setting', () => {
  const d = BUILTIN_MODELS.find((m) => m.name === 'mobilenetv2-12-int8')!;

  it('gives decode fast its own cache namespace and leaves the exact one as it was', () => {
    const exact = namespaceOf(withDecode(d, 'exact'), 'final');
    assert.equal(exact.id, namespaceOf(d, 'final').id, 'exact codes keep the namespace they always had');
    assert.notEqual(namespaceOf(withDecode(d, 'fast'), 'final').id, exact.id);
    assert.equal(namespaceOf(withDecode(withDecode(d, 'fast'), 'exact'), 'final').id, exact.id);
  });

  it('a descriptor may carry decode fast (as withDecode writes it) and nothing else there', () => {
    assert.equal(parseDescriptor(withDecode(d, 'fast')).preprocess.decode, 'fast');
    assert.throws(
      () => parseDescriptor({ ...d, preprocess: { ...d.preprocess, decode: 'exact' } }),
      /"preprocess.decode" must be "fast"/,
    );
  });

  it('is exact by default, fast or exact when set; anything else is a ConfigError naming its source', () => {
    assert.equal(parseDecodeSetting(undefined, 'X'), 'exact');
    assert.equal(parseDecodeSetting('', 'X'), 'exact');
    assert.equal(parseDecodeSetting('fast', 'X'), 'fast');
    assert.throws(
      () => parseDecodeSetting('quick', 'CNN_CODES_DECODE'),
      (err: unknown) => err instanceof ConfigError && /CNN_CODES_DECODE/.test(err.message),
    );
  });
});
