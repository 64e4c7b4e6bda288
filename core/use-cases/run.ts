import { evaluate, storedEvaluation } from './evaluate.js';
import { extract, type ExtractDeps, type ExtractRequest, type ExtractSummary } from './extract.js';
import { trainHead, type TrainRequest } from './train-head.js';
import type { Evaluation } from '../workspace/evaluation.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';

export interface RunResult {
  extract: ExtractSummary;
  head: HeadArtefact;
  headReused: boolean;
  evaluation: Evaluation;
  /** Nothing was extracted, the head was reused and metrics.json matched its inputs: the stored evaluation stands. */
  evaluationReused: boolean;
  seconds: number;
}

/** The whole job on one dataset: extract (incremental), train with selection on train, evaluate on val. */
export async function run(
  deps: ExtractDeps,
  request: { extract?: ExtractRequest; train?: TrainRequest; split?: string } = {},
): Promise<RunResult> {
  const started = performance.now();
  const layer = request.train?.layer;
  const cuts = request.extract?.cuts ?? (layer === 'auto' ? ['all'] : [layer ?? 'final']);
  // Only the summary is kept: train and evaluate read the manifest themselves, and extraction's copy (about 36 MB at
  // 100 k images) would otherwise stay live through both.
  const { summary } = await extract(deps, { ...request.extract, cuts });
  const trained = await trainHead(deps, request.train);
  const unchanged = summary.embedded === 0 && trained.reused;
  const stored = unchanged ? await storedEvaluation(deps, request.split) : undefined;
  const evaluation =
    stored ??
    (await evaluate(deps, {
      ...(request.split ? { split: request.split } : {}),
      timings: {
        extractSeconds: summary.seconds,
        imagesEmbedded: summary.embedded,
        imagesPerSecond: summary.embedded > 0 ? summary.imagesPerSecond : 0,
      },
    }));
  return {
    extract: summary,
    head: trained.artefact,
    headReused: trained.reused,
    evaluation,
    evaluationReused: stored !== undefined,
    seconds: (performance.now() - started) / 1000,
  };
}
