import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CvRow } from '../../../core/heads/model-selection.js';
import { bestPerLayer, describeScenario, type LayerScore } from '../../../core/report/scenario.js';

const score = (layer: string, meanAccuracy: number, stdAccuracy = 0.02): LayerScore => ({
  layer,
  kind: 'logistic',
  C: 1,
  meanAccuracy,
  stdAccuracy,
});

test('the four CS231n scenarios follow from images per class and from how earlier layers compare with the final one', () => {
  const similar = [score('block6', 0.75), score('block17', 0.95), score('final', 0.96)];
  const different = [score('block6', 0.7), score('block13', 0.9), score('final', 0.8)];
  assert.equal(describeScenario({ trainImages: 245, classes: 2, layers: similar })?.number, 1);
  assert.equal(describeScenario({ trainImages: 50_000, classes: 10, layers: similar })?.number, 2);
  assert.equal(describeScenario({ trainImages: 245, classes: 2, layers: different })?.number, 3);
  assert.equal(describeScenario({ trainImages: 50_000, classes: 10, layers: different })?.number, 4);
});

test('an earlier layer within the final layer\'s fold spread does not make the data "different"', () => {
  const s = describeScenario({
    trainImages: 245,
    classes: 2,
    layers: [score('block17', 0.97), score('final', 0.96, 0.024)],
  })!;
  assert.equal(s.similar, true);
  assert.match(s.sentence, /245 training images \(about 123 per class\) is a small dataset/);
  assert.match(s.sentence, /block17, 97\.0\u202f%/);
  assert.match(s.sentence, /CS231n's scenario 1 \(small and similar\)/);
});

test('one layer gives no scenario: similarity cannot be judged', () => {
  assert.equal(describeScenario({ trainImages: 245, classes: 2, layers: [score('final', 0.96)] }), undefined);
});

test('bestPerLayer keeps the best C per layer (and per head kind when asked), in table order', () => {
  const row = (layer: string, kind: 'logistic' | 'svm', C: number, meanAccuracy: number): CvRow => ({
    id: `${layer}/${kind}/${C}`,
    layer,
    kind,
    C,
    meanAccuracy,
    stdAccuracy: 0.01,
    foldAccuracies: [],
    fitSeconds: 0,
  });
  const table = [
    row('block6', 'logistic', 1, 0.7),
    row('block6', 'logistic', 10, 0.72),
    row('block6', 'svm', 1, 0.74),
    row('final', 'logistic', 0.1, 0.95),
  ];
  assert.deepEqual(
    bestPerLayer(table, 'final').map((s) => [s.layer, s.kind, s.C]),
    [
      ['block6', 'svm', 1],
      ['final', 'logistic', 0.1],
    ],
  );
  assert.deepEqual(
    bestPerLayer(table, 'final', true).map((s) => [s.layer, s.kind, s.C]),
    [
      ['block6', 'logistic', 10],
      ['block6', 'svm', 1],
      ['final', 'logistic', 0.1],
    ],
  );
});
