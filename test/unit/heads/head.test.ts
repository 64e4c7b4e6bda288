import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, NotFittedError } from '../../../core/errors.js';
import { createHead, loadHead, rawSpaceLinear, type HeadOptions } from '../../../core/heads/index.js';
import { matrixFromRows, type Matrix } from '../../../core/heads/matrix.js';
import { mulberry32 } from '../../../core/heads/prng.js';

function noisyBlobs(n: number, d: number, k: number, seed: number): { X: Matrix; y: Int32Array } {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const y = Int32Array.from({ length: n }, (_, i) => i % k);
  // Features on very different scales plus one constant feature: the standardizer has to cope with both.
  const X = matrixFromRows(
    Array.from(y, (c) => [...Array.from({ length: d }, (_, j) => ((j === c ? 1.5 : 0) + gauss()) * 10 ** (j % 3)), 42]),
  );
  return { X, y };
}

const kinds: HeadOptions[] = [
  { kind: 'logistic', C: 0.3 },
  { kind: 'svm', C: 0.3, seed: 3 },
  { kind: 'svm', C: 0.3, svmLoss: 'hinge' },
];

for (const options of kinds) {
  for (const k of [2, 3]) {
    test(`${options.kind}${options.svmLoss ? `/${options.svmLoss}` : ''} head, ${k} classes: JSON round-trip predicts bit for bit`, () => {
      const { X, y } = noisyBlobs(90, 6, k, 21);
      const head = createHead(options).fit(X, y);
      const restored = loadHead(JSON.parse(JSON.stringify(head)));
      assert.deepEqual(restored.decisionFunction(X).data, head.decisionFunction(X).data);
      assert.deepEqual(restored.predictProba(X).data, head.predictProba(X).data);
      assert.deepEqual(restored.predict(X), head.predict(X));
      assert.deepEqual(restored.toJSON(), head.toJSON());
      assert.equal(restored.nClasses, k);
      assert.equal(restored.nFeatures, 7);
      assert.ok(head.score(X, y) > 0.7, `training accuracy ${head.score(X, y)}`);
    });
  }
}

test('head JSON carries version, standardizer, weights, intercepts and options', () => {
  const { X, y } = noisyBlobs(30, 3, 3, 2);
  const json = createHead({ kind: 'logistic', C: 1 }).fit(X, y).toJSON();
  assert.equal(json.format, 'cnn-codes.head');
  assert.equal(json.version, 1);
  assert.deepEqual(json.options, {
    kind: 'logistic',
    C: 1,
    classWeight: null,
    seed: 0,
    tol: 1e-4,
    maxIter: 1000,
    svmLoss: 'squared-hinge',
  });
  assert.equal(json.standardizer.mean.length, 4);
  assert.equal(json.standardizer.scale[3], 1, 'a constant feature keeps scale 1');
  assert.equal(json.weights.length, 3);
  assert.equal(json.intercepts.length, 3);
  assert.equal(json.probability, 'logistic-model');
  assert.equal(json.fit.converged, true);
});

test('a constant feature does not break fitting or prediction', () => {
  const { X, y } = noisyBlobs(40, 2, 2, 8);
  const head = createHead({ kind: 'logistic', C: 1 }).fit(X, y);
  assert.equal(head.toJSON().weights[0]![2], 0);
  assert.ok(head.predictProba(X).data.every(Number.isFinite));
});

test('loadHead rejects malformed JSON with a ConfigError', () => {
  const { X, y } = noisyBlobs(30, 3, 2, 4);
  const good = createHead({ kind: 'svm', C: 1 }).fit(X, y).toJSON();
  const broken: Array<[string, unknown]> = [
    ['not an object', 'head'],
    ['format', { ...good, format: 'other' }],
    ['version', { ...good, version: 2 }],
    ['kind', { ...good, options: { ...good.options, kind: 'tree' } }],
    ['weights rows', { ...good, weights: [] }],
    ['weights length', { ...good, weights: [[1, 2]] }],
    ['non-finite', { ...good, intercepts: [null] }],
    ['scale', { ...good, standardizer: { ...good.standardizer, scale: good.standardizer.scale.map(() => 0) } }],
  ];
  for (const [what, json] of broken) assert.throws(() => loadHead(json), ConfigError, what);
});

test('an unfitted head throws NotFittedError', () => {
  const head = createHead({ kind: 'logistic', C: 1 });
  const X = matrixFromRows([[1, 2]]);
  assert.throws(() => head.predict(X), NotFittedError);
  assert.throws(() => head.toJSON(), NotFittedError);
  assert.throws(() => head.nFeatures, NotFittedError);
  assert.throws(() => createHead({ kind: 'forest' as 'svm', C: 1 }), ConfigError);
});

test("classWeight 'balanced' moves the decision toward the minority class", () => {
  // 45 of class 0 around x = 0, 5 of class 1 around x = 1.6, overlapping: unweighted, the boundary sits near x = 2.6; balanced, near x = 1.
  const random = mulberry32(5);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const y = Int32Array.from({ length: 50 }, (_, i) => (i < 45 ? 0 : 1));
  const X = matrixFromRows(Array.from(y, (c) => [c * 1.6 + gauss()]));
  const probe = matrixFromRows([[1.4]]);
  for (const kind of ['logistic', 'svm'] as const) {
    const plain = createHead({ kind, C: 1 }).fit(X, y);
    const balanced = createHead({ kind, C: 1, classWeight: 'balanced' }).fit(X, y);
    assert.equal(plain.predict(probe)[0], 0, `${kind} unweighted`);
    assert.equal(balanced.predict(probe)[0], 1, `${kind} balanced`);
    const recall1 = (h: typeof plain) => Array.from(h.predict(X)).filter((p, i) => p === 1 && y[i] === 1).length;
    assert.ok(recall1(balanced) > recall1(plain));
  }
});

test('rawSpaceLinear folds the standardizer into the weights', () => {
  const { X, y } = noisyBlobs(40, 4, 3, 6);
  const head = createHead({ kind: 'logistic', C: 1 }).fit(X, y);
  const { weights, intercepts } = rawSpaceLinear(head.toJSON());
  const scores = head.decisionFunction(X);
  for (let i = 0; i < X.rows; i++) {
    for (let c = 0; c < 3; c++) {
      const raw = intercepts[c]! + weights[c]!.reduce((s, w, j) => s + w * X.data[i * X.cols + j]!, 0);
      assert.ok(Math.abs(raw - scores.data[i * 3 + c]!) < 1e-9);
    }
  }
});
