import { NotFittedError } from '../errors.js';
import { checkFeatureCount, checkMatrix } from './validate.js';
import { zeros, type Matrix } from './matrix.js';

/**
 * Per-feature (x − mean) / scale with the population standard deviation, as scikit-learn's StandardScaler. A constant
 * feature gets scale 1 so it maps to 0 instead of dividing by zero.
 */
export class Standardizer {
  mean: Float64Array | null = null;
  scale: Float64Array | null = null;

  fit(X: Matrix): this {
    checkMatrix(X);
    const { rows: n, cols: d, data } = X;
    const mean = new Float64Array(d);
    const m2 = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) mean[j]! += data[o + j]!;
    }
    for (let j = 0; j < d; j++) mean[j]! /= n;
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) {
        const t = data[o + j]! - mean[j]!;
        m2[j]! += t * t;
      }
    }
    const scale = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const sd = Math.sqrt(m2[j]! / n);
      // Same cut-off idea as scikit-learn: a spread at rounding-noise level relative to the mean is "constant".
      scale[j] = sd < 10 * Number.EPSILON * Math.max(1, Math.abs(mean[j]!)) ? 1 : sd;
    }
    this.mean = mean;
    this.scale = scale;
    return this;
  }

  transform(X: Matrix): Matrix {
    const { mean, scale } = this.fitted();
    checkFeatureCount(X, mean.length);
    const { rows: n, cols: d, data } = X;
    const out = zeros(n, d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) out.data[o + j] = (data[o + j]! - mean[j]!) / scale[j]!;
    }
    return out;
  }

  fitted(): { mean: Float64Array; scale: Float64Array } {
    if (!this.mean || !this.scale) throw new NotFittedError('Standardizer');
    return { mean: this.mean, scale: this.scale };
  }
}
