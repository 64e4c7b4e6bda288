import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { toTensor } from '../../../core/image/preprocess.js';
import type { PreprocessSpec } from '../../../core/models/descriptor.js';

const SPEC: PreprocessSpec = {
  resize: 2,
  crop: [2, 2],
  kernel: 'linear',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
// 2×2 HWC RGB: pixel k has R = 10k, G = 10k + 1, B = 10k + 2.
const image = Buffer.from([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
const norm = (p: number, c: number) => Math.fround((p / 255 - SPEC.mean[c]!) / SPEC.std[c]!);

describe('toTensor', () => {
  it('NCHW puts each channel in its own plane', () => {
    const t = toTensor([image], SPEC, 'NCHW');
    const expected = [0, 1, 2].flatMap((c) => [0, 1, 2, 3].map((k) => norm(10 * k + c, c)));
    assert.deepEqual(Array.from(t), expected);
  });

  it('NHWC keeps the interleaved order', () => {
    assert.deepEqual(
      Array.from(toTensor([image], SPEC, 'NHWC')),
      Array.from(image, (p, i) => norm(p, i % 3)),
    );
  });

  it('stacks a batch', () => {
    const other = Buffer.from(image.map((p) => 255 - p));
    const t = toTensor([image, other], SPEC, 'NCHW');
    assert.equal(t.length, 24);
    assert.deepEqual(Array.from(t.subarray(12)), Array.from(toTensor([other], SPEC, 'NCHW')));
  });

  it('rejects a buffer of the wrong size', () => {
    assert.throws(() => toTensor([image.subarray(3)], SPEC, 'NCHW'), ConfigError);
  });
});
