import { ConfigError } from '../errors.js';
import type { Matrix } from './matrix.js';

/**
 * Temperature scaling (Guo et al., 2017, "On Calibration of Modern Neural Networks"): the head's scores divided by
 * one number T > 0 before the sigmoid/softmax. T < 1 sharpens an underconfident head (strong regularization), T > 1
 * softens an overconfident one. The argmax is unchanged for any T, so accuracy is unchanged by construction.
 *
 * T is fitted on out-of-fold probabilities: no image is scored by a model that saw its label. softmax(log p / T) is
 * exactly softmax(z / T) for the scores z that gave p (log p = z − logsumexp z, a per-row shift the softmax ignores),
 * so the probabilities are all a fit needs, whichever head (logistic, SVM) produced them.
 */

/** Smallest probability taken into a log: out-of-fold probabilities may be stored as float32. */
const FLOOR = 1e-30;
const LOG_T_RANGE: [number, number] = [Math.log(1e-3), Math.log(1e3)];

/** Mean negative log-likelihood of the labels under softmax(log p / T). */
export function temperedLogLoss(probabilities: Matrix, y: Int32Array, temperature: number): number {
  const { rows: n, cols: k, data } = probabilities;
  const z = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      z[c] = Math.log(Math.max(data[i * k + c]!, FLOOR)) / temperature;
      if (z[c]! > max) max = z[c]!;
    }
    let norm = 0;
    for (let c = 0; c < k; c++) norm += Math.exp(z[c]! - max);
    sum += max + Math.log(norm) - z[y[i]!]!;
  }
  return n > 0 ? sum / n : 0;
}

/**
 * The T that minimizes the held-out log-loss, by golden-section search on log T in [1e-3, 1e3] (the loss is
 * unimodal in T for a fixed set of scores). 1 when there are no rows.
 */
export function fitTemperature(probabilities: Matrix, y: Int32Array): number {
  if (probabilities.rows !== y.length)
    throw new ConfigError(`${probabilities.rows} rows of probabilities for ${y.length} labels`);
  if (y.length === 0) return 1;
  const loss = (logT: number) => temperedLogLoss(probabilities, y, Math.exp(logT));
  const ratio = (Math.sqrt(5) - 1) / 2;
  let [a, b] = LOG_T_RANGE;
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  let fc = loss(c);
  let fd = loss(d);
  while (b - a > 1e-5) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - ratio * (b - a);
      fc = loss(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + ratio * (b - a);
      fd = loss(d);
    }
  }
  const t = Math.exp((a + b) / 2);
  // Keep T = 1 when scaling does not help (a head that is calibrated already): no change without a gain.
  return loss(Math.log(t)) < loss(0) ? t : 1;
}

/** Probabilities re-tempered: softmax(log p / T) per row (a new matrix). */
export function temper(probabilities: Matrix, temperature: number): Matrix {
  const { rows: n, cols: k, data } = probabilities;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      out[i * k + c] = Math.log(Math.max(data[i * k + c]!, FLOOR)) / temperature;
      if (out[i * k + c]! > max) max = out[i * k + c]!;
    }
    let norm = 0;
    for (let c = 0; c < k; c++) norm += out[i * k + c] = Math.exp(out[i * k + c]! - max);
    for (let c = 0; c < k; c++) out[i * k + c]! /= norm;
  }
  return { rows: n, cols: k, data: out };
}

/** Top-label expected calibration error over `bins` equal-width confidence bins (the report's ECE). */
export function expectedCalibrationError(probabilities: Matrix, y: Int32Array, bins = 10): number {
  const { rows: n, cols: k, data } = probabilities;
  const count = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  const hits = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (data[i * k + c]! > data[i * k + best]!) best = c;
    const p = data[i * k + best]!;
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]! += 1;
    confidence[b]! += p;
    hits[b]! += best === y[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += Math.abs(hits[b]! - confidence[b]!) / Math.max(1, n);
  return ece;
}
