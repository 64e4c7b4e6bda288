import { pct } from './numbers.js';
import type { CvRow } from '../heads/model-selection.js';

/** Best cross-validated accuracy of one layer (over C and, unless split by kind, over head kinds). */
export interface LayerScore {
  layer: string;
  kind: string;
  C: number;
  meanAccuracy: number;
  stdAccuracy: number;
}

/**
 * Below this many training images per class we call a dataset "small": fine-tuning millions of weights on a few
 * hundred images per class overfits, while a linear head on frozen codes does not. CS231n gives no number.
 */
export const SMALL_IMAGES_PER_CLASS = 1000;

/** Best row per layer (and per head kind when `byKind`), in the order layers first appear in the table. */
export function bestPerLayer(table: readonly CvRow[], defaultLayer: string, byKind = false): LayerScore[] {
  const best = new Map<string, LayerScore>();
  for (const row of table) {
    const layer = row.layer ?? defaultLayer;
    const key = byKind ? `${layer}\u0000${row.kind}` : layer;
    const current = best.get(key);
    if (!current || row.meanAccuracy > current.meanAccuracy) {
      best.set(key, { layer, kind: row.kind, C: row.C, meanAccuracy: row.meanAccuracy, stdAccuracy: row.stdAccuracy });
    }
  }
  return [...best.values()];
}

export interface Scenario {
  /** CS231n "Transfer Learning" notes: 1 small+similar, 2 large+similar, 3 small+different, 4 large+different. */
  number: 1 | 2 | 3 | 4;
  small: boolean;
  similar: boolean;
  sentence: string;
}

/**
 * Which of CS231n's four transfer-learning scenarios the data looks like. Size comes from training images per class;
 * similarity to ImageNet from the layers: when an earlier layer's codes beat the final layer's by more than the final
 * layer's fold-to-fold spread, the top layer is too ImageNet-specific for this data. Needs at least two layers.
 */
export function describeScenario(input: {
  trainImages: number;
  classes: number;
  layers: readonly LayerScore[];
  finalLayer?: string;
}): Scenario | undefined {
  const finalName = input.finalLayer ?? 'final';
  const final = input.layers.find((l) => l.layer === finalName);
  const earlier = input.layers.filter((l) => l.layer !== finalName);
  if (!final || earlier.length === 0) return undefined;
  const bestEarlier = earlier.reduce((a, b) => (b.meanAccuracy > a.meanAccuracy ? b : a));
  const perClass = input.trainImages / input.classes;
  const small = perClass < SMALL_IMAGES_PER_CLASS;
  const margin = Math.max(final.stdAccuracy, 0.01);
  const similar = bestEarlier.meanAccuracy <= final.meanAccuracy + margin;
  const number = similar ? (small ? 1 : 2) : small ? 3 : 4;
  const size = `${input.trainImages} training images (about ${Math.round(perClass)} per class) is ${small ? 'a small' : 'a large'} dataset`;
  const layers = similar
    ? `the final layer (${pct(final.meanAccuracy)} CV accuracy) is as good as the best earlier layer (${bestEarlier.layer}, ${pct(bestEarlier.meanAccuracy)}), so the data looks similar to ImageNet`
    : `an earlier layer (${bestEarlier.layer}, ${pct(bestEarlier.meanAccuracy)} CV accuracy) beats the final one (${pct(final.meanAccuracy)}) by more than its fold-to-fold spread, so the data looks different from ImageNet`;
  const advice = {
    1: 'a linear classifier on the top-layer CNN codes is the recommended approach',
    2: 'fine-tuning the whole network is likely to pay off, with this head as the baseline to beat',
    3: 'a linear classifier on codes from an earlier layer is the recommended approach (--layer auto chooses it)',
    4: 'fine-tuning the whole network, or training from scratch, is likely to pay off; this head is the baseline',
  }[number];
  return {
    number,
    small,
    similar,
    sentence: `${size}, and ${layers}: CS231n's scenario ${number} (${small ? 'small' : 'large'} and ${similar ? 'similar' : 'different'}), where ${advice}.`,
  };
}
