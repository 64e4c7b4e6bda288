import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../core/errors.js';
import { stratifiedKFold } from '../../../core/heads/folds.js';
import { createHead, crossValidate, loadHead } from '../../../core/heads/index.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { inMemoryRows, streamedRows, type RowShard, type RowSource } from '../../../core/heads/row-source.js';
import { crossValidateStreamed, fitStreamed } from '../../../core/heads/streamed-logistic.js';

/** Overlapping classes with a large common offset (like ReLU codes): the float32 path must centre before its GEMMs. */
function codes(n: number, d: number, k: number, seed: number): { X: Float32Array; y: Int32Array } {
  const random = mulberry32(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % k);
  const X = Float32Array.from(
    { length: n * d },
    (_, p) => 3 + 2 * random() + (Math.floor(p / d) % k === (p % d) % k ? 0.7 : 0),
  );
  return { X, y };
}

const asMatrix = (X: Float32Array, d: number) => ({ rows: X.length / d, cols: d, data: Float64Array.from(X) });

function maxDifference(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
}

test('the streamed fit (float32 rows, ONNX GEMM) reaches the in-memory float64 optimum: binary, multinomial, balanced', async () => {
  const d = 20;
  for (const k of [2, 4]) {
    const { X, y } = codes(600, d, k, k);
    for (const classWeight of [null, 'balanced'] as const) {
      const expected = createHead({ kind: 'logistic', C: 0.5, classWeight }).fit(asMatrix(X, d), y).toJSON();
      const { head } = await fitStreamed(inMemoryRows(X, y, d, 64), 0.5, { classWeight });
      assert.ok(
        maxDifference(head.weights, expected.weights) < 1e-5,
        `k=${k} ${classWeight}: weights ${maxDifference(head.weights, expected.weights)}`,
      );
      assert.ok(maxDifference([head.intercepts], [expected.intercepts]) < 1e-5);
      assert.ok(
        maxDifference(
          [head.standardizer.mean, head.standardizer.scale],
          [expected.standardizer.mean, expected.standardizer.scale],
        ) < 1e-9,
      );
      assert.equal(head.fit.converged, true);
      assert.equal(loadHead(head).nClasses, k, 'the JSON loads as a head');
    }
  }
});

test("streamed cross-validation gives crossValidate's table on the same folds, and refits the best C", async () => {
  const d = 12;
  const { X, y } = codes(400, d, 3, 7);
  const Cs = [1e-3, 1e-2, 1e-1, 1];
  const foldOf = new Int32Array(y.length);
  stratifiedKFold(y, 5, 0).forEach((split, f) =>
    split.test.forEach((i) => {
      foldOf[i] = f;
    }),
  );
  const streamed = await crossValidateStreamed(inMemoryRows(X, y, d, 50), Cs, foldOf, 5);
  const expected = crossValidate(
    Cs.map((C) => ({ id: String(C), X: asMatrix(X, d), options: { kind: 'logistic' as const, C } })),
    y,
    { folds: 5, seed: 0 },
  );
  streamed.table.forEach((row, i) => {
    const ref = expected.table[i]!;
    assert.equal(row.C, ref.C);
    row.foldAccuracies.forEach((a, f) => assert.equal(a, ref.foldAccuracies[f]));
    // Both stop at tol 1e-4 from different warm starts: equal optima to about that precision.
    assert.ok(
      Math.abs(row.meanLogLoss - ref.meanLogLoss!) < 1e-4,
      `C=${row.C}: log-loss ${row.meanLogLoss} vs ${ref.meanLogLoss}`,
    );
  });
  assert.equal(streamed.best.C, expected.best.C);
  // The refit starts from the folds' mean solution, so it stops (at tol 1e-4) elsewhere than a cold fit: compare
  // what the two heads predict rather than their coefficients.
  const refit = createHead({ kind: 'logistic', C: streamed.best.C }).fit(asMatrix(X, d), y);
  const probabilities = (h: { predictProba: (X: ReturnType<typeof asMatrix>) => { data: Float64Array } }) =>
    Array.from(h.predictProba(asMatrix(X, d)).data);
  const gap = maxDifference([probabilities(loadHead(streamed.head))], [probabilities(refit)]);
  assert.ok(gap < 1e-3, `refit probabilities differ by ${gap}`);
  assert.ok(streamed.passes > Cs.length, 'passes are counted');
});

test('streamed shards give the rows of the in-memory source in order, chunks crossing shard boundaries', async () => {
  const d = 3;
  const { X, y } = codes(23, d, 2, 1);
  const cuts = [0, 5, 6, 23];
  const reads: string[] = [];
  const shards: RowShard[] = cuts.slice(1).map((end, s) => ({
    rows: end - cuts[s]!,
    read: async (start, count) => {
      reads.push(`${s}:${start}+${count}`);
      return X.slice((cuts[s]! + start) * d, (cuts[s]! + start + count) * d);
    },
  }));
  const collect = async (source: RowSource) => {
    const rows: number[] = [];
    const offsets: number[] = [];
    for await (const chunk of source.chunks()) {
      offsets.push(chunk.offset);
      rows.push(...chunk.X.subarray(0, chunk.rows * d));
      assert.deepEqual(Array.from(chunk.y), Array.from(y.subarray(chunk.offset, chunk.offset + chunk.rows)));
    }
    return { rows, offsets };
  };
  const streamed = await collect(streamedRows(shards, y, d, 4));
  assert.deepEqual(streamed.rows, Array.from(X));
  assert.deepEqual(streamed.offsets, [0, 4, 5, 6, 10, 14, 18, 22]);
  assert.deepEqual(reads, ['0:0+4', '0:4+1', '1:0+1', '2:0+4', '2:4+4', '2:8+4', '2:12+4', '2:16+1']);
  assert.deepEqual((await collect(inMemoryRows(X, y, d, 4))).rows, Array.from(X));
  assert.throws(() => streamedRows(shards, y.subarray(1), d), ConfigError);
});

test('bad inputs are ConfigErrors that say what is wrong', async () => {
  const { X, y } = codes(20, 2, 2, 3);
  assert.throws(() => inMemoryRows(X, y, 3), /40 values but 20 labels × 3 dims/);
  assert.throws(
    () =>
      inMemoryRows(
        X,
        Int32Array.from(y, (v) => v - 1),
        2,
      ),
    /labels must be integers/,
  );
  await assert.rejects(fitStreamed(inMemoryRows(X, y, 2), 0), /C must be/);
  await assert.rejects(fitStreamed(inMemoryRows(X, new Int32Array(20), 2), 1), /only 1 class/);
  await assert.rejects(
    fitStreamed(
      inMemoryRows(
        X,
        Int32Array.from(y, (v) => v * 2),
        2,
      ),
      1,
    ),
    /class 1 has no rows/,
  );
});
