import { ConfigError } from '../errors.js';
import { classWeights, type ClassWeight } from './class-weight.js';
import { dualCoordinateDescent, type DualOps, type DualProblem } from './dual-cd.js';
import { minimizeLbfgs } from './lbfgs.js';
import { LinearClassifier } from './linear-model.js';
import { zeros, type Matrix } from './matrix.js';
import { mulberry32 } from './prng.js';
import { squaredHingeObjective } from './squared-hinge.js';
import { TrainingSet } from './training-set.js';
import { checkParameters, SVM_PARAMETERS, withDefaults, type Resolved } from './params.js';
import { checkTrainingSet } from './validate.js';

export type SvmLoss = 'squared-hinge' | 'hinge';

export interface SvmParams {
  C: number;
  classWeight?: ClassWeight;
  /** Stopping tolerance on the projected-gradient spread, liblinear's eps (scikit-learn LinearSVC tol). */
  tol?: number;
  /** Dual: passes over the data per binary subproblem; primal: L-BFGS iterations. */
  maxIter?: number;
  loss?: SvmLoss;
  seed?: number;
  /**
   * Solve the dual (coordinate descent) or the primal (L-BFGS, squared hinge only). 'auto', scikit-learn's default
   * rule: dual when n < d or for the hinge loss, primal otherwise (dual coordinate descent crawls when n ≫ d).
   */
  dual?: boolean | 'auto';
}

/**
 * Linear SVM as scikit-learn's LinearSVC: one-vs-rest (one subproblem with class 1 positive when k = 2),
 * intercept learned as the weight of a constant feature 1 (intercept_scaling = 1, so the intercept is penalized like
 * liblinear's). Solved in the dual by coordinate descent (n < d, or hinge loss) or in the primal by L-BFGS (squared
 * hinge with n ≥ d): both reach the same optimum, see `dual`. Class weights follow liblinear too: with k = 2 each class gets its weight; in one-vs-rest only the
 * positive class of each subproblem is weighted and the rest keep C (verified against scikit-learn 1.9).
 */
export class LinearSVC extends LinearClassifier {
  protected readonly estimatorName = 'LinearSVC';
  readonly params: Resolved<typeof SVM_PARAMETERS>;
  nIter = 0;
  converged = false;
  private dualState: { set: TrainingSet; useGram: boolean; alphas: Float64Array[] } | null = null;
  private primalState: { set: TrainingSet; theta: Float64Array } | null = null;

  constructor(params: SvmParams) {
    super();
    this.params = withDefaults(SVM_PARAMETERS, params);
  }

  fit(X: Matrix, y: Int32Array): this {
    this.checkParams();
    return this.fitTrainingSet(new TrainingSet(X, y, checkTrainingSet(X, y)));
  }

  /**
   * Fit on a prepared set. With `useGram` the coordinate steps run on the set's Gram matrix (worth it when n < d and the
   * Gram is shared by several fits); `warmStart` reuses the solution of a fit on the same set with a smaller C.
   */
  fitTrainingSet(set: TrainingSet, opts: { useGram?: boolean; warmStart?: LinearSVC } = {}): this {
    this.checkParams();
    const { loss, dual } = this.params;
    const useGram = opts.useGram ?? false;
    const solveDual = dual === 'auto' ? loss === 'hinge' || useGram || set.n < set.d : dual;
    if (!solveDual && loss === 'hinge')
      throw new ConfigError("the hinge loss is only solved in the dual: use dual true or 'auto'");
    return solveDual ? this.fitDual(set, useGram, opts.warmStart) : this.fitPrimal(set, opts.warmStart);
  }

  private fitPrimal(set: TrainingSet, warmStart: LinearSVC | undefined): this {
    const { C, tol, maxIter } = this.params;
    const { X, y, nClasses: k } = set;
    const { rows: n, cols: d } = X;
    const positives = positiveClasses(k);
    const m = positives.length;
    const weights = classWeights(y, k, this.params.classWeight);
    const targets = new Float64Array(n * m);
    const costs = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      positives.forEach((positive, c) => {
        const isPositive = y[i] === positive;
        targets[i * m + c] = isPositive ? 1 : -1;
        costs[i * m + c] = isPositive || k === 2 ? weights[y[i]!]! : 1;
      });
    }
    const warm = warmStart?.primalState?.set === set ? warmStart.primalState.theta : new Float64Array(m * d + m);
    const result = minimizeLbfgs(squaredHingeObjective(X, targets, costs, m, C), warm, { gradTol: tol, maxIter });
    this.state = {
      coef: { rows: m, cols: d, data: result.x.slice(0, m * d) },
      intercept: result.x.slice(m * d),
      nClasses: k,
    };
    this.nIter = result.iterations;
    this.converged = result.converged;
    this.primalState = { set, theta: result.x };
    this.dualState = null;
    return this;
  }

  private fitDual(set: TrainingSet, useGram: boolean, warmStart: LinearSVC | undefined): this {
    const { C, loss, tol, maxIter, seed } = this.params;
    const { X, y, nClasses: k } = set;
    const { rows: n, cols: d } = X;
    const previous = warmStart?.dualState;
    const warm = previous?.set === set && previous.useGram === useGram ? previous : null;
    const weights = classWeights(y, k, this.params.classWeight);
    const positives = positiveClasses(k);
    const random = mulberry32(seed);
    const squaredNorms = new Float64Array(n);
    if (useGram) {
      const K = set.gram();
      for (let i = 0; i < n; i++) squaredNorms[i] = K.data[i * n + i]! + 1;
    } else {
      for (let i = 0; i < n; i++) {
        let s = 1;
        for (let j = 0; j < d; j++) s += X.data[i * d + j]! ** 2;
        squaredNorms[i] = s;
      }
    }
    const coef = zeros(positives.length, d);
    const intercept = new Float64Array(positives.length);
    const alphas: Float64Array[] = [];
    this.nIter = 0;
    this.converged = true;
    positives.forEach((positive, c) => {
      const problem = binarySubproblem(y, positive, k === 2, weights, C, loss, squaredNorms);
      const alpha = warm ? Float64Array.from(warm.alphas[c]!) : new Float64Array(n);
      if (loss === 'hinge') for (let i = 0; i < n; i++) alpha[i] = Math.min(alpha[i]!, problem.upper[i]!);
      const w = new Float64Array(d + 1);
      const ops = useGram ? gramOps(set.gram()) : featureOps(X, w);
      const r = dualCoordinateDescent(problem, ops, alpha, { tol, maxIter, random });
      this.nIter = Math.max(this.nIter, r.iterations);
      this.converged &&= r.converged;
      if (useGram) primalFromDual(X, problem.t, alpha, w);
      coef.data.set(w.subarray(0, d), c * d);
      intercept[c] = w[d]!;
      alphas.push(alpha);
    });
    this.state = { coef, intercept, nClasses: k };
    this.dualState = { set, useGram, alphas };
    this.primalState = null;
    return this;
  }

  private checkParams(): void {
    checkParameters(SVM_PARAMETERS, this.params, this.estimatorName);
  }
}

/** One binary subproblem with class 1 positive for two classes, else one per class (one-vs-rest). */
function positiveClasses(k: number): number[] {
  return k === 2 ? [1] : Array.from({ length: k }, (_, c) => c);
}

function binarySubproblem(
  y: Int32Array,
  positive: number,
  binary: boolean,
  weights: Float64Array,
  C: number,
  loss: SvmLoss,
  squaredNorms: Float64Array,
): DualProblem {
  const n = y.length;
  const t = new Float64Array(n);
  const upper = new Float64Array(n);
  const diagShift = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const isPositive = y[i] === positive;
    t[i] = isPositive ? 1 : -1;
    const Ci = C * (isPositive || binary ? weights[y[i]!]! : 1);
    upper[i] = loss === 'hinge' ? Ci : Infinity;
    diagShift[i] = loss === 'hinge' ? 0 : 1 / (2 * Ci);
  }
  return { t, upper, diagShift, squaredNorms };
}

/** w lives in feature space plus one slot for the constant feature. */
function featureOps(X: Matrix, w: Float64Array): DualOps {
  const { cols: d, data: x } = X;
  return {
    margin(i) {
      const o = i * d;
      let s0 = w[d]!;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < d; j += 2) {
        s0 += w[j]! * x[o + j]!;
        s1 += w[j + 1]! * x[o + j + 1]!;
      }
      if (j < d) s0 += w[j]! * x[o + j]!;
      return s0 + s1;
    },
    move(i, delta) {
      const o = i * d;
      for (let j = 0; j < d; j++) w[j]! += delta * x[o + j]!;
      w[d]! += delta;
    },
  };
}

/** Keeps margins[l] = w·x̂_l for every row through the Gram matrix (x̂ᵢ·x̂ₗ = Kᵢₗ + 1). */
function gramOps(K: Matrix): DualOps {
  const n = K.rows;
  const k = K.data;
  const margins = new Float64Array(n);
  return {
    margin: (i) => margins[i]!,
    move(i, delta) {
      const o = i * n;
      for (let l = 0; l < n; l++) margins[l]! += delta * (k[o + l]! + 1);
    },
  };
}

function primalFromDual(X: Matrix, t: Float64Array, alpha: Float64Array, w: Float64Array): void {
  const { rows: n, cols: d, data: x } = X;
  for (let i = 0; i < n; i++) {
    const a = alpha[i]! * t[i]!;
    if (a === 0) continue;
    const o = i * d;
    for (let j = 0; j < d; j++) w[j]! += a * x[o + j]!;
    w[d]! += a;
  }
}
