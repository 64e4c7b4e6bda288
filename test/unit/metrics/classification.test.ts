import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../core/errors.js';
import { matrixFromRows } from '../../../core/heads/matrix.js';
import { classificationMetrics } from '../../../core/metrics/classification.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('metrics match values worked out by hand', () => {
  const yTrue = Int32Array.from([0, 0, 0, 1, 1, 2]);
  const proba = matrixFromRows([
    [0.7, 0.2, 0.1], // → 0 ✓
    [0.4, 0.5, 0.1], // → 1 ✗ (true class second: top-2 hit)
    [0.6, 0.3, 0.1], // → 0 ✓
    [0.1, 0.8, 0.1], // → 1 ✓
    [0.5, 0.2, 0.3], // → 0 ✗ (true class third: top-2 miss)
    [0.2, 0.2, 0.6], // → 2 ✓
  ]);
  const m = classificationMetrics(yTrue, proba, ['ant', 'bee', 'wasp'], { topK: [2, 3] });
  assert.equal(m.n, 6);
  assert.deepEqual(m.confusion, [
    [2, 1, 0],
    [1, 1, 0],
    [0, 0, 1],
  ]);
  close(m.accuracy, 4 / 6, 'accuracy');
  assert.deepEqual(
    m.perClass.map((c) => c.label),
    ['ant', 'bee', 'wasp'],
  );
  assert.deepEqual(
    m.perClass.map((c) => c.support),
    [3, 2, 1],
  );
  [
    [2 / 3, 2 / 3, 2 / 3],
    [1 / 2, 1 / 2, 1 / 2],
    [1, 1, 1],
  ].forEach(([p, r, f], c) => {
    close(m.perClass[c]!.precision, p!, `precision ${c}`);
    close(m.perClass[c]!.recall, r!, `recall ${c}`);
    close(m.perClass[c]!.f1, f!, `f1 ${c}`);
  });
  close(m.macroF1, 13 / 18, 'macro F1');
  close(m.balancedAccuracy, 13 / 18, 'balanced accuracy');
  close(
    m.logLoss,
    -(Math.log(0.7) + Math.log(0.4) + Math.log(0.6) + Math.log(0.8) + Math.log(0.2) + Math.log(0.6)) / 6,
    'log-loss',
  );
  assert.deepEqual(m.topK, [{ k: 2, accuracy: 5 / 6 }], 'top-3 of 3 classes is left out');
});

test('precision and recall with asymmetric errors', () => {
  // Binary: 3 positives, 5 negatives; predicted positive for 2 positives and 1 negative.
  const yTrue = Int32Array.from([1, 1, 1, 0, 0, 0, 0, 0]);
  const p1 = [0.9, 0.8, 0.3, 0.6, 0.1, 0.2, 0.4, 0.3];
  const m = classificationMetrics(yTrue, matrixFromRows(p1.map((p) => [1 - p, p])), ['neg', 'pos']);
  const pos = m.perClass[1]!;
  close(pos.precision, 2 / 3, 'precision');
  close(pos.recall, 2 / 3, 'recall');
  close(m.perClass[0]!.recall, 4 / 5, 'specificity');
  close(m.balancedAccuracy, (2 / 3 + 4 / 5) / 2, 'balanced accuracy');
  assert.deepEqual(m.topK, []);
});

test('log-loss clips probabilities at float64 eps like scikit-learn; absent classes count as zero', () => {
  const yTrue = Int32Array.from([0, 1]);
  const m = classificationMetrics(
    yTrue,
    matrixFromRows([
      [1, 0, 0],
      [1, 0, 0],
    ]),
    ['a', 'b', 'c'],
  );
  close(m.logLoss, -(Math.log(1 - Number.EPSILON) + Math.log(Number.EPSILON)) / 2, 'log-loss');
  assert.equal(m.perClass[2]!.support, 0);
  assert.equal(m.perClass[2]!.f1, 0);
  assert.equal(m.perClass[1]!.precision, 0, 'no predictions: zero, not NaN');
  close(m.balancedAccuracy, (1 + 0) / 2, 'balanced accuracy over classes present');
});

test('mismatched shapes and labels are ConfigErrors', () => {
  const proba = matrixFromRows([[0.5, 0.5]]);
  assert.throws(() => classificationMetrics(Int32Array.from([0]), proba, ['a', 'b', 'c']), ConfigError);
  assert.throws(() => classificationMetrics(Int32Array.from([0, 1]), proba, ['a', 'b']), ConfigError);
  assert.throws(() => classificationMetrics(Int32Array.from([2]), proba, ['a', 'b']), ConfigError);
});
