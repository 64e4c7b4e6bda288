import { NotFittedError } from '../errors.js';
import { linearScores, zeros, type Matrix } from './matrix.js';
import { sigmoid } from './logistic-loss.js';
import { checkFeatureCount } from './validate.js';

export interface LinearState {
  /** nOutputs × d; nOutputs is 1 for a binary problem (scores for class 1), else nClasses. */
  coef: Matrix;
  intercept: Float64Array;
  nClasses: number;
}

/** Prediction side shared by every linear estimator: scores, argmax, probabilities, accuracy. */
export abstract class LinearClassifier {
  protected state: LinearState | null = null;

  protected abstract readonly estimatorName: string;

  get nClasses(): number {
    return this.fitted().nClasses;
  }

  get nFeatures(): number {
    return this.fitted().coef.cols;
  }

  get coef(): Matrix {
    return this.fitted().coef;
  }

  get intercept(): Float64Array {
    return this.fitted().intercept;
  }

  /** n × 1 for binary problems (positive ⇒ class 1, as scikit-learn), else n × nClasses. */
  decisionFunction(X: Matrix): Matrix {
    const s = this.fitted();
    checkFeatureCount(X, s.coef.cols);
    return linearScores(X, s.coef, s.intercept);
  }

  /** Sigmoid (binary) or softmax of the scores. */
  predictProba(X: Matrix): Matrix {
    return scoresToProbabilities(this.decisionFunction(X), this.fitted().nClasses);
  }

  predict(X: Matrix): Int32Array {
    return argmaxScores(this.decisionFunction(X));
  }

  score(X: Matrix, y: Int32Array): number {
    return accuracy(this.predict(X), y);
  }

  /** Puts back a fitted state (deserialization); the estimator then predicts exactly as the one it came from. */
  restoreState(state: LinearState): this {
    this.state = state;
    return this;
  }

  protected fitted(): LinearState {
    if (!this.state) throw new NotFittedError(this.estimatorName);
    return this.state;
  }
}

export function scoresToProbabilities(scores: Matrix, nClasses: number): Matrix {
  const n = scores.rows;
  const out = zeros(n, nClasses);
  const s = scores.data;
  const p = out.data;
  if (scores.cols === 1) {
    for (let i = 0; i < n; i++) {
      const p1 = sigmoid(s[i]!);
      p[2 * i] = 1 - p1;
      p[2 * i + 1] = p1;
    }
    return out;
  }
  const k = scores.cols;
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let max = -Infinity;
    for (let c = 0; c < k; c++) if (s[o + c]! > max) max = s[o + c]!;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(s[o + c]! - max);
      p[o + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) p[o + c]! /= sum;
  }
  return out;
}

/** Argmax per row; a single score column means binary with threshold 0 (ties go to class 0, as scikit-learn). */
export function argmaxScores(scores: Matrix): Int32Array {
  const { rows: n, cols: k, data } = scores;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (k === 1) {
      out[i] = data[i]! > 0 ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let c = 1; c < k; c++) if (data[i * k + c]! > data[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

export function accuracy(predicted: Int32Array, y: Int32Array): number {
  if (predicted.length !== y.length) throw new RangeError(`${predicted.length} predictions for ${y.length} labels`);
  let hits = 0;
  for (let i = 0; i < y.length; i++) if (predicted[i] === y[i]) hits++;
  return y.length === 0 ? 0 : hits / y.length;
}
