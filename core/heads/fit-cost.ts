/** Rows (train split) and dims of the codes a head is fitted on, their classes, and how many fits CV makes. */
export interface FitSize {
  rows: number;
  dim: number;
  classes: number;
  fits: number;
}

/**
 * Cost model of the in-memory heads (the engine trainHead runs), from bench/README-heads.md on a 2-vCPU EPYC:
 * - a gradient pass of the primal solver does 2·n·d·outputs multiply-adds in scalar JS at about 1 G/s
 *   (100k × 512 × 10: 18.8 s CPU for 13 evaluations ≈ 1.4 s each);
 * - one fit needs about 30 evaluations from a cold start and fewer warm (measured 11–13 at C = 0.01, up to ~60 at
 *   large C); CV walks C upwards warm-started, so 40 evaluations a fit is the planning figure;
 * - when n < d the span (Gram) solver costs n²·d/2 once per fold plus O(n²) a pass: negligible beside the above;
 * - memory: the float32 codes, their float64 copy, the standardized copy, and per fold a standardized training copy
 *   (0.8 n) and test copy (0.2 n): about (4 + 8 + 8 + 8 + 8)·n·d = 36·n·d bytes at the peak.
 */
export const HEAD_COST = {
  multiplyAddsPerSecond: 1e9,
  evaluationsPerFit: 40,
  bytesPerValue: 36,
} as const;

/** Seconds and peak bytes of fitting heads of `size` in memory, by HEAD_COST. */
export function estimateFit(size: FitSize): { seconds: number; bytes: number } {
  const outputs = size.classes === 2 ? 1 : size.classes;
  const perPass = size.rows < size.dim ? size.rows * size.rows * outputs * 2 : 2 * size.rows * size.dim * outputs;
  const gram = size.rows < size.dim ? (size.rows * size.rows * size.dim) / 2 : 0;
  return {
    seconds: (size.fits * (HEAD_COST.evaluationsPerFit * perPass) + gram) / HEAD_COST.multiplyAddsPerSecond,
    bytes: HEAD_COST.bytesPerValue * size.rows * size.dim,
  };
}
