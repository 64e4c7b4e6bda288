import { gram, type Matrix } from './matrix.js';
import { lowRankBasis, type LowRankBasis } from './low-rank.js';

/**
 * A validated training set plus the n × n structures derived from it, computed once and shared by every estimator fitted
 * on it (model selection fits many C values, logistic and SVM, on the same fold).
 */
export class TrainingSet {
  private cachedGram: Matrix | null = null;
  private cachedBasis: LowRankBasis | null = null;

  /** `gram`, when the caller already has X·Xᵀ (e.g. a block of a larger Gram matrix), is used instead of computing it. */
  constructor(
    readonly X: Matrix,
    readonly y: Int32Array,
    readonly nClasses: number,
    gram?: Matrix,
  ) {
    this.cachedGram = gram ?? null;
  }

  get n(): number {
    return this.X.rows;
  }

  get d(): number {
    return this.X.cols;
  }

  get hasGram(): boolean {
    return this.cachedGram !== null;
  }

  gram(): Matrix {
    this.cachedGram ??= gram(this.X);
    return this.cachedGram;
  }

  basis(): LowRankBasis {
    this.cachedBasis ??= lowRankBasis(this.gram());
    return this.cachedBasis;
  }

  /**
   * Whether solving in the span of the rows beats the primal, for a solver expected to need `passes` gradient
   * evaluations of `outputs` outputs: Gram (n²d/2) + factorization (n³/6) against passes × 2n(d − n)·outputs saved.
   */
  prefersBasis(outputs: number, passes: number): boolean {
    const { n, d } = this;
    if (this.cachedBasis) return n < d;
    const setup = (this.cachedGram ? 0 : (n * n * d) / 2) + (n * n * n) / 6;
    return n < d && setup < passes * 2 * n * (d - n) * outputs;
  }
}
