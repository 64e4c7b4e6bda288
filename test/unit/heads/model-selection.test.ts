import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../core/errors.js';
import { createEstimator, createHead, resolveHeadOptions } from '../../../core/heads/head.js';
import { Standardizer } from '../../../core/heads/standardizer.js';
import { matrixFromRows, takeLabels, takeRows, type Matrix } from '../../../core/heads/matrix.js';
import {
  crossValidate,
  defaultCGrid,
  stratifiedKFold,
  stratifiedSplit,
  type CvCandidate,
} from '../../../core/heads/model-selection.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { loadHead } from '../../../core/heads/serialize.js';

/** 30 / 20 / 7 rows of classes 0 / 1 / 2, shuffled. */
function imbalancedLabels(): Int32Array {
  const y = Int32Array.from([...Array(30).fill(0), ...Array(20).fill(1), ...Array(7).fill(2)]);
  const random = mulberry32(1);
  for (let i = y.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [y[i], y[j]] = [y[j]!, y[i]!];
  }
  return y;
}

function overlappingBlobs(n: number, d: number, seed: number): { X: Matrix; y: Int32Array } {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  return { X: matrixFromRows(Array.from(y, (c) => Array.from({ length: d }, (_, j) => (j < 3 ? c : 0) + gauss()))), y };
}

test('stratified folds are disjoint, cover every row, and keep class ratios', () => {
  const y = imbalancedLabels();
  const folds = stratifiedKFold(y, 5, 42);
  assert.equal(folds.length, 5);
  const seen = new Int32Array(y.length);
  for (const { train, test: testRows } of folds) {
    assert.equal(train.length + testRows.length, y.length);
    const inTest = new Set(testRows);
    assert.ok(
      Array.from(train).every((i) => !inTest.has(i)),
      'train and test disjoint',
    );
    for (const i of testRows) seen[i]!++;
    for (const [c, total] of [
      [0, 30],
      [1, 20],
      [2, 7],
    ] as const) {
      const count = Array.from(testRows).filter((i) => y[i] === c).length;
      assert.ok(
        count === Math.floor(total / 5) || count === Math.ceil(total / 5),
        `class ${c}: ${count} in a test fold`,
      );
    }
    assert.ok(testRows.length === 11 || testRows.length === 12, `fold size ${testRows.length}`);
  }
  assert.ok(
    seen.every((s) => s === 1),
    'every row is in exactly one test fold',
  );
});

test('stratified folds depend on the seed only', () => {
  const y = imbalancedLabels();
  assert.deepEqual(stratifiedKFold(y, 4, 3), stratifiedKFold(y, 4, 3));
  assert.notDeepEqual(stratifiedKFold(y, 4, 3), stratifiedKFold(y, 4, 4));
});

test('stratifiedKFold refuses more folds than the smallest class has rows', () => {
  assert.throws(
    () => stratifiedKFold(imbalancedLabels(), 8, 0),
    (e) => e instanceof ConfigError && /class 2 has 7 samples/.test(e.message),
  );
  assert.throws(() => stratifiedKFold(imbalancedLabels(), 1, 0), ConfigError);
});

test('stratifiedSplit puts about testFraction of each class in test', () => {
  const y = imbalancedLabels();
  const { train, test: testRows } = stratifiedSplit(y, 0.3, 9);
  assert.equal(train.length + testRows.length, y.length);
  const count = (rows: Int32Array, c: number) => Array.from(rows).filter((i) => y[i] === c).length;
  assert.deepEqual(
    [0, 1, 2].map((c) => count(testRows, c)),
    [9, 6, 2],
  );
  assert.throws(() => stratifiedSplit(y, 1, 0), ConfigError);
});

test('crossValidate scores each candidate as a full pipeline refitted on every training fold', () => {
  const { X, y } = overlappingBlobs(60, 8, 3);
  const candidates: CvCandidate[] = [0.01, 1].flatMap((C) => [
    { id: `lr-${C}`, X, options: { kind: 'logistic', C, tol: 1e-8 } },
    { id: `svm-${C}`, X, options: { kind: 'svm', C, tol: 1e-8, maxIter: 100000 } },
  ]);
  const result = crossValidate(candidates, y, { folds: 4, seed: 5 });
  const folds = stratifiedKFold(y, 4, 5);
  for (const [i, c] of candidates.entries()) {
    const expected = folds.map((f) =>
      createHead(c.options)
        .fit(takeRows(X, f.train), takeLabels(y, f.train))
        .score(takeRows(X, f.test), takeLabels(y, f.test)),
    );
    assert.deepEqual(result.table[i]!.foldAccuracies, expected, c.id);
    const mean = expected.reduce((s, a) => s + a, 0) / 4;
    assert.ok(Math.abs(result.table[i]!.meanAccuracy - mean) < 1e-15);
    assert.equal(result.table[i]!.id, c.id);
  }
});

test('crossValidate with n < d (Gram path) matches plain pipeline fits', () => {
  const { X, y } = overlappingBlobs(24, 50, 8);
  const candidates: CvCandidate[] = defaultCGrid().flatMap((C) => [
    { id: `lr-${C}`, X, options: { kind: 'logistic', C, tol: 1e-9 } },
    { id: `svm-${C}`, X, options: { kind: 'svm', C, tol: 1e-9, maxIter: 100000 } },
  ]);
  const result = crossValidate(candidates, y, { folds: 3, seed: 2 });
  const folds = stratifiedKFold(y, 3, 2);
  for (const [i, c] of candidates.entries()) {
    const expected = folds.map((f) =>
      createHead(c.options)
        .fit(takeRows(X, f.train), takeLabels(y, f.train))
        .score(takeRows(X, f.test), takeLabels(y, f.test)),
    );
    assert.deepEqual(result.table[i]!.foldAccuracies, expected, c.id);
  }
});

test("scaling 'once' standardizes all rows first, then cross-validates the estimator", () => {
  const { X, y } = overlappingBlobs(30, 40, 12);
  const candidates: CvCandidate[] = [1e-3, 0.1, 10].flatMap((C) => [
    { id: `lr-${C}`, X, options: { kind: 'logistic', C, tol: 1e-9 } },
    { id: `svm-${C}`, X, options: { kind: 'svm', C, tol: 1e-9, maxIter: 100000 } },
  ]);
  const result = crossValidate(candidates, y, { folds: 3, seed: 6, scaling: 'once' });
  const scaled = new Standardizer().fit(X).transform(X);
  const folds = stratifiedKFold(y, 3, 6);
  for (const [i, c] of candidates.entries()) {
    const expected = folds.map((f) =>
      createEstimator(resolveHeadOptions(c.options))
        .fit(takeRows(scaled, f.train), takeLabels(y, f.train))
        .score(takeRows(scaled, f.test), takeLabels(y, f.test)),
    );
    assert.deepEqual(result.table[i]!.foldAccuracies, expected, c.id);
  }
});

test('refit returns the best candidate fitted on all rows', () => {
  const { X, y } = overlappingBlobs(40, 60, 13);
  for (const scaling of ['per-fold', 'once'] as const) {
    const candidates: CvCandidate[] = defaultCGrid().map((C) => ({
      id: String(C),
      X,
      options: { kind: 'logistic', C, tol: 1e-10 },
    }));
    const { best, head } = crossValidate(candidates, y, { folds: 4, seed: 1, scaling, refit: true });
    assert.ok(head, 'head returned');
    assert.equal(head.options.C, best.C);
    const direct = createHead({ kind: 'logistic', C: best.C, tol: 1e-10 }).fit(X, y);
    assert.deepEqual(head.predict(X), direct.predict(X));
    const a = head.predictProba(X).data;
    const b = direct.predictProba(X).data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `${scaling} proba ${i}`);
    assert.deepEqual(loadHead(JSON.parse(JSON.stringify(head))).predict(X), head.predict(X));
  }
  assert.equal(
    crossValidate([{ id: 'a', X, options: { kind: 'svm', C: 1 } }], y, { folds: 3, seed: 0 }).head,
    undefined,
  );
});

test('ties go to logistic, then the lowest CV log-loss, then (SVMs) the smaller C, then the earlier candidate', () => {
  // Far-apart blobs: every candidate scores 100 %, so only the tie-break decides.
  const random = mulberry32(4);
  const y = Int32Array.from({ length: 30 }, (_, i) => i % 2);
  const A = matrixFromRows(Array.from(y, (c) => [c * 20 + random(), random()]));
  const B = matrixFromRows(Array.from(y, (c) => [c * 20 + random(), random()]));
  const tied = (candidates: CvCandidate[]) => {
    const result = crossValidate(candidates, y, { folds: 3, seed: 0 });
    assert.ok(result.table.every((r) => r.meanAccuracy === 1));
    return result;
  };

  const mixed = tied([
    { id: 'svm-b', layer: 'b', X: B, options: { kind: 'svm', C: 0.01 } },
    { id: 'lr-a', layer: 'a', X: A, options: { kind: 'logistic', C: 0.5 } },
    { id: 'lr-a-big', layer: 'a', X: A, options: { kind: 'logistic', C: 10 } },
    { id: 'svm-a', layer: 'a', X: A, options: { kind: 'svm', C: 0.5 } },
  ]);
  const loss = (id: string) => mixed.table.find((r) => r.id === id)!.meanLogLoss!;
  assert.ok(loss('lr-a-big') < loss('lr-a'), 'a larger C is surer on separable data');
  assert.equal(mixed.table.find((r) => r.id === 'svm-a')!.meanLogLoss, undefined, 'SVM scores are not probabilities');
  assert.equal(mixed.best.id, 'lr-a-big');

  assert.equal(
    tied([
      { id: 'svm-big', X: A, options: { kind: 'svm', C: 1 } },
      { id: 'svm-small', X: A, options: { kind: 'svm', C: 0.5 } },
    ]).best.id,
    'svm-small',
  );

  assert.equal(
    tied([
      { id: 'first', layer: 'b', X: B, options: { kind: 'logistic', C: 1 } },
      { id: 'second', layer: 'b', X: B, options: { kind: 'logistic', C: 1 } },
    ]).best.id,
    'first',
  );
});

test('crossValidate reports progress, lowers folds to the smallest class, and validates', () => {
  const { X } = overlappingBlobs(20, 3, 1);
  const y = Int32Array.from({ length: 20 }, (_, i) => (i < 3 ? 1 : 0));
  const calls: Array<[number, number]> = [];
  const result = crossValidate(
    [0.1, 1].map((C) => ({ id: String(C), X, options: { kind: 'logistic' as const, C } })),
    y,
    { folds: 5, seed: 0, onProgress: (done, total) => calls.push([done, total]) },
  );
  assert.equal(result.folds, 3);
  assert.equal(result.table[0]!.foldAccuracies.length, 3);
  assert.deepEqual(
    calls,
    [1, 2, 3, 4, 5, 6].map((d) => [d, 6]),
  );
  assert.ok(result.table.every((r) => r.fitSeconds >= 0 && Number.isFinite(r.stdAccuracy)));
  assert.throws(() => crossValidate([], y, { folds: 3, seed: 0 }), ConfigError);
  const lonely = Int32Array.from({ length: 20 }, (_, i) => (i === 0 ? 1 : 0));
  assert.throws(
    () => crossValidate([{ id: 'x', X, options: { kind: 'svm', C: 1 } }], lonely, { folds: 3, seed: 0 }),
    ConfigError,
  );
});

test('defaultCGrid is increasing and log-spaced', () => {
  const grid = defaultCGrid();
  for (let i = 1; i < grid.length; i++) assert.ok(Math.abs(Math.log10(grid[i]! / grid[i - 1]!) - 1) < 1e-12);
});
