import type { Matrix } from '../heads/matrix.js';

export interface LabelIssueRow {
  row: number;
  given: number;
  suggested: number;
  /** Out-of-fold probability of the suggested class minus that of the given one: higher is surer (at most 1). */
  score: number;
}

/**
 * Likely label errors by confident learning (Northcutt, Jiang & Chuang, "Confident Learning", JAIR 2021), from
 * out-of-fold probabilities, so no image is judged by a model that trained on its own label.
 * Each class j gets a threshold t_j: the mean probability of j over the images labelled j (its self-confidence).
 * An image "confidently belongs" to class j when p_j ≥ t_j; among such classes the likeliest is its confident label.
 * Images whose confident label differs from the given one are the off-diagonal of the confident joint: the suspects.
 * Per-class thresholds keep a class the head is generally unsure about (low t_j) from hiding its errors, and a class
 * it is always sure about from flagging its borderline members. Ranked by margin p_suggested − p_given, largest first.
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
  const issues: LabelIssueRow[] = [];
  for (let i = 0; i < n; i++) {
    let confident = -1;
    for (let c = 0; c < k; c++) {
      const pc = p[i * k + c]!;
      if (pc >= thresholds[c]! && (confident < 0 || pc > p[i * k + confident]!)) confident = c;
    }
    const given = y[i]!;
    if (confident < 0 || confident === given) continue;
    issues.push({ row: i, given, suggested: confident, score: p[i * k + confident]! - p[i * k + given]! });
  }
  return issues.sort((a, b) => b.score - a.score || a.row - b.row);
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
