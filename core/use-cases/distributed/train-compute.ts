import type { Manifest } from '../../features/manifest.js';
import type { TrainRequest } from '../train-head.js';
import { defaultCGrid } from '../../heads/model-selection.js';

/** Where a train message runs: the train-head Lambda, or the Batch CPU job for sets the Lambda cannot finish. */
export type TrainCompute = 'lambda' | 'batch';

export interface TrainComputeChoice {
  where: TrainCompute;
  why: string;
  estimatedSeconds: number;
  estimatedBytes: number;
}

/** Codes a head is fitted on (train split), their classes, and how many fits cross-validation makes. */
export interface TrainSize {
  rows: number;
  dim: number;
  classes: number;
  fits: number;
}

export interface LambdaEnvelope {
  memoryBytes: number;
  timeoutSeconds: number;
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
 * The Lambda is chosen while the estimate stays under half its timeout and 60 % of its memory: the margin covers a
 * slower CPU, S3 reads of the codes and a solver that needs more passes than planned.
 */
export const HEAD_COST = {
  multiplyAddsPerSecond: 1e9,
  evaluationsPerFit: 40,
  bytesPerValue: 36,
  timeMargin: 0.5,
  memoryMargin: 0.6,
} as const;

export function chooseTrainCompute(size: TrainSize, lambda: LambdaEnvelope): TrainComputeChoice {
  const outputs = size.classes === 2 ? 1 : size.classes;
  const perPass = size.rows < size.dim ? size.rows * size.rows * outputs * 2 : 2 * size.rows * size.dim * outputs;
  const gram = size.rows < size.dim ? (size.rows * size.rows * size.dim) / 2 : 0;
  const estimatedSeconds =
    (size.fits * (HEAD_COST.evaluationsPerFit * perPass) + gram) / HEAD_COST.multiplyAddsPerSecond;
  const estimatedBytes = HEAD_COST.bytesPerValue * size.rows * size.dim;
  const overTime = estimatedSeconds > HEAD_COST.timeMargin * lambda.timeoutSeconds;
  const overMemory = estimatedBytes > HEAD_COST.memoryMargin * lambda.memoryBytes;
  const verdict = overTime
    ? `over half the Lambda's ${lambda.timeoutSeconds} s timeout`
    : overMemory
      ? `over 60 % of the Lambda's ${(lambda.memoryBytes / 2 ** 30).toFixed(1)} GiB`
      : "within the Lambda's envelope with margin";
  const shape = `${size.rows} × ${size.dim} codes, ${size.classes} classes, ${size.fits} fits`;
  const estimate = `about ${Math.ceil(estimatedSeconds)} s and ${(estimatedBytes / 2 ** 30).toFixed(2)} GiB`;
  return {
    where: overTime || overMemory ? 'batch' : 'lambda',
    why: `${shape}: ${estimate}; ${verdict}`,
    estimatedSeconds,
    estimatedBytes,
  };
}

/** The size of a train request on a manifest: rows and dims of the train split, and how many fits CV makes. */
export function trainSize(manifest: Manifest, request: TrainRequest): TrainSize {
  const layers = request.layer === 'auto' ? Object.keys(manifest.namespaces) : [request.layer ?? 'final'];
  const dim = Math.max(...layers.map((l) => manifest.namespaces[l]?.dim ?? 0));
  const kinds = request.head === 'auto' ? 2 : 1;
  const grid = request.C !== undefined ? 1 : defaultCGrid().length;
  const folds = request.folds ?? 5;
  const candidates = layers.length * kinds * grid;
  return {
    rows: manifest.entries.filter((e) => e.split === 'train').length,
    dim,
    classes: manifest.classes.length,
    fits: candidates > 1 ? candidates * folds + 1 : 1,
  };
}
