import type { Matrix } from '../heads/matrix.js';
import type { LabelIssue } from './data-quality.js';

export interface LabelIssueRow {
  row: number;
  given: number;
  suggested: number;
  /** Out-of-fold probability of the suggested class minus that of the given one, in [−1, 1]: higher is surer. */
  score: number;
}

/**
 * Likely label errors by confident learning (Northcutt, Jiang & Chuang, "Confident Learning", JAIR 2021), from
 * out-of-fold probabilities, so no image is judged by a model that trained on its own label. cleanlab's default
 * ("prune by noise rate"):
 * 1. Each class j gets a threshold t_j: the mean probability of j over the images labelled j (its self-confidence).
 *    An image confidently belongs to j when p_j ≥ t_j; its confident label is the likeliest such class.
 * 2. The confident joint counts images by (given label i, confident label j). Calibrated so that row i sums to the
 *    number of images labelled i, its off-diagonal cell (i, j) estimates how many images labelled i belong to j.
 * 3. For each off-diagonal cell, that many images labelled i with the largest margin p_j − p_i are the suspects.
 * Per-class thresholds keep a class the head is generally unsure about (low t_j) from hiding its errors. Step 2's
 * calibration matters with an underconfident head (strong regularization): on hymenoptera with 25 flipped labels,
 * the raw off-diagonal holds 17 images (all flips), the calibrated estimate finds more of the flips.
 * Ranked by margin, largest first.
 */
export function findLabelIssues(probabilities: Matrix, y: Int32Array): LabelIssueRow[] {
  const { rows: n, cols: k, data: p } = probabilities;
  const thresholds = new Float64Array(k);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    thresholds[y[i]!]! += p[i * k + y[i]!]!;
    counts[y[i]!]! += 1;
  }
  // A class with no images can never be a confident label.
  for (let c = 0; c < k; c++) thresholds[c] = counts[c]! > 0 ? thresholds[c]! / counts[c]! : Infinity;
  const joint = Array.from({ length: k }, () => new Float64Array(k));
  for (let i = 0; i < n; i++) {
    let confident = -1;
    for (let c = 0; c < k; c++) {
      const pc = p[i * k + c]!;
      if (pc >= thresholds[c]! && (confident < 0 || pc > p[i * k + confident]!)) confident = c;
    }
    if (confident >= 0) joint[y[i]!]![confident]! += 1;
  }
  const best = new Map<number, LabelIssueRow>();
  for (let given = 0; given < k; given++) {
    const rowSum = joint[given]!.reduce((s, v) => s + v, 0);
    if (rowSum === 0) continue;
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (y[i] === given) members.push(i);
    for (let suggested = 0; suggested < k; suggested++) {
      if (suggested === given) continue;
      const estimated = Math.round((joint[given]![suggested]! / rowSum) * counts[given]!);
      if (estimated === 0) continue;
      const margin = (i: number) => p[i * k + suggested]! - p[i * k + given]!;
      const picked = [...members].sort((a, b) => margin(b) - margin(a) || a - b).slice(0, estimated);
      for (const row of picked) {
        const score = margin(row);
        if ((best.get(row)?.score ?? -Infinity) < score) best.set(row, { row, given, suggested, score });
      }
    }
  }
  return [...best.values()].sort((a, b) => b.score - a.score || a.row - b.row);
}

/**
 * Robust z-score (median and scaled MAD of every train image's mean cosine to its 10 nearest other train images) at
 * and beyond which an image resembles nothing in its data set. Hymenoptera train (final layer): Flickr's
 * image-not-found placeholder, labelled "ants", scores 7.5; the next image 4.6 (a dark close-up), then 3.9 and below.
 * Out-of-fold probabilities cannot catch such an image: with two classes it has to land in one, and the head's
 * out-of-fold p(ants) for the placeholder is 0.75–1.00 across C. Its label is wrong in the sense that matters (no
 * class fits), so it is reported as a label issue with no suggested class.
 */
export const OUTLIER_Z = 6;

export interface OutlierRow {
  row: number;
  /** Robust z-score of its neighbour similarity, below the median. */
  z: number;
  /** min(1, z / (2·OUTLIER_Z)): 0.5 at the threshold, on the scale of the label-error margins it is ranked with. */
  score: number;
}

export function findOutliers(neighbourSimilarity: Float32Array, minZ = OUTLIER_Z): OutlierRow[] {
  const n = neighbourSimilarity.length;
  if (n < 3) return [];
  const median = (xs: Float64Array) => {
    const s = Float64Array.from(xs).sort();
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const values = Float64Array.from(neighbourSimilarity);
  const centre = median(values);
  const spread = 1.4826 * median(values.map((v) => Math.abs(v - centre)));
  if (!(spread > 0)) return [];
  const out: OutlierRow[] = [];
  values.forEach((v, row) => {
    const z = (centre - v) / spread;
    if (z >= minZ) out.push({ row, z, score: Math.min(1, z / (2 * minZ)) });
  });
  return out.sort((a, b) => b.z - a.z);
}

/**
 * The train step's label issues: confident-learning suspects (when out-of-fold probabilities exist) and outliers
 * (suggested: null) not already among them, by key and class name, likeliest first.
 */
export function rankLabelIssues(input: {
  outOfFold: Matrix | undefined;
  y: Int32Array;
  neighbourSimilarity: Float32Array;
  keys: readonly string[];
  classes: readonly string[];
}): LabelIssue[] {
  const { outOfFold, y, keys, classes } = input;
  const mislabelled = (outOfFold ? findLabelIssues(outOfFold, y) : []).map((issue) => ({
    row: issue.row,
    suggested: classes[issue.suggested]! as string | null,
    score: issue.score,
  }));
  const flagged = new Set(mislabelled.map((m) => m.row));
  const outliers = findOutliers(input.neighbourSimilarity)
    .filter((o) => !flagged.has(o.row))
    .map((o) => ({ row: o.row, suggested: null, score: o.score }));
  return [...mislabelled, ...outliers]
    .sort((a, b) => b.score - a.score || a.row - b.row)
    .map(({ row, suggested, score }) => ({ key: keys[row]!, given: classes[y[row]!]!, suggested, score }));
}
