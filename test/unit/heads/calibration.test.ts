import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedCalibrationError, fitTemperature, temper, temperedLogLoss } from '../../../core/heads/calibration.js';
import { createHead, loadHead } from '../../../core/heads/index.js';
import type { Matrix } from '../../../core/heads/matrix.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { ConfigError } from '../../../core/errors.js';

/** Scores z, labels drawn from softmax(z / trueT), and the head's overconfident or underconfident softmax(z). */
function miscalibrated(n: number, k: number, trueT: number, seed = 1): { p: Matrix; y: Int32Array } {
  const random = mulberry32(seed);
  const p = new Float64Array(n * k);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => 3 * (random() - 0.5));
    const soft = (t: number) => {
      const e = z.map((v) => Math.exp(v / t));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    soft(1).forEach((v, c) => (p[i * k + c] = v));
    const truth = soft(trueT);
    let u = random();
    y[i] = truth.findIndex((v) => (u -= v) < 0);
    if (y[i]! < 0) y[i] = k - 1;
  }
  return { p: { rows: n, cols: k, data: p }, y };
}

for (const [k, trueT] of [
  [2, 0.4],
  [3, 2.5],
] as const) {
  test(`temperature scaling finds the temperature the labels were drawn with (${k} classes, T = ${trueT}), and lowers ECE and log-loss`, () => {
    const { p, y } = miscalibrated(20_000, k, trueT);
    const t = fitTemperature(p, y);
    assert.ok(Math.abs(t / trueT - 1) < 0.08, `fitted ${t}`);
    const after = temper(p, t);
    assert.ok(temperedLogLoss(p, y, t) < temperedLogLoss(p, y, 1));
    assert.ok(expectedCalibrationError(after, y) < expectedCalibrationError(p, y) / 2);
    for (let i = 0; i < p.rows; i++) {
      const argmax = (m: Matrix) => {
        const row = Array.from(m.data.subarray(i * k, (i + 1) * k));
        return row.indexOf(Math.max(...row));
      };
      assert.equal(argmax(after), argmax(p), 'the most likely class never changes');
    }
  });
}

test('a calibrated head divides its scores by T: same predictions, sharper probabilities, kept through JSON', () => {
  const random = mulberry32(4);
  const rows = 60;
  const X = { rows, cols: 3, data: Float64Array.from({ length: rows * 3 }, () => random()) };
  const y = Int32Array.from({ length: rows }, (_, i) => (X.data[i * 3]! + 0.3 * random() > 0.6 ? 1 : 0));
  const head = createHead({ kind: 'logistic', C: 0.01 }).fit(X, y);
  const plain = head.predictProba(X);
  const scores = head.decisionFunction(X);
  head.calibrate(0.5);
  const sharp = head.predictProba(X);
  for (let i = 0; i < rows; i++) {
    assert.ok(Math.abs(sharp.data[2 * i + 1]! - 1 / (1 + Math.exp(-scores.data[i]! / 0.5))) < 1e-12);
    assert.equal(sharp.data[2 * i + 1]! > 0.5, plain.data[2 * i + 1]! > 0.5);
  }
  const json = head.toJSON();
  assert.equal(json.temperature, 0.5);
  assert.deepEqual(loadHead(json).predictProba(X).data, sharp.data);
  assert.equal(createHead({ kind: 'logistic', C: 1 }).fit(X, y).toJSON().temperature, undefined, 'absent when 1');
  assert.throws(() => loadHead({ ...json, temperature: 0 }), ConfigError);
  assert.throws(() => head.calibrate(Number.NaN), ConfigError);
});
