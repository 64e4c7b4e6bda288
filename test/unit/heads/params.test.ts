import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../core/errors.js';
import { createHead, LinearSVC, LogisticRegression, matrixFromRows } from '../../../core/heads/index.js';
import {
  checkParameters,
  HEAD_PARAMETERS,
  LOGISTIC_PARAMETERS,
  SVM_PARAMETERS,
  withDefaults,
} from '../../../core/heads/params.js';
import { inMemoryRows } from '../../../core/heads/row-source.js';
import { fitStreamed } from '../../../core/heads/streamed-logistic.js';

const X = matrixFromRows([
  [0, 1],
  [1, 0],
  [0, 2],
  [2, 0],
]);
const y = Int32Array.from([0, 1, 0, 1]);

const names = (e: unknown, pattern: RegExp) => e instanceof ConfigError && pattern.test(e.message);

test('defaults are filled from the one declaration, in head.json order, and constructors do not check', () => {
  assert.deepEqual(Object.keys(withDefaults(HEAD_PARAMETERS, { kind: 'logistic', C: 1 })), [
    'kind',
    'C',
    'classWeight',
    'seed',
    'tol',
    'maxIter',
    'svmLoss',
  ]);
  assert.deepEqual(createHead({ kind: 'svm', C: 2 }).options, {
    kind: 'svm',
    C: 2,
    classWeight: null,
    seed: 0,
    tol: 1e-4,
    maxIter: 1000,
    svmLoss: 'squared-hinge',
  });
  assert.deepEqual(new LinearSVC({ C: 2 }).params, {
    C: 2,
    classWeight: null,
    tol: 1e-4,
    maxIter: 1000,
    loss: 'squared-hinge',
    seed: 0,
    dual: 'auto',
  });
  assert.doesNotThrow(() => new LinearSVC({ C: 1, maxIter: 0 }));
});

test('a bad parameter is a ConfigError at fit that names the estimator, the parameter and the rule', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [
      () => new LogisticRegression({ C: 1, tol: 0 }).fit(X, y),
      /^LogisticRegression tol must be a finite number > 0; got 0$/,
    ],
    [() => new LogisticRegression({ C: 1, maxIter: 2.5 }).fit(X, y), /maxIter must be an integer ≥ 1; got 2.5/],
    [
      () => new LogisticRegression({ C: 1, classWeight: 'weighted' as 'balanced' }).fit(X, y),
      /classWeight must be one of null, "balanced"; got "weighted"/,
    ],
    [() => new LinearSVC({ C: Infinity }).fit(X, y), /^LinearSVC C must be a finite number > 0 .*; got Infinity$/],
    [
      () => new LinearSVC({ C: 1, loss: 'log' as 'hinge' }).fit(X, y),
      /LinearSVC loss must be one of "squared-hinge", "hinge"/,
    ],
    [() => new LinearSVC({ C: 1, seed: 0.5 }).fit(X, y), /LinearSVC seed must be an integer; got 0.5/],
    [() => new LinearSVC({ C: 1, dual: 'yes' as 'auto' }).fit(X, y), /dual must be one of true, false, "auto"/],
    [() => createHead({ kind: 'svm', C: 1, tol: -1 }).fit(X, y), /tol must be a finite number > 0; got -1/],
  ];
  for (const [fit, pattern] of cases) assert.throws(fit, (e) => names(e, pattern), String(pattern));
});

test('the streamed logistic head checks the same declaration', async () => {
  const rows = inMemoryRows(Float32Array.from(X.data), y, 2);
  await assert.rejects(fitStreamed(rows, 1, { maxIter: 0 }), (e) => names(e, /maxIter must be an integer ≥ 1; got 0/));
  await assert.rejects(fitStreamed(rows, 1, { tol: NaN }), (e) => names(e, /tol must be a finite number > 0; got NaN/));
});

test('each kind declares the parameters its estimator takes, sharing the common ones', () => {
  assert.deepEqual(Object.keys(LOGISTIC_PARAMETERS), ['C', 'classWeight', 'tol', 'maxIter']);
  for (const name of ['C', 'classWeight', 'tol', 'maxIter'] as const)
    assert.equal(SVM_PARAMETERS[name], LOGISTIC_PARAMETERS[name]);
  assert.throws(() => checkParameters(LOGISTIC_PARAMETERS, { C: 1, classWeight: null, tol: 1e-4 }), /maxIter must be/);
});
