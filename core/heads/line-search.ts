/**
 * Line search for the strong Wolfe conditions (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithms 3.5 and
 * 3.6, with safeguarded cubic interpolation in the zoom phase).
 */

/** φ(α) = f(x + α·p) and its slope φ'(α) = ∇f(x + α·p)·p. */
export type LineFunction = (alpha: number) => { value: number; slope: number };

export interface LineSearchResult {
  alpha: number;
  value: number;
  slope: number;
  evaluations: number;
  /** true when the strong Wolfe conditions hold at `alpha`; false means the best point found is returned. */
  ok: boolean;
  /** true when `alpha` is the last point φ was evaluated at (so caller-side buffers hold its gradient). */
  lastEvaluated: boolean;
}

export interface LineSearchOptions {
  c1?: number;
  c2?: number;
  maxEvaluations?: number;
  alphaMax?: number;
}

export function strongWolfeLineSearch(
  phi: LineFunction,
  value0: number,
  slope0: number,
  alphaInit: number,
  options: LineSearchOptions = {},
): LineSearchResult {
  const steps = strongWolfeSteps(value0, slope0, alphaInit, options);
  let next = steps.next();
  while (!next.done) next = steps.next(phi(next.value));
  return next.value;
}

/**
 * The same search as a coroutine: it yields each step length α it wants evaluated and is resumed with φ(α). The
 * caller decides how (and when) φ is computed, so one search can wait on an asynchronous pass over streamed rows.
 */
export type LineSearchSteps = Generator<number, LineSearchResult, { value: number; slope: number }>;

export function* strongWolfeSteps(
  value0: number,
  slope0: number,
  alphaInit: number,
  options: LineSearchOptions = {},
): LineSearchSteps {
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const maxEvaluations = options.maxEvaluations ?? 40;
  const alphaMax = options.alphaMax ?? 1e10;
  let evaluations = 0;
  let best = { alpha: 0, value: value0, slope: slope0 };
  const evaluate = function* (
    alpha: number,
  ): Generator<number, { value: number; slope: number }, { value: number; slope: number }> {
    evaluations++;
    const r = yield alpha;
    if (r.value < best.value) best = { alpha, value: r.value, slope: r.slope };
    return r;
  };
  const done = (alpha: number, value: number, slope: number): LineSearchResult => ({
    alpha,
    value,
    slope,
    evaluations,
    ok: true,
    lastEvaluated: true,
  });

  let prev = { alpha: 0, value: value0, slope: slope0 };
  let alpha = Math.min(alphaInit, alphaMax);
  for (let i = 0; evaluations < maxEvaluations; i++) {
    const cur = yield* evaluate(alpha);
    if (!Number.isFinite(cur.value)) {
      alpha = prev.alpha + (alpha - prev.alpha) / 10;
      continue;
    }
    if (cur.value > value0 + c1 * alpha * slope0 || (i > 0 && cur.value >= prev.value)) {
      return yield* zoom(prev, { alpha, ...cur });
    }
    if (Math.abs(cur.slope) <= -c2 * slope0) return done(alpha, cur.value, cur.slope);
    if (cur.slope >= 0) return yield* zoom({ alpha, ...cur }, prev);
    prev = { alpha, ...cur };
    if (alpha >= alphaMax) break;
    alpha = Math.min(alpha * 4, alphaMax);
  }
  return fail();

  function fail(): LineSearchResult {
    return { ...best, evaluations, ok: false, lastEvaluated: false };
  }

  function* zoom(lo: Point, hi: Point): LineSearchSteps {
    while (evaluations < maxEvaluations) {
      const alphaJ = interpolate(lo, hi);
      if (alphaJ === lo.alpha || alphaJ === hi.alpha) break;
      const cur = yield* evaluate(alphaJ);
      if (cur.value > value0 + c1 * alphaJ * slope0 || cur.value >= lo.value) {
        hi = { alpha: alphaJ, ...cur };
      } else {
        if (Math.abs(cur.slope) <= -c2 * slope0) return done(alphaJ, cur.value, cur.slope);
        if (cur.slope * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = { alpha: alphaJ, ...cur };
      }
    }
    return fail();
  }
}

interface Point {
  alpha: number;
  value: number;
  slope: number;
}

/** Minimizer of the cubic through two points with slopes, kept at least 10 % away from either end. */
function interpolate(a: Point, b: Point): number {
  const lo = Math.min(a.alpha, b.alpha);
  const hi = Math.max(a.alpha, b.alpha);
  const margin = 0.1 * (hi - lo);
  const d1 = a.slope + b.slope - (3 * (a.value - b.value)) / (a.alpha - b.alpha);
  const disc = d1 * d1 - a.slope * b.slope;
  if (disc >= 0) {
    const d2 = Math.sign(b.alpha - a.alpha) * Math.sqrt(disc);
    const t = b.alpha - (b.alpha - a.alpha) * ((b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2));
    if (Number.isFinite(t) && t >= lo + margin && t <= hi - margin) return t;
  }
  return (lo + hi) / 2;
}
