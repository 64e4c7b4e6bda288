import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gramSimd } from '../../../core/heads/gram-simd.js';
import { gram, gramScalar } from '../../../core/heads/matrix.js';
import { mulberry32 } from '../../../core/heads/prng.js';

test('the WebAssembly SIMD Gram matrix equals the scalar one: odd widths, row counts off the 3-row tiles, growing memory', () => {
  const random = mulberry32(3);
  // Last: a matrix larger than every earlier one, so the module's memory has to grow between calls.
  for (const [n, d] of [
    [1, 1],
    [2, 3],
    [7, 5],
    [10, 1280],
    [31, 1281],
    [200, 1280],
  ] as const) {
    const X = { rows: n, cols: d, data: Float64Array.from({ length: n * d }, () => 4 * random() - 1) };
    const simd = gramSimd(X);
    assert.ok(simd, 'Node 24 has WebAssembly SIMD: the fast path must not silently fall back');
    const scalar = gramScalar(X);
    assert.equal(simd.rows, n);
    assert.equal(simd.cols, n);
    simd.data.forEach((v, i) =>
      assert.ok(
        Math.abs(v - scalar.data[i]!) <= 1e-12 * (1 + Math.abs(scalar.data[i]!)),
        `${n}×${d}: entry ${i}: ${v} vs ${scalar.data[i]}`,
      ),
    );
    assert.deepEqual(gram(X).data, simd.data, 'gram uses the SIMD path');
  }
});
