import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { planResizeAndCrop, roundHalfToEven } from '../../../core/image/geometry.js';
import { IMAGENET_SPEC as SPEC } from '../../helpers/image-fixtures.js';

describe('planResizeAndCrop reproduces torchvision 0.14 Resize(256) + CenterCrop(224)', () => {
  // [height, width] → resized [h, w] and crop [top, left], printed by torchvision's _compute_resized_output_size and
  // center_crop's int(round((size - 224) / 2.0)).
  const cases: [[number, number], [number, number], [number, number]][] = [
    [
      [375, 500],
      [256, 341],
      [16, 58],
    ], // 58.5 rounds to even
    [
      [1984, 1488],
      [341, 256],
      [58, 16],
    ],
    [
      [130, 193],
      [256, 380],
      [16, 78],
    ],
    [
      [358, 500],
      [256, 357],
      [16, 66],
    ], // 357.54 truncates, not rounds
    [
      [500, 333],
      [384, 256],
      [80, 16],
    ],
    [
      [300, 300],
      [256, 256],
      [16, 16],
    ],
    [
      [146, 500],
      [256, 876],
      [16, 326],
    ],
    [
      [1944, 2592],
      [256, 341],
      [16, 58],
    ],
    [
      [257, 1000],
      [256, 996],
      [16, 386],
    ],
  ];
  for (const [[h, w], resized, [top, left]] of cases) {
    it(`${h}×${w} → ${resized.join('×')}, crop at (${top}, ${left})`, () => {
      assert.deepEqual(planResizeAndCrop(h, w, SPEC), { resized, crop: { top, left, height: 224, width: 224 } });
    });
  }

  it('an exact [h, w] resize is taken as given', () => {
    assert.deepEqual(planResizeAndCrop(375, 500, { ...SPEC, resize: [240, 230] }).resized, [240, 230]);
  });

  it('refuses a crop larger than the resized image instead of padding', () => {
    assert.throws(() => planResizeAndCrop(375, 500, { ...SPEC, resize: 200 }), ConfigError);
  });

  it('rounds halves to even like Python 3', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 58.5, 59.5, 16, 16.4, 16.6].map(roundHalfToEven), [0, 2, 2, 58, 60, 16, 16, 17]);
  });
});
