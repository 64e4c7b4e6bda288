import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logisticObjective } from '../../../core/heads/logistic-loss.js';
import { matrixFromRows } from '../../../core/heads/matrix.js';
import { mulberry32 } from '../../../core/heads/prng.js';

function randomProblem(n: number, d: number, k: number, seed: number) {
  const random = mulberry32(seed);
  const X = matrixFromRows(Array.from({ length: n }, () => Array.from({ length: d }, () => random() * 4 - 2)));
  const y = Int32Array.from({ length: n }, (_, i) => i % k);
  const w = Float64Array.from({ length: n }, () => 0.5 + random());
  return { X, y, w, random };
}

/** Central differences, h = 1e-6: agreement to ~1e-8 relative is what double precision allows. */
function checkGradient(nOutputs: number, k: number, rowLengths?: Int32Array): void {
  const { X, y, w, random } = randomProblem(12, 5, k, 3 + k);
  const f = logisticObjective(X, y, w, nOutputs, 0.7, rowLengths);
  const theta = Float64Array.from({ length: nOutputs * 5 + nOutputs }, () => random() - 0.5);
  const grad = new Float64Array(theta.length);
  f(theta, grad);
  const scratch = new Float64Array(theta.length);
  const h = 1e-6;
  for (let p = 0; p < theta.length; p++) {
    const plus = Float64Array.from(theta);
    const minus = Float64Array.from(theta);
    plus[p]! += h;
    minus[p]! -= h;
    const numeric = (f(plus, scratch) - f(minus, scratch)) / (2 * h);
    assert.ok(
      Math.abs(numeric - grad[p]!) <= 1e-7 * Math.max(1, Math.abs(numeric)),
      `∂θ[${p}]: analytic ${grad[p]} vs numeric ${numeric}`,
    );
  }
}

test('binary logistic loss gradient matches finite differences', () => checkGradient(1, 2));
test('multinomial logistic loss gradient matches finite differences', () => checkGradient(4, 4));
test('gradient is right with triangular rows (rowLengths)', () => {
  checkGradient(
    3,
    3,
    Int32Array.from({ length: 12 }, (_, i) => 1 + (i % 5)),
  );
});

test('binary loss at θ = 0 is log 2 and the penalty is ‖W‖²/(2·C·S)', () => {
  const { X, y } = randomProblem(10, 3, 2, 1);
  const ones = new Float64Array(10).fill(1);
  const f = logisticObjective(X, y, ones, 1, 2);
  assert.ok(Math.abs(f(new Float64Array(4), new Float64Array(4)) - Math.log(2)) < 1e-15);
  // With X = 0 rows the data term stays log 2 whatever W is, so the rest is the penalty.
  const zero = matrixFromRows(Array.from({ length: 10 }, () => [0, 0, 0]));
  const g = logisticObjective(zero, y, ones, 1, 2);
  const value = g(Float64Array.from([3, 4, 0, 0]), new Float64Array(4));
  assert.ok(Math.abs(value - (Math.log(2) + 25 / (2 * 2 * 10))) < 1e-14);
});
