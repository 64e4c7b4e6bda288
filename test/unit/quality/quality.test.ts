import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matrixFromRows, type Matrix } from '../../../core/heads/matrix.js';
import { crossValidate, stratifiedGroupKFold, stratifiedKFold } from '../../../core/heads/model-selection.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { fitPrincipalAxes, principalMap, principalSample, projectRows } from '../../../core/quality/code-map.js';
import { findDuplicates, nearDuplicateRule } from '../../../core/quality/duplicates.js';
import { findLabelIssues, findOutliers } from '../../../core/quality/label-issues.js';
import { similarPairsAcrossBlocks, similarPairsByGemm } from '../../../core/quality/gemm-similarity.js';
import { normalizedRows, searchSimilar, similarPairs } from '../../../core/quality/near-duplicates.js';
import { UnionFind } from '../../../core/quality/union-find.js';

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** n distinct random codes of width d, plus `copies` noisy copies of each of the first `copied` rows. */
function codesWithCopies(n: number, d: number, copied: number, copies: number, noise: number, seed = 3) {
  const random = mulberry32(seed);
  const base = Array.from({ length: n }, () => Array.from({ length: d }, () => Math.abs(gaussian(random))));
  const rows = [...base];
  const origin = base.map((_, i) => i);
  for (let i = 0; i < copied; i++) {
    for (let c = 0; c < copies; c++) {
      rows.push(base[i]!.map((v) => v + noise * gaussian(random)));
      origin.push(i);
    }
  }
  return { X: matrixFromRows(rows), origin };
}

function bruteForcePairs(codes: Float32Array, dim: number, threshold: number, other?: Float32Array) {
  const b = other ?? codes;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < codes.length / dim; i++) {
    for (let j = other ? 0 : i + 1; j < b.length / dim; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += codes[i * dim + t]! * b[j * dim + t]!;
      if (s >= threshold) out.push([i, j]);
    }
  }
  return out.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
}

test('the blocked near-duplicate search finds exactly the pairs a brute-force scan finds, within and across sets', () => {
  // Sizes that are not multiples of the block or the 2×2 tile, so every edge case of the loops runs.
  const { X } = codesWithCopies(101, 37, 30, 2, 0.15);
  const codes = normalizedRows(X.data, X.rows, X.cols);
  for (const threshold of [0.9, 0.97]) {
    const found = similarPairs(codes, X.cols, { threshold, topK: 1000 }).map((p) => [p.i, p.j] as [number, number]);
    assert.deepEqual(
      found.sort((p, q) => p[0] - q[0] || p[1] - q[1]),
      bruteForcePairs(codes, X.cols, threshold),
    );
    const left = codes.subarray(0, 77 * X.cols);
    const right = codes.subarray(77 * X.cols);
    const across = similarPairs(left, X.cols, { threshold, topK: 1000 }, right).map(
      (p) => [p.i, p.j] as [number, number],
    );
    assert.deepEqual(
      across.sort((p, q) => p[0] - q[0] || p[1] - q[1]),
      bruteForcePairs(left, X.cols, threshold, right),
    );
  }
});

test('the GEMM search (onnxruntime) finds the pairs the blocked loop finds, in the same order, across block edges', async () => {
  const { X } = codesWithCopies(101, 37, 30, 2, 0.15);
  const codes = normalizedRows(X.data, X.rows, X.cols);
  const left = codes.subarray(0, 77 * X.cols);
  const right = codes.subarray(77 * X.cols);
  const ids = (pairs: Array<{ i: number; j: number }>) => pairs.map((p) => `${p.i},${p.j}`);
  for (const threshold of [0.9, 0.97]) {
    for (const blocks of [
      { rows: 7, cols: 13 },
      { rows: 2048, cols: 8192 },
    ]) {
      const within = await similarPairsByGemm(codes, X.cols, { threshold, topK: 3 }, undefined, blocks);
      assert.deepEqual(ids(within), ids(similarPairs(codes, X.cols, { threshold, topK: 3 })));
      const across = await similarPairsByGemm(left, X.cols, { threshold, topK: 1000 }, right, blocks);
      assert.deepEqual(ids(across), ids(similarPairs(left, X.cols, { threshold, topK: 1000 }, right)));
      assert.ok(within.length > 0 && across.length > 0);
    }
  }
});

test('top-k caps the pairs kept per row, keeping the most similar', () => {
  const dim = 8;
  const same = Array.from({ length: 12 }, (_, i) =>
    Array.from({ length: dim }, (_, t) => (t === 0 ? 1 : 0.001 * i * t)),
  );
  const codes = normalizedRows(matrixFromRows(same).data, same.length, dim);
  const pairs = similarPairs(codes, dim, { threshold: 0.9, topK: 3 });
  const perRow = new Map<number, number>();
  for (const p of pairs) for (const r of [p.i, p.j]) perRow.set(r, (perRow.get(r) ?? 0) + 1);
  assert.ok(pairs.length < (12 * 11) / 2, 'fewer pairs than the full clique');
  const sets = new UnionFind(12);
  for (const p of pairs) sets.union(p.i, p.j);
  assert.equal(sets.groups().length, 1, 'the kept pairs still join the clique into one group');
});

test('neighbour similarity is the mean cosine to the k nearest other rows', () => {
  const { X } = codesWithCopies(40, 16, 0, 0, 0);
  const codes = normalizedRows(X.data, X.rows, X.cols);
  const { neighbourSimilarity } = searchSimilar(codes, X.cols, { threshold: 2, neighbours: 5 });
  for (const i of [0, 17, 39]) {
    const sims: number[] = [];
    for (let j = 0; j < 40; j++) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < X.cols; t++) s += codes[i * X.cols + t]! * codes[j * X.cols + t]!;
      sims.push(s);
    }
    const expected =
      sims
        .sort((a, b) => b - a)
        .slice(0, 5)
        .reduce((a, b) => a + b) / 5;
    assert.ok(Math.abs(neighbourSimilarity![i]! - expected) < 1e-5, `row ${i}`);
  }
});

test('duplicates: identical bytes and near-identical codes join one group, distinct images stay apart', () => {
  const { X, origin } = codesWithCopies(60, 64, 10, 2, 0.05);
  const hashes = origin.map((o, i) => (i === 75 ? 'h-same' : i === 3 ? 'h-same' : `h${i}`));
  const found = findDuplicates(
    hashes,
    normalizedRows(X.data, X.rows, X.cols),
    X.cols,
    nearDuplicateRule(undefined, 0.95),
  );
  for (let i = 60; i < X.rows; i++)
    assert.equal(found.groupIds[i], found.groupIds[origin[i]!], `copy ${i} with its original ${origin[i]}`);
  assert.equal(found.groupIds[75], found.groupIds[3], 'same content hash → same group, whatever the codes');
  const grouped = new Set(found.groups.flat());
  for (let i = 10; i < 60; i++) if (i !== 3) assert.ok(!grouped.has(i), `distinct image ${i} has no duplicate`);
});

test('grouped stratified folds never split a group, cover every row once and keep classes balanced', () => {
  const random = mulberry32(9);
  const y = Int32Array.from({ length: 300 }, (_, i) => (i % 10 < 7 ? 0 : 1));
  // Groups of 1–4 consecutive rows with one label each (copies share their label).
  const groups = new Int32Array(300);
  let id = 0;
  for (let i = 0; i < 300;) {
    const size = 1 + Math.floor(random() * 4);
    for (let s = 0; s < size && i < 300 && (s === 0 || y[i] === y[i - 1]); s++) groups[i++] = id;
    id++;
  }
  const folds = stratifiedGroupKFold(y, groups, 5, 0);
  const foldOf = new Int32Array(300).fill(-1);
  folds.forEach((f, k) =>
    f.test.forEach((i) => {
      assert.equal(foldOf[i], -1, `row ${i} in one test fold only`);
      foldOf[i] = k;
    }),
  );
  assert.ok(
    foldOf.every((f) => f >= 0),
    'every row is tested once',
  );
  for (let i = 1; i < 300; i++)
    if (groups[i] === groups[i - 1]) assert.equal(foldOf[i], foldOf[i - 1], `group ${groups[i]} in one fold`);
  for (const f of folds) {
    const ones = Array.from(f.test).filter((i) => y[i] === 1).length;
    assert.ok(Math.abs(ones / f.test.length - 0.3) < 0.06, `class share ${(ones / f.test.length).toFixed(2)} near 0.3`);
  }
  // Singleton groups: as balanced as plain stratified folds.
  const singletons = Int32Array.from({ length: 300 }, (_, i) => i);
  const sizes = (splits: Array<{ test: Int32Array }>) => splits.map((s) => s.test.length).sort();
  assert.deepEqual(sizes(stratifiedGroupKFold(y, singletons, 5, 0)), sizes(stratifiedKFold(y, 5, 0)));
});

test('grouped CV scores held-out copies honestly: ungrouped CV on planted copies is optimistic, grouped CV is not', () => {
  // Labels are pure noise: any accuracy above chance is memory of a copy seen in training.
  const random = mulberry32(4);
  const { X, origin } = codesWithCopies(80, 40, 80, 2, 0.01, 5);
  const labelOf = Array.from({ length: 80 }, () => (random() < 0.5 ? 0 : 1));
  const y = Int32Array.from(origin, (o) => labelOf[o]!);
  const candidates = [{ id: 'C=10', X, options: { kind: 'logistic' as const, C: 10 } }];
  const plain = crossValidate(candidates, y, { folds: 5, seed: 0 });
  const grouped = crossValidate(candidates, y, { folds: 5, seed: 0, groups: Int32Array.from(origin), outOfFold: true });
  assert.equal(grouped.grouped, true);
  assert.ok(plain.best.meanAccuracy > 0.75, `ungrouped CV memorizes copies: ${plain.best.meanAccuracy}`);
  assert.ok(grouped.best.meanAccuracy < 0.65, `grouped CV is near chance: ${grouped.best.meanAccuracy}`);
  assert.equal(grouped.outOfFold!.rows, X.rows);
  for (let i = 0; i < X.rows; i++)
    assert.ok(Math.abs(grouped.outOfFold!.data[2 * i]! + grouped.outOfFold!.data[2 * i + 1]! - 1) < 1e-5);
});

test('confident learning flags the flipped labels of separable classes, with the class they belong to', () => {
  const random = mulberry32(2);
  const n = 200;
  const truth = Int32Array.from({ length: n }, (_, i) => i % 3);
  const X: Matrix = matrixFromRows(
    Array.from(truth, (c) => Array.from({ length: 6 }, (_, j) => (j === c ? 6 : 0) + gaussian(random))),
  );
  const y = Int32Array.from(truth);
  const flipped = [5, 17, 42, 99, 150];
  for (const i of flipped) y[i] = (truth[i]! + 1) % 3;
  const cv = crossValidate([{ id: 'C=1', X, options: { kind: 'logistic', C: 1 } }], y, {
    folds: 5,
    seed: 0,
    outOfFold: true,
  });
  const issues = findLabelIssues(cv.outOfFold!, y);
  const top = issues.slice(0, flipped.length).map((i) => i.row);
  assert.ok(top.filter((r) => flipped.includes(r)).length >= 4, `at least 4 of the 5 flips rank first: ${top}`);
  for (const issue of issues.filter((i) => flipped.includes(i.row))) {
    assert.equal(issue.suggested, truth[issue.row], 'suggested: the true class');
    assert.equal(issue.given, y[issue.row]);
    assert.ok(issue.score > 0 && issue.score <= 1);
  }
});

test('outliers: an image far less similar to its neighbours than the rest is flagged, the others are not', () => {
  const random = mulberry32(6);
  const similarity = Float32Array.from({ length: 200 }, () => 0.75 + 0.03 * gaussian(random));
  similarity[13] = 0.4;
  const outliers = findOutliers(similarity);
  assert.deepEqual(
    outliers.map((o) => o.row),
    [13],
  );
  assert.ok(outliers[0]!.score >= 0.5 && outliers[0]!.score <= 1);
});

test('the 2-D map finds the two directions of largest variance, whatever their scale', () => {
  const random = mulberry32(8);
  const rows = Array.from({ length: 500 }, () => {
    const a = 5 * gaussian(random);
    const b = 2 * gaussian(random);
    // Variance 25 along (1,1,0,…)/√2, 4 along (0,0,1,0,…), noise 0.01 elsewhere.
    return Array.from(
      { length: 12 },
      (_, t) => (t < 2 ? a / Math.SQRT2 : t === 2 ? b : 0) + 0.1 * gaussian(random) + 3,
    );
  });
  const X = matrixFromRows(rows);
  const map = principalMap(X.data, X.rows, X.cols, { sampleSize: 300 });
  const corr = (u: number[], v: number[]) => {
    const mu = u.reduce((s, x) => s + x, 0) / u.length;
    const mv = v.reduce((s, x) => s + x, 0) / v.length;
    let suv = 0,
      suu = 0,
      svv = 0;
    u.forEach((x, i) => {
      suv += (x - mu) * (v[i]! - mv);
      suu += (x - mu) ** 2;
      svv += (v[i]! - mv) ** 2;
    });
    return suv / Math.sqrt(suu * svv);
  };
  const first = Array.from({ length: 500 }, (_, i) => map.points[2 * i]!);
  const second = Array.from({ length: 500 }, (_, i) => map.points[2 * i + 1]!);
  assert.ok(
    Math.abs(
      corr(
        first,
        rows.map((r) => r[0]! + r[1]!),
      ),
    ) > 0.99,
    'first axis: the (1,1) direction',
  );
  assert.ok(
    Math.abs(
      corr(
        second,
        rows.map((r) => r[2]!),
      ),
    ) > 0.99,
    'second axis: the third coordinate',
  );
  assert.ok(map.explained[0] > 0.8 && map.explained[1] > 0.1 && map.explained[0] + map.explained[1] <= 1);
});

test('held-out × train with train streamed in uneven blocks finds the pairs of train held whole, cosines equal', async () => {
  const { X } = codesWithCopies(90, 37, 30, 2, 0.15, 5);
  const codes = normalizedRows(X.data, X.rows, X.cols);
  const held = codes.subarray(0, 40 * X.cols);
  const train = codes.subarray(40 * X.cols);
  const nTrain = X.rows - 40;
  const cuts = [0, 13, 14, 31, 64, nTrain];
  async function* blocks() {
    for (let b = 0; b + 1 < cuts.length; b++)
      yield { offset: cuts[b]!, codes: train.slice(cuts[b]! * X.cols, cuts[b + 1]! * X.cols) };
  }
  const options = { threshold: 0.9, topK: 2 };
  const streamed = await similarPairsAcrossBlocks(held, X.cols, options, blocks(), 11);
  const whole = await similarPairsByGemm(held, X.cols, options, train, { rows: 11, cols: 13 });
  assert.ok(streamed.length > 5, `${streamed.length} pairs`);
  assert.deepEqual(
    streamed.map((p) => `${p.i},${p.j}`),
    similarPairs(held, X.cols, options, train).map((p) => `${p.i},${p.j}`),
  );
  assert.deepEqual(
    streamed.map((p) => [p.i, p.j]),
    whole.map((p) => [p.i, p.j]),
  );
});

test('a code map fitted on its sample and projected in blocks is the map of every row held at once, bit for bit', () => {
  const { X } = codesWithCopies(150, 24, 10, 1, 0.2, 9);
  const whole = principalMap(X.data, X.rows, X.cols, { sampleSize: 60, seed: 4 });
  const { sample, random } = principalSample(X.rows, { sampleSize: 60, seed: 4 });
  const sampled = new Float64Array(sample.length * X.cols);
  sample.forEach((r, s) => sampled.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), s * X.cols));
  const axes = fitPrincipalAxes(sampled, sample.length, X.cols, random);
  const points = new Float32Array(X.rows * 2);
  for (const [from, to] of [
    [100, 160],
    [0, 37],
    [37, 100],
  ] as const)
    projectRows(
      axes,
      X.data.subarray(from * X.cols, Math.min(to, X.rows) * X.cols),
      Math.min(to, X.rows) - from,
      X.cols,
      points,
      from,
    );
  assert.deepEqual(points, whole.points);
  assert.deepEqual(axes.explained, whole.explained);
  assert.ok(whole.explained[0] > 0);
});
