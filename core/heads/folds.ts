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
      throw new ConfigError(
        `class ${c} has ${rows.length} samples, fewer than the ${k} folds asked for; use at most ${rows.length} folds`,
      );
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
 * Stratified k-fold that never splits a group (near-duplicate images, burst shots): copies of one image in different
 * folds let CV score memory instead of generalization. Groups are shuffled (seeded), then dealt largest first, each to
 * the fold whose class counts stay closest to an even share of every class (StratifiedGroupKFold's greedy rule), so
 * with singleton groups the folds are as balanced as `stratifiedKFold`'s. `groups[i]` is any integer id; rows with the
 * same id stay together. Same signature as `stratifiedKFold` plus the groups, so a caller that takes folds as input
 * can be handed either.
 */
export function stratifiedGroupKFold(y: Int32Array, groups: Int32Array, k: number, seed: number): Split[] {
  if (!Number.isInteger(k) || k < 2) throw new ConfigError(`number of folds must be an integer ≥ 2; got ${k}`);
  if (groups.length !== y.length) throw new ConfigError(`${groups.length} group ids for ${y.length} labels`);
  const counts = classCounts(y);
  const members = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = members.get(groups[i]!);
    if (list) list.push(i);
    else members.set(groups[i]!, [i]);
  }
  if (members.size < k)
    throw new ConfigError(`${members.size} groups of images are fewer than the ${k} folds asked for`);
  const ids = Int32Array.from(members.keys());
  shuffleInPlace(ids, mulberry32(seed));
  // Largest groups first (stable after the shuffle), so the small ones fill the gaps they leave.
  const order = Array.from(ids).sort((a, b) => members.get(b)!.length - members.get(a)!.length);
  const foldCounts = Array.from({ length: k }, () => new Float64Array(counts.length));
  const foldSizes = new Float64Array(k);
  const foldOf = new Int32Array(y.length);
  for (const id of order) {
    const rows = members.get(id)!;
    const groupCounts = new Float64Array(counts.length);
    for (const i of rows) groupCounts[y[i]!]! += 1;
    // Every class's per-fold shares should stay even. Whichever fold takes the group, each class's mean share is the
    // same, so the spread (sum of squared shares) grows least in the fold minimizing Σ_c count_f,c · a_c / n_c² over
    // the group's classes c (a_c: its rows of class c). Ties go to the smaller fold, then the earlier one.
    const present = [...new Set(rows.map((i) => y[i]!))];
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < k; f++) {
      let cost = 0;
      for (const c of present) cost += (foldCounts[f]![c]! * groupCounts[c]!) / counts[c]! ** 2;
      if (cost < bestCost - 1e-15 || (Math.abs(cost - bestCost) <= 1e-15 && foldSizes[f]! < foldSizes[best]!)) {
        best = f;
        bestCost = cost;
      }
    }
    for (let c = 0; c < counts.length; c++) foldCounts[best]![c]! += groupCounts[c]!;
    foldSizes[best]! += rows.length;
    for (const i of rows) foldOf[i] = best;
  }
  return Array.from({ length: k }, (_, f) => partition(foldOf, (g) => g === f));
}

/**
 * One shuffled stratified train/test split: round(count·testFraction) rows of each class go to test, kept between 1 and
 * count − 1 so both sides see every class that has at least 2 rows (a class with a single row stays in train).
 */
export function stratifiedSplit(y: Int32Array, testFraction: number, seed: number): Split {
  if (!(testFraction > 0 && testFraction < 1))
    throw new ConfigError(`testFraction must be in (0, 1); got ${testFraction}`);
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
