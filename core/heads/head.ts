import { ConfigError, NotFittedError } from '../errors.js';
import type { ClassWeight } from './class-weight.js';
import { scoresToProbabilities, type LinearClassifier } from './linear-model.js';
import { LinearSVC, type SvmLoss } from './linear-svm.js';
import { LogisticRegression } from './logistic-regression.js';
import type { Matrix } from './matrix.js';
import { checkParameters, HEAD_PARAMETERS, withDefaults } from './params.js';
import { Standardizer } from './standardizer.js';
import { checkTrainingSet } from './validate.js';

export type HeadKind = 'logistic' | 'svm';

export interface HeadOptions {
  kind: HeadKind;
  C: number;
  classWeight?: ClassWeight;
  /** Seeds the SVM's coordinate order; logistic regression is deterministic without it. */
  seed?: number;
  tol?: number;
  maxIter?: number;
  /** SVM only; default 'squared-hinge' (scikit-learn LinearSVC's default). */
  svmLoss?: SvmLoss;
}

export type ResolvedHeadOptions = Required<HeadOptions>;

/** How predictProba is formed: the model's own probabilities, or a softmax/sigmoid of SVM scores (uncalibrated). */
export type ProbabilityKind = 'logistic-model' | 'softmax-of-decision';

export interface HeadJSON {
  format: 'cnn-codes.head';
  version: 1;
  options: ResolvedHeadOptions;
  nClasses: number;
  nFeatures: number;
  standardizer: { mean: number[]; scale: number[] };
  /** nOutputs × nFeatures, applied to standardized features; nOutputs = 1 for two classes (score of class 1). */
  weights: number[][];
  intercepts: number[];
  probability: ProbabilityKind;
  fit: { iterations: number; converged: boolean };
  /**
   * Temperature T the scores are divided by before the sigmoid/softmax (core/heads/calibration.ts), fitted on
   * out-of-fold probabilities by the train step; absent = 1 (the model's own probabilities). The argmax is unchanged.
   */
  temperature?: number;
}

export interface Classifier {
  fit(X: Matrix, y: Int32Array): this;
  predict(X: Matrix): Int32Array;
  /** n × 1 for two classes (positive ⇒ class 1), else n × nClasses. */
  decisionFunction(X: Matrix): Matrix;
  /**
   * n × nClasses: sigmoid/softmax of the scores divided by `temperature` (logistic: the model's own probabilities at
   * T = 1; SVM: not calibrated unless a temperature was fitted).
   */
  predictProba(X: Matrix): Matrix;
  score(X: Matrix, y: Int32Array): number;
  /** Sets the temperature predictProba divides the scores by (core/heads/calibration.ts); predictions unchanged. */
  calibrate(temperature: number): this;
  readonly temperature: number;
  toJSON(): HeadJSON;
  readonly nClasses: number;
  readonly nFeatures: number;
  readonly options: ResolvedHeadOptions;
}

/** What a fitted linear head learned, in standardized feature space: what head.json records. */
export interface LearnedHead {
  nClasses: number;
  mean: ArrayLike<number>;
  scale: ArrayLike<number>;
  /** nOutputs × nFeatures (nOutputs = 1 for two classes). */
  coef: Matrix;
  intercept: ArrayLike<number>;
  fit: { iterations: number; converged: boolean };
  /** 1 (or absent): none, and head.json leaves the field out. */
  temperature?: number;
}

/** How a head of this kind forms its probabilities (head.json's `probability`). */
export function probabilityKind(kind: HeadKind): ProbabilityKind {
  return kind === 'logistic' ? 'logistic-model' : 'softmax-of-decision';
}

/**
 * The one writer of head.json's head (in-memory heads, the streamed logistic head, loadHead's checked copy): field
 * order and number formatting are the file format, so every path writes through here.
 */
export function writeHeadJson(options: ResolvedHeadOptions, learned: LearnedHead): HeadJSON {
  const { coef, temperature } = learned;
  const weights: number[][] = [];
  for (let c = 0; c < coef.rows; c++) weights.push(Array.from(coef.data.subarray(c * coef.cols, (c + 1) * coef.cols)));
  return {
    format: 'cnn-codes.head',
    version: 1,
    options: { ...options },
    nClasses: learned.nClasses,
    nFeatures: coef.cols,
    standardizer: { mean: Array.from(learned.mean), scale: Array.from(learned.scale) },
    weights,
    intercepts: Array.from(learned.intercept),
    probability: probabilityKind(options.kind),
    fit: { iterations: learned.fit.iterations, converged: learned.fit.converged },
    ...(temperature !== undefined && temperature !== 1 ? { temperature } : {}),
  };
}

/** head.json's head calibrated at `temperature` (see core/heads/calibration.ts): left out at 1, as writeHeadJson does. */
export function withTemperature(json: HeadJSON, temperature: number): HeadJSON {
  checkTemperature(temperature);
  const { temperature: _previous, ...rest } = json;
  return temperature === 1 ? rest : { ...rest, temperature };
}

function checkTemperature(temperature: number): void {
  if (!(temperature > 0 && Number.isFinite(temperature)))
    throw new ConfigError(`temperature must be a positive finite number; got ${temperature}`);
}

/**
 * A head's options with every default filled in (the head.json record). The kind is checked now, since it picks the
 * estimator; the other parameters are checked by the estimator's fit, as scikit-learn's.
 */
export function resolveHeadOptions(options: HeadOptions): ResolvedHeadOptions {
  checkParameters({ kind: HEAD_PARAMETERS.kind }, options ?? {}, 'head');
  return withDefaults(HEAD_PARAMETERS, options);
}

export function createEstimator(o: ResolvedHeadOptions): LogisticRegression | LinearSVC {
  return o.kind === 'logistic'
    ? new LogisticRegression({ C: o.C, classWeight: o.classWeight, tol: o.tol, maxIter: o.maxIter })
    : new LinearSVC({
        C: o.C,
        classWeight: o.classWeight,
        tol: o.tol,
        maxIter: o.maxIter,
        loss: o.svmLoss,
        seed: o.seed,
      });
}

/** Standardization (fitted on the training rows) followed by a linear estimator. */
export function createHead(options: HeadOptions): Classifier {
  return new StandardizedHead(resolveHeadOptions(options));
}

export class StandardizedHead implements Classifier {
  private readonly scaler = new Standardizer();
  private estimator: LogisticRegression | LinearSVC;
  private fitted = false;
  /** Divides the scores before predictProba's sigmoid/softmax (1: none); set by `calibrate` or `restore`. */
  temperature = 1;

  constructor(readonly options: ResolvedHeadOptions) {
    this.estimator = createEstimator(options);
  }

  fit(X: Matrix, y: Int32Array): this {
    checkTrainingSet(X, y);
    this.estimator.fit(this.scaler.fit(X).transform(X), y);
    this.fitted = true;
    return this;
  }

  /** Used by model selection: takes a scaler and an estimator already fitted on the scaled training rows. */
  adopt(scaler: Standardizer, estimator: LogisticRegression | LinearSVC): this {
    const { mean, scale } = scaler.fitted();
    this.scaler.mean = mean;
    this.scaler.scale = scale;
    this.estimator = estimator;
    this.fitted = true;
    return this;
  }

  /** Used by loadHead: sets learned state without fitting. */
  restore(json: HeadJSON): this {
    this.scaler.mean = Float64Array.from(json.standardizer.mean);
    this.scaler.scale = Float64Array.from(json.standardizer.scale);
    const coef = { rows: json.weights.length, cols: json.nFeatures, data: Float64Array.from(json.weights.flat()) };
    this.estimator.restoreState({ coef, intercept: Float64Array.from(json.intercepts), nClasses: json.nClasses });
    this.estimator.nIter = json.fit.iterations;
    this.estimator.converged = json.fit.converged;
    this.temperature = json.temperature ?? 1;
    this.fitted = true;
    return this;
  }

  /** Sets the calibration temperature (see core/heads/calibration.ts); predictions are unchanged. */
  calibrate(temperature: number): this {
    checkTemperature(temperature);
    this.temperature = temperature;
    return this;
  }

  get nClasses(): number {
    return this.model().nClasses;
  }

  get nFeatures(): number {
    return this.model().nFeatures;
  }

  decisionFunction(X: Matrix): Matrix {
    return this.model().decisionFunction(this.scaler.transform(X));
  }

  predictProba(X: Matrix): Matrix {
    if (this.temperature === 1) return this.model().predictProba(this.scaler.transform(X));
    const scores = this.decisionFunction(X);
    for (let i = 0; i < scores.data.length; i++) scores.data[i]! /= this.temperature;
    return scoresToProbabilities(scores, this.nClasses);
  }

  predict(X: Matrix): Int32Array {
    return this.model().predict(this.scaler.transform(X));
  }

  score(X: Matrix, y: Int32Array): number {
    return this.model().score(this.scaler.transform(X), y);
  }

  toJSON(): HeadJSON {
    const model = this.model();
    const { mean, scale } = this.scaler.fitted();
    return writeHeadJson(this.options, {
      nClasses: model.nClasses,
      mean,
      scale,
      coef: model.coef,
      intercept: model.intercept,
      fit: { iterations: this.estimator.nIter, converged: this.estimator.converged },
      temperature: this.temperature,
    });
  }

  private model(): LinearClassifier {
    if (!this.fitted) throw new NotFittedError(`${this.options.kind} head`);
    return this.estimator;
  }
}
