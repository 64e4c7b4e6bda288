import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../core/heads/prng.js';
import { memoryRows, searchByCells } from '../../../core/quality/cell-search.js';
import { normalizedRows, searchSimilar } from '../../../core/quality/near-duplicates.js';

/**
 * Non-negative codes around a few class centres (a large common direction, as ReLU codes have), every 10th row a
 * noisy copy of the row before, with noise spread so the copies' cosines straddle the threshold.
 */
function clusteredCodes(n: number, d: number, seed = 5): Float32Array {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: 8 }, () => Float64Array.from({ length: d }, () => Math.max(0, gauss())));
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const copy = i % 10 === 9;
    const centre = centres[Math.floor(random() * centres.length)]!;
    const noise = 0.1 + 0.5 * random();
    for (let t = 0; t < d; t++)
      X[i * d + t] = copy ? Math.max(0, X[(i - 1) * d + t]! + noise * gauss()) : Math.max(0, centre[t]! + gauss());
  }
  return X;
}

const pairIds = (pairs: ReadonlyArray<{ i: number; j: number }>) => pairs.map((p) => `${p.i},${p.j}`);

test('with no more rows than a cell holds, the cell search is the exact search: same pairs, same order', async () => {
  const d = 24;
  const X = clusteredCodes(300, d);
  const exact = searchSimilar(normalizedRows(X, 300, d), d, { threshold: 0.9, neighbours: 5 });
  const cells = await searchByCells(memoryRows(X, d), { threshold: 0.9, neighbours: 5, cellRows: 1000 });
  assert.equal(cells.cells, 1);
  assert.ok(exact.pairs.length > 10, `${exact.pairs.length} pairs to find`);
  assert.deepEqual(pairIds(cells.pairs), pairIds(exact.pairs));
  cells.pairs.forEach((p, k) => assert.ok(Math.abs(p.cosine - exact.pairs[k]!.cosine) < 1e-5));
  exact.neighbourSimilarity!.forEach((s, i) => assert.ok(Math.abs(s - cells.neighbourSimilarity![i]!) < 1e-5));
});

test('over many cells the search finds nearly every pair the exact search finds, and only real ones, comparing far fewer', async () => {
  const d = 32;
  const n = 4000;
  const X = clusteredCodes(n, d);
  const exact = searchSimilar(normalizedRows(X, n, d), d, { threshold: 0.9 });
  const cells = await searchByCells(memoryRows(X, d), { threshold: 0.9, cellRows: 250, budgetBytes: 64 * 1024 });
  assert.equal(cells.cells, 16);
  const found = new Set(pairIds(cells.pairs));
  const recall = pairIds(exact.pairs).filter((id) => found.has(id)).length / exact.pairs.length;
  assert.ok(exact.pairs.length > 200, `${exact.pairs.length} pairs to find`);
  assert.ok(recall >= 0.95, `recall ${recall}`);
  const real = new Set(pairIds(exact.pairs));
  assert.deepEqual(
    pairIds(cells.pairs).filter((id) => !real.has(id)),
    [],
    'no pair below the threshold',
  );
  assert.ok(cells.compared < (n * (n - 1)) / 2 / 3, `${cells.compared} pairs compared`);
});
