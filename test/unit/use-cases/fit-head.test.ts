import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../core/heads/prng.js';
import { inMemoryRows } from '../../../core/heads/row-source.js';
import { fitHead, resolveSearch, type TrainingRows } from '../../../core/use-cases/fit-head.js';

/** Three overlapping classes, the rows stored in reverse (the source's order is not the labels' order). */
function rows(n: number, d: number): TrainingRows {
  const random = mulberry32(3);
  const labels = Int32Array.from({ length: n }, (_, i) => (i < n - 4 ? i % 2 : 2));
  const X = Float32Array.from({ length: n * d }, (_, p) => random() + (p % d === labels[Math.floor(p / d)]! ? 0.8 : 0));
  const order = Int32Array.from({ length: n }, (_, r) => n - 1 - r);
  const reversed = (keep: Int32Array) => {
    const stored = Array.from(keep).reverse();
    const Xs = new Float32Array(stored.length * d);
    stored.forEach((i, r) => Xs.set(X.subarray(i * d, (i + 1) * d), r * d));
    const ys = Int32Array.from(stored, (i) => labels[i]!);
    // order maps the subset source's rows to positions in `keep`.
    return { rows: inMemoryRows(Xs, ys, d, 32), order: Int32Array.from(stored, (_, r) => stored.length - 1 - r) };
  };
  const all = reversed(Int32Array.from({ length: n }, (_, i) => i));
  return { layers: [{ layer: 'final', rows: all.rows, order, subset: reversed }], labels };
}

test('fitHead: in memory and streamed take the same folds (k lowered for a class of 4), pick the same C, keep out-of-fold probabilities in label order, and refit without the excluded rows', async () => {
  const data = rows(160, 6);
  const search = resolveSearch({ folds: 5, C: undefined });
  const excludeFirst = (outOfFold: unknown) => {
    assert.ok(outOfFold, 'the exclusion sees the out-of-fold probabilities');
    return new Set([0, 1]);
  };
  const options = { outOfFold: true, exclude: excludeFirst };
  const inMemory = await fitHead(data, search, { ...options, streamedMinValues: Infinity });
  const streamed = await fitHead(data, search, { ...options, streamedMinValues: 0 });
  assert.match(inMemory.cv!.engine!, /in memory/);
  assert.match(streamed.cv!.engine!, /^streamed float32, ONNX GEMM, \d+ passes, out-of-fold probabilities kept$/);
  assert.equal(inMemory.cv!.folds, 4);
  assert.equal(streamed.cv!.folds, 4);
  assert.equal(streamed.chosen.C, inMemory.chosen.C);
  streamed.cv!.table.forEach((row, i) => {
    assert.equal(row.id, inMemory.cv!.table[i]!.id);
    assert.deepEqual(row.foldAccuracies, inMemory.cv!.table[i]!.foldAccuracies, `C=${row.C}`);
  });
  const a = inMemory.outOfFold!.data;
  const b = streamed.outOfFold!.data;
  assert.ok(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) < 0.02, 'out-of-fold probabilities in the same order');
  for (const fit of [inMemory, streamed]) {
    assert.deepEqual(fit.excluded, [0, 1]);
    assert.equal(fit.trainedOn, 158);
  }
  const gap = Math.max(...inMemory.head.weights[0]!.map((w, j) => Math.abs(w - streamed.head.weights[0]![j]!)));
  assert.ok(gap < 1e-3, `refits on the kept rows agree (${gap})`);
});

test('fitHead: one candidate without out-of-fold probabilities is fitted without CV, on either engine', async () => {
  const data = rows(60, 4);
  for (const streamedMinValues of [Infinity, 0]) {
    const fit = await fitHead(data, resolveSearch({ C: 0.1 }), { streamedMinValues });
    assert.equal(fit.cv, null);
    assert.equal(fit.outOfFold, undefined);
    assert.deepEqual(fit.chosen, { layer: 'final', kind: 'logistic', C: 0.1 });
    assert.equal(fit.head.options.C, 0.1);
  }
});
