import { ConfigError } from '../errors.js';
import type { Matrix } from '../heads/matrix.js';

export interface PerClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationMetrics {
  n: number;
  accuracy: number;
  /** Mean recall over classes that occur in yTrue (scikit-learn's balanced_accuracy_score). */
  balancedAccuracy: number;
  perClass: PerClassMetrics[];
  /** Unweighted mean F1 over all classes. */
  macroF1: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  /** Mean −log p(true class), p clipped to [ε, 1 − ε], ε = 2⁻⁵² (float64 eps; scikit-learn 1.9 clips the same way). */
  logLoss: number;
  /** Only for k < number of classes. */
  topK: Array<{ k: number; accuracy: number }>;
}

const EPS = Number.EPSILON;

/**
 * Metrics from predicted probabilities (prediction = argmax, first class on ties). A precision or recall with a zero
 * denominator is 0, as scikit-learn's zero_division default (with a warning there, silently here).
 */
export function classificationMetrics(
  yTrue: Int32Array,
  proba: Matrix,
  classNames: string[],
  opts: { topK?: number[] } = {},
): ClassificationMetrics {
  const k = classNames.length;
  const n = yTrue.length;
  if (proba.cols !== k) throw new ConfigError(`proba has ${proba.cols} columns but there are ${k} class names`);
  if (proba.rows !== n) throw new ConfigError(`proba has ${proba.rows} rows but yTrue has ${n} labels`);
  if (n === 0) throw new ConfigError('cannot compute metrics on an empty set');
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const topKs = (opts.topK ?? []).filter((t) => Number.isInteger(t) && t >= 1 && t < k);
  const topHits = topKs.map(() => 0);
  for (let i = 0; i < n; i++) {
    const label = yTrue[i]!;
    if (!(label >= 0 && label < k)) throw new ConfigError(`label ${label} at index ${i} is outside 0..${k - 1}`);
    const p = proba.data.subarray(i * k, (i + 1) * k);
    let predicted = 0;
    for (let c = 1; c < k; c++) if (p[c]! > p[predicted]!) predicted = c;
    confusion[label]![predicted]!++;
    // Rank of the true class: classes strictly more probable, plus ties listed before it.
    let rank = 0;
    for (let c = 0; c < k; c++) if (p[c]! > p[label]! || (p[c] === p[label] && c < label)) rank++;
    topKs.forEach((t, j) => {
      if (rank < t) topHits[j]!++;
    });
  }
  const perClass: PerClassMetrics[] = classNames.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    const predicted = confusion.reduce((s, r) => s + r[c]!, 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
  const present = perClass.filter((m) => m.support > 0);
  let correct = 0;
  for (let c = 0; c < k; c++) correct += confusion[c]![c]!;
  return {
    n,
    accuracy: correct / n,
    balancedAccuracy: present.reduce((s, m) => s + m.recall, 0) / present.length,
    perClass,
    macroF1: perClass.reduce((s, m) => s + m.f1, 0) / k,
    confusion,
    logLoss: meanLogLoss(yTrue, proba),
    topK: topKs.map((t, j) => ({ k: t, accuracy: topHits[j]! / n })),
  };
}

/** Mean −log p(true class) over rows of an n × k probability matrix, clipped as in `classificationMetrics`. */
export function meanLogLoss(yTrue: Int32Array, proba: Matrix): number {
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum -= Math.log(clip(proba.data[i * proba.cols + yTrue[i]!]!));
  return sum / yTrue.length;
}

function clip(p: number): number {
  return Math.min(Math.max(p, EPS), 1 - EPS);
}
