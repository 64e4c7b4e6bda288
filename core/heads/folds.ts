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

/** How cross-validation splits the rows: the folds, each row's fold, the k actually used, and whether groups held. */
export interface FoldPlan {
  splits: Split[];
  /** foldOf[i] = the fold that holds row i out (0..folds−1). */
  foldOf: Int32Array;
  /** `k` lowered to the smallest class count (or, grouped, to its fewest groups) when a class is that small. */
  folds: number;
  /** Whether folds kept groups together (false without a group of 2+ rows, or when a class had fewer than 2 groups). */
  grouped: boolean;
}

/**
 * The one fold rule of every cross-validation here (in memory, streamed, images or codes): stratified k-fold with
 * k lowered to the smallest class, so a class of 3 images gives 3 folds rather than an error; with `groups` (near
 * duplicates: rows sharing an id) and some group of 2+ rows, stratified group k-fold, k lowered to the fewest groups
 * of a class, unless a class has fewer than 2 groups (then plain stratified folds). Without any group of two or more
 * rows the plain folds are used, so data without duplicates is cross-validated exactly as before groups existed.
 */
export function planFolds(y: Int32Array, k: number, seed: number, groups?: Int32Array): FoldPlan {
  const counts = classCounts(y);
  const smallestClass = Math.min(...counts);
  if (smallestClass < 2)
    throw new ConfigError(`cross-validation needs at least 2 samples per class; a class has ${smallestClass}`);
  if (!Number.isInteger(k) || k < 2) throw new ConfigError(`folds must be an integer ≥ 2; got ${k}`);
  if (groups !== undefined && groups.length !== y.length)
    throw new ConfigError(`${groups.length} group ids for ${y.length} labels`);
  const someGroup = groups !== undefined && new Set(groups).size < groups.length;
  const groupsPerClass = someGroup ? countGroupsPerClass(y, groups, counts.length) : [];
  const grouped = someGroup && Math.min(...groupsPerClass) >= 2;
  const folds = Math.min(k, grouped ? Math.min(...groupsPerClass) : smallestClass);
  const splits = grouped ? stratifiedGroupKFold(y, groups!, folds, seed) : stratifiedKFold(y, folds, seed);
  const foldOf = new Int32Array(y.length);
  splits.forEach((split, f) => split.test.forEach((i) => (foldOf[i] = f)));
  return { splits, foldOf, folds, grouped };
}

function countGroupsPerClass(y: Int32Array, groups: Int32Array, nClasses: number): number[] {
  const seen = Array.from({ length: nClasses }, () => new Set<number>());
  for (let i = 0; i < y.length; i++) seen[y[i]!]!.add(groups[i]!);
  return seen.map((s) => s.size);
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
