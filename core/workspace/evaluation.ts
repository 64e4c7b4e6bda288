import { DataError } from '../errors.js';
import type { ClassificationMetrics } from '../metrics/classification.js';
import type { DataQuality } from '../quality/data-quality.js';
import { integer, oneOf, type Check } from '../messages/validate.js';
import type { BlobStore } from '../ports/blob-store.js';
import { anyObject, anyString, fields, finite, list, mapOf, numberOrNull, readArtefact } from './check.js';
import type { HeadArtefact } from './head-artefact.js';
import type { ReliabilityBin } from '../report/html-calibration.js';
import { METRICS_KEY } from './keys.js';

export const EVALUATION_VERSION = 1;

export interface Prediction {
  key: string;
  label: number;
  predicted: number;
  confidence: number;
  probabilities: number[];
}

export type Metrics = ClassificationMetrics;

/** Counts from data-quality.json with the first examples, for the CLI and --json. */
export interface DataQualitySummary {
  duplicateGroups: number;
  leakageCount: number;
  labelIssueCount: number;
  leakage: DataQuality['leakage'];
  labelIssues: DataQuality['labelIssues'];
}

/** metrics.json: a head scored on a held-out split, with every prediction (the reports are drawn from it). */
export interface Evaluation {
  version: typeof EVALUATION_VERSION;
  split: string;
  model: HeadArtefact['model'];
  layer: string;
  head: { kind: string; C: number };
  classes: string[];
  metrics: Metrics;
  predictions: Prediction[];
  rejected: number;
  timings: Record<string, number>;
  /** Absent in files from older versions. */
  dataQuality?: DataQualitySummary;
  /** Digest of everything the numbers depend on (see `evaluationInputs`); absent in files from older versions. */
  inputs?: string;
  /**
   * The head's temperature (predictions and metrics use it) and the same split scored without it, for the report's
   * before/after; absent when the head has none.
   */
  calibration?: CalibrationComparison;
}

export interface CalibrationComparison {
  temperature: number;
  /** Top-label ECE and log-loss of the uncalibrated probabilities, and its reliability bins. */
  before: { ece: number; logLoss: number | null; bins: ReliabilityBin[] };
  after: { ece: number; logLoss: number | null };
}

const label = integer(0, 1_000_000);
const checkPrediction = fields<Prediction>({
  key: anyString,
  label,
  predicted: label,
  confidence: finite,
  probabilities: list(finite),
});

const checkEvaluation: Check<Evaluation> = fields<Evaluation>(
  {
    version: oneOf(EVALUATION_VERSION),
    split: anyString,
    model: fields({ name: anyString, sha256: anyString }),
    layer: anyString,
    head: fields({ kind: anyString, C: finite }),
    classes: list(anyString),
    // JSON writes a non-finite log-loss as null; the other figures are always finite.
    metrics: fields({
      n: integer(0, Number.MAX_SAFE_INTEGER),
      accuracy: finite,
      balancedAccuracy: finite,
      macroF1: finite,
      logLoss: numberOrNull,
      perClass: list(anyObject),
      confusion: list(list(finite)),
    }),
    predictions: list(checkPrediction),
    rejected: integer(0, Number.MAX_SAFE_INTEGER),
    timings: mapOf(numberOrNull),
  },
  { inputs: anyString, dataQuality: anyObject, calibration: anyObject },
);

/** The workspace's metrics.json, checked; undefined when there is none. */
export function readEvaluation(workspace: BlobStore): Promise<Evaluation | undefined> {
  return readArtefact(workspace, METRICS_KEY, EVALUATION_VERSION, checkEvaluation);
}

export async function requireEvaluation(workspace: BlobStore): Promise<Evaluation> {
  const evaluation = await readEvaluation(workspace);
  if (!evaluation) throw new DataError(`no ${METRICS_KEY} in ${workspace.location}: run "cnn-codes evaluate" first`);
  return evaluation;
}
