import { strongWolfeSteps } from './line-search.js';
import { DEFAULT_MAX_ITER } from './params.js';

/** Writes ∇f(x) into `gradient` and returns f(x). */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when max |∂f/∂xᵢ| ≤ gradTol (scipy's `gtol`, which scikit-learn sets to its `tol`). */
  gradTol?: number;
  /** Stop when (f_k − f_{k+1}) ≤ relFuncTol · max(|f_k|, |f_{k+1}|, 1) (scipy's `ftol`; scikit-learn uses 64·ε). */
  relFuncTol?: number;
  maxIter?: number;
  /** Number of (s, y) pairs kept. */
  history?: number;
}

export type StopReason = 'gradient' | 'function' | 'max-iter' | 'line-search';

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: StopReason;
}

export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const steps = lbfgsSteps(x0, options);
  let next = steps.next();
  while (!next.done) next = steps.next(objective(next.value.x, next.value.gradient));
  return next.value;
}

/** One evaluation L-BFGS asks for: write ∇f(x) into `gradient` and resume the solver with f(x). */
export interface EvaluationRequest {
  x: Float64Array;
  gradient: Float64Array;
}

export type LbfgsSteps = Generator<EvaluationRequest, LbfgsResult, number>;

/**
 * L-BFGS as a coroutine: it yields each point it needs f and ∇f at. `minimizeLbfgs` answers synchronously; the
 * streaming heads answer after an asynchronous pass over the rows, and answer many solvers (folds) from one pass.
 * The arithmetic is the same either way, so both give the same iterates.
 */
export function* lbfgsSteps(x0: Float64Array, options: LbfgsOptions = {}): LbfgsSteps {
  const gradTol = options.gradTol ?? 1e-5;
  const relFuncTol = options.relFuncTol ?? 64 * Number.EPSILON;
  const maxIter = options.maxIter ?? DEFAULT_MAX_ITER;
  const m = options.history ?? 10;
  const n = x0.length;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let xTrial = new Float64Array(n);
  let gTrial = new Float64Array(n);
  const p = new Float64Array(n);
  const s: Float64Array[] = [];
  const yv: Float64Array[] = [];
  const rho: number[] = [];
  const alphas = new Float64Array(m);

  let value = yield { x, gradient: g };
  let evaluations = 1;
  let iterations = 0;
  const result = (reason: StopReason): LbfgsResult => ({
    x,
    value,
    iterations,
    evaluations,
    reason,
    converged: reason === 'gradient' || reason === 'function',
  });
  if (maxAbs(g) <= gradTol) return result('gradient');

  while (iterations < maxIter) {
    twoLoopDirection(g, s, yv, rho, alphas, p);
    let slope = dot(g, p);
    if (!(slope < 0)) {
      s.length = yv.length = rho.length = 0;
      for (let i = 0; i < n; i++) p[i] = -g[i]!;
      slope = dot(g, p);
    }
    // Without curvature information a unit step is arbitrary: scale the first one to length 1 like scipy does.
    const alphaInit = s.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    const phi = function* (alpha: number): Generator<EvaluationRequest, { value: number; slope: number }, number> {
      for (let i = 0; i < n; i++) xTrial[i] = x[i]! + alpha * p[i]!;
      const v = yield { x: xTrial, gradient: gTrial };
      return { value: v, slope: dot(gTrial, p) };
    };
    const search = strongWolfeSteps(value, slope, alphaInit, { maxEvaluations: 50 });
    let step = search.next();
    while (!step.done) step = search.next(yield* phi(step.value));
    const ls = step.value;
    evaluations += ls.evaluations;
    if (!ls.ok && !(ls.alpha > 0)) {
      if (s.length > 0) {
        s.length = yv.length = rho.length = 0;
        continue;
      }
      return result('line-search');
    }
    if (!ls.lastEvaluated) {
      yield* phi(ls.alpha);
      evaluations++;
    }
    iterations++;
    const sNew = s.length === m ? s.shift()! : new Float64Array(n);
    const yNew = yv.length === m ? yv.shift()! : new Float64Array(n);
    if (rho.length === m) rho.shift();
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      sNew[i] = xTrial[i]! - x[i]!;
      yNew[i] = gTrial[i]! - g[i]!;
      sy += sNew[i]! * yNew[i]!;
      yy += yNew[i]! * yNew[i]!;
    }
    if (sy > 1e-10 * yy) {
      s.push(sNew);
      yv.push(yNew);
      rho.push(1 / sy);
    }
    const previous = value;
    [x, xTrial] = [xTrial, x];
    [g, gTrial] = [gTrial, g];
    value = ls.value;
    if (maxAbs(g) <= gradTol) return result('gradient');
    if (previous - value <= relFuncTol * Math.max(Math.abs(previous), Math.abs(value), 1)) return result('function');
  }
  return result('max-iter');
}

/** p = −H·g with the usual L-BFGS two-loop recursion and H₀ = (sᵀy / yᵀy)·I. */
function twoLoopDirection(
  g: Float64Array,
  s: Float64Array[],
  y: Float64Array[],
  rho: number[],
  alphas: Float64Array,
  p: Float64Array,
): void {
  const n = g.length;
  for (let i = 0; i < n; i++) p[i] = -g[i]!;
  const k = s.length;
  for (let j = k - 1; j >= 0; j--) {
    const a = rho[j]! * dot(s[j]!, p);
    alphas[j] = a;
    axpy(-a, y[j]!, p);
  }
  if (k > 0) {
    const yl = y[k - 1]!;
    const gamma = 1 / (rho[k - 1]! * dot(yl, yl));
    for (let i = 0; i < n; i++) p[i]! *= gamma;
  }
  for (let j = 0; j < k; j++) {
    const b = rho[j]! * dot(y[j]!, p);
    axpy(alphas[j]! - b, s[j]!, p);
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += a * x[i]!;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
  }
  return m;
}
