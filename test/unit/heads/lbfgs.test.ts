import { test } from 'node:test';
import assert from 'node:assert/strict';
import { minimizeLbfgs } from '../../../core/heads/lbfgs.js';
import { strongWolfeLineSearch } from '../../../core/heads/line-search.js';

test('L-BFGS finds the minimum of an ill-conditioned quadratic', () => {
  // f(x) = ½ Σ aᵢ (xᵢ − cᵢ)², condition number 1e4.
  const a = [1, 10, 100, 1000, 10000];
  const c = [1, -2, 3, -4, 5];
  const result = minimizeLbfgs(
    (x, g) => {
      let f = 0;
      for (let i = 0; i < 5; i++) {
        const r = x[i]! - c[i]!;
        f += 0.5 * a[i]! * r * r;
        g[i] = a[i]! * r;
      }
      return f;
    },
    new Float64Array(5),
    { gradTol: 1e-10, relFuncTol: 0, maxIter: 500 },
  );
  assert.equal(result.reason, 'gradient');
  result.x.forEach((v, i) => assert.ok(Math.abs(v - c[i]!) < 1e-9, `x[${i}] = ${v}`));
});

/** Rosenbrock's banana: minimum 0 at (1, 1); its value, with the gradient written into g. */
function rosenbrock(x: Float64Array, g: Float64Array): number {
  const [u, v] = [x[0]!, x[1]!];
  g[0] = -2 * (1 - u) - 400 * u * (v - u * u);
  g[1] = 200 * (v - u * u);
  return (1 - u) ** 2 + 100 * (v - u * u) ** 2;
}

test('L-BFGS converges on the Rosenbrock function from (−1.2, 1)', () => {
  const result = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { gradTol: 1e-9, maxIter: 1000 });
  assert.equal(result.reason, 'gradient');
  assert.ok(Math.abs(result.x[0]! - 1) < 1e-6 && Math.abs(result.x[1]! - 1) < 1e-6, `ended at ${result.x}`);
  assert.ok(result.iterations < 100, `${result.iterations} iterations`);
});

test('L-BFGS stops at maxIter and says so', () => {
  const result = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { gradTol: 1e-12, maxIter: 3 });
  assert.equal(result.reason, 'max-iter');
  assert.equal(result.converged, false);
  assert.equal(result.iterations, 3);
});

test('line search returns a step that satisfies the strong Wolfe conditions', () => {
  // φ(α) = (α − 3)² + sin(4α): several local minima along the line.
  const phi = (a: number) => ({ value: (a - 3) ** 2 + Math.sin(4 * a), slope: 2 * (a - 3) + 4 * Math.cos(4 * a) });
  const p0 = phi(0);
  const c1 = 1e-4;
  const c2 = 0.9;
  for (const start of [0.1, 1, 10]) {
    const r = strongWolfeLineSearch(phi, p0.value, p0.slope, start, { c1, c2 });
    assert.equal(r.ok, true);
    assert.ok(r.value <= p0.value + c1 * r.alpha * p0.slope, 'sufficient decrease');
    assert.ok(Math.abs(r.slope) <= -c2 * p0.slope, 'curvature');
  }
});
