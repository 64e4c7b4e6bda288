import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DataError, NotFittedError } from '../../../core/errors.js';
import { LinearSVC } from '../../../core/heads/linear-svm.js';
import { LogisticRegression } from '../../../core/heads/logistic-regression.js';
import { matrixFromRows, type Matrix } from '../../../core/heads/matrix.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { TrainingSet } from '../../../core/heads/training-set.js';

/** k Gaussian blobs in d dimensions, centers 6 apart on the axes: linearly separable with a wide margin. */
function blobs(n: number, d: number, k: number, seed: number, spread = 1): { X: Matrix; y: Int32Array } {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const y = Int32Array.from({ length: n }, (_, i) => i % k);
  const X = matrixFromRows(
    Array.from(y, (c) => Array.from({ length: d }, (_, j) => (j === c ? 6 : 0) + spread * gauss())),
  );
  return { X, y };
}

const estimators = [
  ['LogisticRegression', (C: number) => new LogisticRegression({ C })],
  ['LinearSVC', (C: number) => new LinearSVC({ C, seed: 1 })],
] as const;

for (const [name, make] of estimators) {
  test(`${name} reaches 100 % on separable data (binary and 4 classes)`, () => {
    for (const k of [2, 4]) {
      const { X, y } = blobs(80, 5, k, 11);
      const model = make(1);
      assert.equal(model.fit(X, y), model, 'fit returns this');
      assert.equal(model.score(X, y), 1);
      assert.equal(model.nClasses, k);
      assert.equal(model.nFeatures, 5);
      assert.equal(model.decisionFunction(X).cols, k === 2 ? 1 : k);
      const proba = model.predictProba(X);
      assert.equal(proba.cols, k);
      for (let i = 0; i < proba.rows; i++) {
        const sum = proba.data.subarray(i * k, (i + 1) * k).reduce((s, v) => s + v, 0);
        assert.ok(Math.abs(sum - 1) < 1e-12);
      }
    }
  });

  test(`${name}: predicting before fit is a NotFittedError`, () => {
    const { X } = blobs(10, 3, 2, 1);
    const model = make(1);
    assert.throws(() => model.predict(X), NotFittedError);
    assert.throws(() => model.predictProba(X), NotFittedError);
    assert.throws(() => model.nClasses, NotFittedError);
  });

  test(`${name}: bad input is a ConfigError that says what is wrong`, () => {
    const { X, y } = blobs(10, 3, 2, 1);
    const nan = { ...X, data: Float64Array.from(X.data) };
    nan.data[7] = NaN;
    assert.throws(
      () => make(1).fit(nan, y),
      (e) => e instanceof DataError && /non-finite.*row 2, column 1/.test(e.message),
    );
    assert.throws(
      () => make(1).fit(X, y.subarray(0, 9)),
      (e) => e instanceof ConfigError && /10 rows but y has 9/.test(e.message),
    );
    assert.throws(
      () => make(1).fit(X, new Int32Array(10)),
      (e) => e instanceof ConfigError && /only one class/.test(e.message),
    );
    assert.throws(
      () => make(0).fit(X, y),
      (e) => e instanceof ConfigError && /C must be .* > 0/.test(e.message),
    );
    assert.throws(() => make(-1).fit(X, y), ConfigError);
    assert.throws(
      () =>
        make(1).fit(
          X,
          Int32Array.from(y, (v) => v * 2),
        ),
      (e) => e instanceof ConfigError && /class 1 has no samples/.test(e.message),
    );
    const fitted = make(1).fit(X, y);
    assert.throws(
      () => fitted.predict(matrixFromRows([[1, 2]])),
      (e) => e instanceof ConfigError && /2 features .* 3/.test(e.message),
    );
  });
}

test('the constructor only stores hyperparameters', () => {
  assert.doesNotThrow(() => new LogisticRegression({ C: -1 }));
  assert.deepEqual(new LogisticRegression({ C: 2 }).params, { C: 2, classWeight: null, tol: 1e-4, maxIter: 1000 });
});

test('logistic regression: solving in the span of the rows (n < d) gives the primal solution', () => {
  const { X, y } = blobs(30, 60, 3, 5, 3);
  for (const k of [2, 3]) {
    const yk = Int32Array.from(y, (c) => c % k);
    const set = new TrainingSet(X, yk, k);
    const primal = new LogisticRegression({ C: 0.05, tol: 1e-10 }).fitTrainingSet(set, { inBasis: false });
    const span = new LogisticRegression({ C: 0.05, tol: 1e-10 }).fitTrainingSet(set, { inBasis: true });
    const a = primal.decisionFunction(X).data;
    const b = span.decisionFunction(X).data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `score ${i}: ${a[i]} vs ${b[i]}`);
    for (let i = 0; i < primal.coef.data.length; i++)
      assert.ok(Math.abs(primal.coef.data[i]! - span.coef.data[i]!) < 1e-6);
  }
});

test('logistic regression: a warm start reaches the same optimum', () => {
  const { X, y } = blobs(40, 8, 3, 9, 3);
  const set = new TrainingSet(X, y, 3);
  const small = new LogisticRegression({ C: 0.01, tol: 1e-10 }).fitTrainingSet(set);
  const cold = new LogisticRegression({ C: 1, tol: 1e-10 }).fitTrainingSet(set);
  const warm = new LogisticRegression({ C: 1, tol: 1e-10 }).fitTrainingSet(set, { warmStart: small });
  cold.coef.data.forEach((v, i) => assert.ok(Math.abs(v - warm.coef.data[i]!) < 1e-6));
});

test('linear SVM: Gram-matrix coordinate descent gives the feature-space solution', () => {
  const { X, y } = blobs(30, 40, 3, 4, 3);
  for (const loss of ['squared-hinge', 'hinge'] as const) {
    const set = new TrainingSet(X, y, 3);
    const a = new LinearSVC({ C: 0.1, tol: 1e-8, loss, maxIter: 100000 }).fitTrainingSet(set, { useGram: false });
    const b = new LinearSVC({ C: 0.1, tol: 1e-8, loss, maxIter: 100000 }).fitTrainingSet(set, { useGram: true });
    a.coef.data.forEach((v, i) => assert.ok(Math.abs(v - b.coef.data[i]!) < 1e-5, `${loss} coef ${i}`));
    a.intercept.forEach((v, i) => assert.ok(Math.abs(v - b.intercept[i]!) < 1e-5, `${loss} intercept ${i}`));
  }
});

test('linear SVM: the primal (L-BFGS) and the dual (coordinate descent) reach the same optimum', () => {
  const { X, y } = blobs(90, 6, 3, 14, 3);
  for (const k of [2, 3]) {
    const yk = Int32Array.from(y, (c) => c % k);
    for (const classWeight of [null, 'balanced'] as const) {
      const params = { C: 0.3, tol: 1e-10, maxIter: 100000, classWeight };
      const primal = new LinearSVC({ ...params, dual: false }).fit(X, yk);
      const dual = new LinearSVC({ ...params, dual: true }).fit(X, yk);
      primal.coef.data.forEach((v, i) =>
        assert.ok(Math.abs(v - dual.coef.data[i]!) < 1e-6, `k=${k} coef ${i}: ${v} vs ${dual.coef.data[i]}`),
      );
      primal.intercept.forEach((v, i) => assert.ok(Math.abs(v - dual.intercept[i]!) < 1e-6, `k=${k} intercept ${i}`));
    }
  }
  assert.throws(() => new LinearSVC({ C: 1, loss: 'hinge', dual: false }).fit(X, y), ConfigError);
});

test('linear SVM is deterministic for a seed, and the seed is used', () => {
  // A loose tolerance keeps the solution short of the optimum, so the coordinate order shows in the result.
  const { X, y } = blobs(60, 10, 3, 2, 4);
  const fit = (seed: number) => new LinearSVC({ C: 10, seed, tol: 0.5, maxIter: 3, dual: true }).fit(X, y).coef.data;
  assert.deepEqual(fit(7), fit(7));
  assert.notDeepEqual(fit(7), fit(8));
});
