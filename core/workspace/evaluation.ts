import { DataError } from '../errors.js';
import type { ClassificationMetrics } from '../metrics/classification.js';
import type { DataQuality } from '../quality/data-quality.js';
import * as v from 'valibot';
import type { BlobStore } from '../ports/blob-store.js';
import {
  anyObject,
  checkedElsewhere,
  count,
  fields,
  finite,
  integer,
  list,
  mapOf,
  numberOrNull,
  oneOf,
  readArtefact,
  text,
} from './schema.js';
import type { ReliabilityBin } from '../report/html-calibration.js';
import { METRICS_KEY } from './keys.js';

export const EVALUATION_VERSION = 1;

export type Metrics = ClassificationMetrics;

/** Counts from data-quality.json with the first examples, for the CLI and --json. */
export interface DataQualitySummary {
  duplicateGroups: number;
  leakageCount: number;
  labelIssueCount: number;
  leakage: DataQuality['leakage'];
  labelIssues: DataQuality['labelIssues'];
}

export interface CalibrationComparison {
  temperature: number;
  /** Top-label ECE and log-loss of the uncalibrated probabilities, and its reliability bins. */
  before: { ece: number; logLoss: number | null; bins: ReliabilityBin[] };
  after: { ece: number; logLoss: number | null };
}

const label = integer(0, 1_000_000);

export const PredictionSchema = fields({
  key: text,
  label,
  predicted: label,
  confidence: finite,
  probabilities: list(finite),
});
export type Prediction = v.InferOutput<typeof PredictionSchema>;

/** metrics.json: a head scored on a held-out split, with every prediction (the reports are drawn from it). */
export const EvaluationSchema = fields({
  version: oneOf(EVALUATION_VERSION),
  split: text,
  model: fields({ name: text, sha256: text }),
  layer: text,
  head: fields({ kind: text, C: finite }),
  classes: list(text),
  // JSON writes a non-finite log-loss as null; the other figures are always finite.
  metrics: checkedElsewhere<Metrics>()(
    fields({
      n: count,
      accuracy: finite,
      balancedAccuracy: finite,
      macroF1: finite,
      logLoss: numberOrNull,
      perClass: list(anyObject),
      confusion: list(list(finite)),
    }),
  ),
  predictions: list(PredictionSchema),
  rejected: count,
  timings: checkedElsewhere<Record<string, number>>()(mapOf(numberOrNull)),
  /** Absent in files from older versions. */
  dataQuality: v.optional(checkedElsewhere<DataQualitySummary>()(anyObject)),
  /** Digest of everything the numbers depend on (see `evaluationInputs`); absent in files from older versions. */
  inputs: v.optional(text),
  /**
   * The head's temperature (predictions and metrics use it) and the same split scored without it, for the report's
   * before/after; absent when the head has none.
   */
  calibration: v.optional(checkedElsewhere<CalibrationComparison>()(anyObject)),
  /** The serverless run's Step Functions execution (ARN); absent for local runs. */
  run: v.optional(fields({ execution: text })),
});
export type Evaluation = v.InferOutput<typeof EvaluationSchema>;

/** The workspace's metrics.json, checked; undefined when there is none. */
export function readEvaluation(workspace: BlobStore): Promise<Evaluation | undefined> {
  return readArtefact(workspace, METRICS_KEY, EVALUATION_VERSION, EvaluationSchema);
}

export async function requireEvaluation(workspace: BlobStore): Promise<Evaluation> {
  const evaluation = await readEvaluation(workspace);
  if (!evaluation) throw new DataError(`no ${METRICS_KEY} in ${workspace.location}: run "cnn-codes evaluate" first`);
  return evaluation;
}
