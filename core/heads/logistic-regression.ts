import { classWeights, sampleWeights, type ClassWeight } from './class-weight.js';
import { minimizeLbfgs } from './lbfgs.js';
import { LinearClassifier } from './linear-model.js';
import { logisticObjective } from './logistic-loss.js';
import { weightsFromBasis } from './low-rank.js';
import { takeLabels, type Matrix } from './matrix.js';
import { TrainingSet } from './training-set.js';
import { checkParameters, LOGISTIC_PARAMETERS, withDefaults, type Resolved } from './params.js';
import { checkTrainingSet } from './validate.js';

export interface LogisticParams {
  /** Inverse L2 strength, scikit-learn's C: minimizes C·Σ sᵢ·log-loss + ½‖W‖², intercept not penalized. */
  C: number;
  classWeight?: ClassWeight;
  /** L-BFGS stops when the largest gradient component of the normalized loss ≤ tol (scikit-learn's meaning). */
  tol?: number;
  maxIter?: number;
}

/** Gradient evaluations assumed for one fit when deciding whether to solve in the span of the rows. */
const EXPECTED_EVALUATIONS = 100;

/** L2 logistic regression: binary (sigmoid) for two classes, multinomial (softmax) beyond, solved by L-BFGS. */
export class LogisticRegression extends LinearClassifier {
  protected readonly estimatorName = 'LogisticRegression';
  readonly params: Resolved<typeof LOGISTIC_PARAMETERS>;
  nIter = 0;
  converged = false;
  private solution: { set: TrainingSet; inBasis: boolean; theta: Float64Array } | null = null;

  constructor(params: LogisticParams) {
    super();
    this.params = withDefaults(LOGISTIC_PARAMETERS, params);
  }

  fit(X: Matrix, y: Int32Array): this {
    this.checkParams();
    return this.fitTrainingSet(new TrainingSet(X, y, checkTrainingSet(X, y)));
  }

  /**
   * Fit on a prepared set. `inBasis` forces (or forbids) solving in the span of the rows; by default it is chosen by
   * cost. `warmStart` starts from a fit on the same set (model selection walks C upwards this way).
   */
  fitTrainingSet(set: TrainingSet, opts: { inBasis?: boolean; warmStart?: LogisticRegression } = {}): this {
    this.checkParams();
    const { C, tol, maxIter } = this.params;
    const { X, y, nClasses: k } = set;
    const m = k === 2 ? 1 : k;
    const inBasis = opts.inBasis ?? set.prefersBasis(m, EXPECTED_EVALUATIONS);
    const basis = inBasis && set.n < set.d ? set.basis() : null;
    const features = basis ? basis.Z : X;
    const p = features.cols;
    const weights = sampleWeights(y, classWeights(y, k, this.params.classWeight));
    const objective = basis
      ? logisticObjective(
          features,
          takeLabels(y, basis.order),
          takeValues(weights, basis.order),
          m,
          C,
          basis.rowLengths,
        )
      : logisticObjective(features, y, weights, m, C);
    const warm = opts.warmStart?.solution;
    const start =
      warm && warm.set === set && warm.inBasis === (basis !== null) ? warm.theta : new Float64Array(m * p + m);
    const result = minimizeLbfgs(objective, start, { gradTol: tol, maxIter });
    const beta: Matrix = { rows: m, cols: p, data: result.x.slice(0, m * p) };
    const coef = basis ? weightsFromBasis(basis, X, beta) : beta;
    this.state = { coef, intercept: result.x.slice(m * p), nClasses: k };
    this.nIter = result.iterations;
    this.converged = result.converged;
    this.solution = { set, inBasis: basis !== null, theta: result.x };
    return this;
  }

  private checkParams(): void {
    checkParameters(LOGISTIC_PARAMETERS, this.params, this.estimatorName);
  }
}

function takeValues(values: Float64Array, idx: Int32Array): Float64Array {
  return Float64Array.from(idx, (i) => values[i]!);
}
