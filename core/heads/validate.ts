import { ConfigError, DataError } from '../errors.js';
import type { Matrix } from './matrix.js';

export function checkMatrix(X: Matrix, what = 'X'): void {
  if (!X || !(X.data instanceof Float64Array) || !Number.isInteger(X.rows) || !Number.isInteger(X.cols)) {
    throw new ConfigError(`${what} must be a Matrix { rows, cols, data: Float64Array }`);
  }
  if (X.data.length !== X.rows * X.cols) {
    throw new ConfigError(`${what} has ${X.data.length} values but rows × cols = ${X.rows} × ${X.cols}`);
  }
  for (let i = 0; i < X.data.length; i++) {
    // The values are data (CNN codes, usually), not settings: a NaN is a data problem, exit 3, not a bad flag.
    if (!Number.isFinite(X.data[i]!)) {
      throw new DataError(
        `${what} has a non-finite value (${X.data[i]}) at row ${Math.floor(i / X.cols)}, column ${i % X.cols}`,
      );
    }
  }
}

/** Validates a training set and returns the number of classes (labels must be 0..k-1, each present, k ≥ 2). */
export function checkTrainingSet(X: Matrix, y: Int32Array): number {
  checkMatrix(X);
  if (!(y instanceof Int32Array)) throw new ConfigError('y must be an Int32Array of labels 0..k-1');
  if (y.length !== X.rows) throw new ConfigError(`X has ${X.rows} rows but y has ${y.length} labels`);
  if (X.rows === 0 || X.cols === 0) throw new ConfigError(`X is empty (${X.rows} × ${X.cols})`);
  const counts = classCounts(y);
  const k = counts.length;
  if (k < 2)
    throw new ConfigError(
      `y has only one class (${k === 1 ? 'label 0' : 'none'}): need at least two to fit a classifier`,
    );
  const missing = counts.findIndex((c) => c === 0);
  if (missing >= 0)
    throw new ConfigError(`labels must be 0..${k - 1} with every class present; class ${missing} has no samples`);
  return k;
}

export function classCounts(y: Int32Array): number[] {
  const counts: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (label < 0) throw new ConfigError(`labels must be non-negative integers; found ${label} at index ${i}`);
    while (counts.length <= label) counts.push(0);
    counts[label]!++;
  }
  return counts;
}

export function checkFeatureCount(X: Matrix, nFeatures: number): void {
  checkMatrix(X);
  if (X.cols !== nFeatures) throw new ConfigError(`X has ${X.cols} features but the model was fitted on ${nFeatures}`);
}
