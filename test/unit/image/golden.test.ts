import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { decodeJpegFast, decodeJpegNearExact } from '../../../core/image/fast-jpeg.js';
import { DEFAULT_LIMIT_INPUT_PIXELS, decodeToRgb, toTensor } from '../../../core/image/preprocess.js';
import type { PreprocessSpec } from '../../../core/models/descriptor.js';
import { IMAGENET_SPEC as SPEC, withExifOrientation } from '../../helpers/image-fixtures.js';
import { HYMENOPTERA, REPO_ROOT } from '../../helpers/paths.js';

/**
 * Our decode → tensor against torchvision's Resize(256)/CenterCrop(224)/ToTensor/Normalize on PIL, from
 * test/golden/torchvision_reference.json (regenerate with test/golden/torchvision_reference.py).
 *
 * Bounds, in normalized units (one uint8 level ≈ 0.0175), from all 398 hymenoptera images with the defaults (linear
 * kernel, fast shrink-on-load, embedded ICC profiles ignored like PIL): worst per-image channel-mean error 0.0036,
 * worst per-image mean |Δ| 0.0135 and p99 |Δ| 0.087 (both the 1488×1984 JPEG, where shrink-on-load acts).
 * A crop shifted by one pixel gives, on the least textured of those images, mean |Δ| 0.030 and p99 0.27.
 */
const BOUNDS = { channelMean: 0.01, meanAbs: 0.025, p99: 0.18 };

interface ReferenceImage {
  name: string;
  path: string;
  exifOrientation?: number;
  sha256: string;
  shape: [number, number, number];
  channelMean: [number, number, number];
  samples: number[];
}
interface Reference {
  indices: number[];
  images: ReferenceImage[];
}

const reference = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'test', 'golden', 'torchvision_reference.json'), 'utf8'),
) as Reference;
const PLANE = 224 * 224;

function sourceBytes(image: ReferenceImage, options: { exif?: boolean } = {}): Buffer {
  const bytes = readFileSync(path.join(HYMENOPTERA, image.path));
  assert.equal(
    createHash('sha256').update(bytes).digest('hex'),
    image.sha256,
    `${image.path} is not the file the reference was made from`,
  );
  const withExif = image.exifOrientation !== undefined && options.exif !== false;
  return withExif ? withExifOrientation(bytes, image.exifOrientation!) : bytes;
}

interface Comparison {
  channelMean: number;
  meanAbs: number;
  p99: number;
}

/** `chw` is read as a [3, 224, 224] tensor whatever layout produced it: that is how a transposed layout shows up. */
function compare(chw: Float32Array, ref: ReferenceImage): Comparison {
  assert.equal(
    chw.length,
    ref.shape.reduce((a, b) => a * b),
    'element count differs from the reference shape',
  );
  const channelMean = Math.max(
    ...[0, 1, 2].map((c) => {
      let sum = 0;
      for (let i = c * PLANE; i < (c + 1) * PLANE; i++) sum += chw[i]!;
      return Math.abs(sum / PLANE - ref.channelMean[c]!);
    }),
  );
  const diffs = reference.indices.map((index, k) => Math.abs(chw[index]! - ref.samples[k]!)).sort((a, b) => a - b);
  return { channelMean, meanAbs: diffs.reduce((a, b) => a + b, 0) / diffs.length, p99: percentile(diffs, 0.99) };
}

/** numpy's default (linear) percentile of sorted values. */
function percentile(sorted: number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (at - lo);
}

function exceeded(c: Comparison): string[] {
  return (Object.keys(BOUNDS) as (keyof Comparison)[]).filter((k) => c[k] > BOUNDS[k]);
}

const describeStats = (c: Comparison) =>
  `channel-mean ${c.channelMean.toFixed(4)}, mean|Δ| ${c.meanAbs.toFixed(4)}, p99|Δ| ${c.p99.toFixed(3)}`;

async function ourTensor(bytes: Uint8Array, spec: PreprocessSpec = SPEC, layout: 'NCHW' | 'NHWC' = 'NCHW') {
  return toTensor([await decodeToRgb(bytes, SPEC)], spec, layout);
}

/** A 224-wide window of a 224×240 crop: left = 8 is the true centre crop (CenterCrop offsets shift by (240−224)/2). */
function windowOf(wide: Buffer, left: number): Buffer {
  const out = Buffer.alloc(224 * 224 * 3);
  for (let y = 0; y < 224; y++) wide.copy(out, y * 224 * 3, (y * 240 + left) * 3, (y * 240 + left + 224) * 3);
  return out;
}

describe('decodeToRgb + toTensor match torchvision (golden reference)', () => {
  for (const image of reference.images) {
    it(`${image.name}: ${image.path}${image.exifOrientation ? ` + EXIF orientation ${image.exifOrientation}` : ''}`, async (t) => {
      const stats = compare(await ourTensor(sourceBytes(image)), image);
      t.diagnostic(describeStats(stats));
      assert.deepEqual(exceeded(stats), [], describeStats(stats));
    });
  }
});

describe('the JPEG fast path reproduces torchvision exactly', () => {
  // libjpeg-turbo with PIL's settings + Pillow's resample give torchvision's uint8 crop; the reference stores 4 decimals
  // (one uint8 level is 0.0175), so anything above 1e-4 would be a different pixel.
  const REFERENCE_ROUNDING = 1e-4;
  const taken = reference.images.filter((image) =>
    decodeJpegFast(sourceBytes(image), SPEC, DEFAULT_LIMIT_INPUT_PIXELS),
  );
  it('takes the plain JPEGs, the enlarged one and the Adobe RGB one', () => {
    assert.deepEqual(taken.map((i) => i.name).sort(), ['adobe-rgb-tagged', 'plain', 'small-enlarged']);
  });
  for (const image of taken) {
    it(`${image.name}: every sampled value and channel mean equal to the reference's rounding`, () => {
      const chw = toTensor([decodeJpegFast(sourceBytes(image), SPEC, DEFAULT_LIMIT_INPUT_PIXELS)!], SPEC, 'NCHW');
      const worst = Math.max(...reference.indices.map((index, k) => Math.abs(chw[index]! - image.samples[k]!)));
      const stats = compare(chw, image);
      assert.ok(
        worst < REFERENCE_ROUNDING && stats.channelMean < REFERENCE_ROUNDING,
        `max |Δ| ${worst}, ${describeStats(stats)}`,
      );
    });
  }
});

/**
 * The near-exact path (`decode: 'fast'`) on the reference images: it takes the same JPEGs as the exact fast path, and
 * everything it returns stays within the golden bounds. Its 0.05-level bound is a mean over all of hymenoptera
 * (test/integration/near-exact-decode.test.ts): on a few small or low-quality JPEGs the decoders' rounding differs
 * on most pixels (small-enlarged here: 0.32 levels), on most it differs on almost none.
 */
describe('the near-exact fast path (decode: fast) stays within the golden bounds', () => {
  const FAST: PreprocessSpec = { ...SPEC, decode: 'fast' };
  it('takes the same plain JPEGs as the exact fast path', () => {
    const taken = reference.images.filter((image) =>
      decodeJpegNearExact(sourceBytes(image), FAST, DEFAULT_LIMIT_INPUT_PIXELS),
    );
    assert.deepEqual(taken.map((i) => i.name).sort(), ['adobe-rgb-tagged', 'plain', 'small-enlarged']);
  });
  for (const image of reference.images) {
    it(`${image.name}: decodeToRgb with decode fast within the golden bounds`, async () => {
      const stats = compare(toTensor([await decodeToRgb(sourceBytes(image), FAST)], SPEC, 'NCHW'), image);
      assert.deepEqual(exceeded(stats), [], describeStats(stats));
    });
  }
});

describe('the golden bounds reject wrong pipelines', () => {
  for (const image of reference.images) {
    it(`${image.name}: crops shifted by 1 or 8 px fail, the centred window passes`, async (t) => {
      const wide = await decodeToRgb(sourceBytes(image), { ...SPEC, crop: [224, 240] });
      const at = (left: number) => compare(toTensor([windowOf(wide, left)], SPEC, 'NCHW'), image);
      assert.deepEqual(exceeded(at(8)), [], 'the unshifted window should match');
      for (const left of [7, 9, 0, 16]) {
        const stats = at(left);
        t.diagnostic(`shift ${left - 8} px: ${describeStats(stats)}`);
        assert.notDeepEqual(exceeded(stats), [], `shift ${left - 8} px passed: ${describeStats(stats)}`);
      }
    });

    it(`${image.name}: wrong mean/std and a transposed layout fail`, async () => {
      const bytes = sourceBytes(image);
      const wrong: [string, PreprocessSpec, 'NCHW' | 'NHWC'][] = [
        ['BGR-ordered mean/std', { ...SPEC, mean: [0.406, 0.456, 0.485], std: [0.225, 0.224, 0.229] }, 'NCHW'],
        ['[-1, 1] scaling', { ...SPEC, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, 'NCHW'],
        ['NHWC layout', SPEC, 'NHWC'],
      ];
      for (const [what, spec, layout] of wrong) {
        const stats = compare(await ourTensor(bytes, spec, layout), image);
        assert.notDeepEqual(exceeded(stats), [], `${what} passed: ${describeStats(stats)}`);
      }
    });
  }

  it('ignoring EXIF orientation fails', async () => {
    const image = reference.images.find((i) => i.exifOrientation === 6);
    assert.ok(image, 'the reference has an EXIF-rotated case');
    const stats = compare(await ourTensor(sourceBytes(image, { exif: false })), image);
    assert.notDeepEqual(exceeded(stats), [], describeStats(stats));
  });

  it('converting through the embedded Adobe RGB profile fails (PIL ignores it, so we do by default)', async (t) => {
    const image = reference.images.find((i) => i.name === 'adobe-rgb-tagged');
    assert.ok(image);
    const rgb = await decodeToRgb(sourceBytes(image), SPEC, { honourIccProfile: true });
    const stats = compare(toTensor([rgb], SPEC, 'NCHW'), image);
    t.diagnostic(describeStats(stats));
    assert.notDeepEqual(exceeded(stats), [], describeStats(stats));
  });
});
