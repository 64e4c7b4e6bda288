import type { Manifest } from '../../features/manifest.js';
import type { TrainRequest } from '../train-head.js';
import { resolveSearch } from '../fit-head.js';
import { estimateFit, type FitSize } from '../../heads/fit-cost.js';

/** Where a train message runs: the train-head Lambda, or the Batch CPU job for sets the Lambda cannot finish. */
export type TrainCompute = 'lambda' | 'batch';

export interface LambdaEnvelope {
  memoryBytes: number;
  timeoutSeconds: number;
}

/**
 * The Lambda is chosen while the estimate (core/heads/fit-cost.ts) stays under half its timeout and 60 % of its
 * memory: the margin covers a slower CPU, S3 reads of the codes and a solver that needs more passes than planned.
 */
const LAMBDA_MARGIN = { time: 0.5, memory: 0.6 } as const;

export function chooseTrainCompute(
  size: FitSize,
  lambda: LambdaEnvelope,
): { where: TrainCompute; why: string; estimatedSeconds: number; estimatedBytes: number } {
  const { seconds: estimatedSeconds, bytes: estimatedBytes } = estimateFit(size);
  const overTime = estimatedSeconds > LAMBDA_MARGIN.time * lambda.timeoutSeconds;
  const overMemory = estimatedBytes > LAMBDA_MARGIN.memory * lambda.memoryBytes;
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
export function trainSize(manifest: Manifest, request: TrainRequest): FitSize {
  const layers = request.layer === 'auto' ? Object.keys(manifest.namespaces) : [request.layer ?? 'final'];
  const dim = Math.max(...layers.map((l) => manifest.namespaces[l]?.dim ?? 0));
  const { kinds, grid, folds } = resolveSearch(request);
  const candidates = layers.length * kinds.length * grid.length;
  return {
    rows: manifest.entries.filter((e) => e.split === 'train').length,
    dim,
    classes: manifest.classes.length,
    fits: candidates > 1 ? candidates * folds + 1 : 1,
  };
}
