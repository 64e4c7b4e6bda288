import { ConfigError } from '../errors.js';
import { mulberry32, shuffleInPlace } from './prng.js';
import { classCounts } from './validate.js';

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Shuffled stratified k-fold: each class's rows are shuffled and dealt round-robin over the folds, continuing where the
 * previous class stopped, so every fold gets ⌊count/k⌋ or ⌈count/k⌉ of each class and fold sizes differ by at most 1.
 * A class with fewer than k rows would leave some fold without it, so that is a ConfigError (crossValidate lowers k
 * instead, see there). Indices are sorted within train and test.
 */
export function stratifiedKFold(y: Int32Array, k: number, seed: number): Split[] {
  if (!Number.isInteger(k) || k < 2) throw new ConfigError(`number of folds must be an integer ≥ 2; got ${k}`);
  const byClass = indicesByClass(y);
  byClass.forEach((rows, c) => {
    if (rows.length < k) {
      throw new ConfigError(`class ${c} has ${rows.length} samples, fewer than the ${k} folds asked for; use at most ${rows.length} folds`);
    }
  });
  const random = mulberry32(seed);
  const foldOf = new Int32Array(y.length);
  let next = 0;
  for (const rows of byClass) {
    shuffleInPlace(rows, random);
    for (const i of rows) foldOf[i] = next++ % k;
  }
  return Array.from({ length: k }, (_, f) => partition(foldOf, (g) => g === f));
}

/**
 * One shuffled stratified train/test split: round(count·testFraction) rows of each class go to test, kept between 1 and
 * count − 1 so both sides see every class that has at least 2 rows (a class with a single row stays in train).
 */
export function stratifiedSplit(y: Int32Array, testFraction: number, seed: number): Split {
  if (!(testFraction > 0 && testFraction < 1)) throw new ConfigError(`testFraction must be in (0, 1); got ${testFraction}`);
  const random = mulberry32(seed);
  const inTest = new Int32Array(y.length);
  for (const rows of indicesByClass(y)) {
    shuffleInPlace(rows, random);
    const nTest = rows.length < 2 ? 0 : Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * testFraction)));
    for (let r = 0; r < nTest; r++) inTest[rows[r]!] = 1;
  }
  return partition(inTest, (g) => g === 1);
}

function indicesByClass(y: Int32Array): Int32Array[] {
  const counts = classCounts(y);
  const byClass = counts.map((c) => new Int32Array(c));
  const filled = counts.map(() => 0);
  for (let i = 0; i < y.length; i++) byClass[y[i]!]![filled[y[i]!]!++] = i;
  return byClass;
}

function partition(group: Int32Array, isTest: (g: number) => boolean): Split {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < group.length; i++) (isTest(group[i]!) ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
