import { ConfigError } from '../errors.js';
import { classCounts } from './validate.js';

export type ClassWeight = 'balanced' | null;

/** scikit-learn's 'balanced': n_samples / (n_classes · count_c); null gives every class weight 1. */
export function classWeights(y: Int32Array, nClasses: number, mode: ClassWeight | undefined): Float64Array {
  const w = new Float64Array(nClasses).fill(1);
  if (mode === null || mode === undefined) return w;
  if (mode !== 'balanced') throw new ConfigError(`classWeight must be 'balanced' or null; got ${JSON.stringify(mode)}`);
  const counts = classCounts(y);
  for (let c = 0; c < nClasses; c++) w[c] = y.length / (nClasses * (counts[c] ?? 0));
  return w;
}

export function sampleWeights(y: Int32Array, perClass: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = perClass[y[i]!]!;
  return out;
}
