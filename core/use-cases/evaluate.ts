import { createHash } from 'node:crypto';
import { DataError } from '../errors.js';
import type { Manifest } from '../features/manifest.js';
import type { FeatureStore } from '../features/feature-store.js';
import { splitInBlocks } from '../features/training-data.js';
import { loadHead } from '../heads/index.js';
import { classificationMetrics } from '../metrics/classification.js';
import type { BlobStore } from '../ports/blob-store.js';
import { CODE_MAP_KEY, DATA_QUALITY_KEY } from '../quality/data-quality.js';
import { renderMarkdownReport } from '../report/markdown.js';
import { reliability } from '../report/html-calibration.js';
import {
  readEvaluation,
  type CalibrationComparison,
  type Evaluation,
  type Metrics,
  type Prediction,
} from '../workspace/evaluation.js';
import type { ReportInputs } from '../workspace/report-inputs.js';
import { readHeadArtefact, requireHeadArtefact, type HeadArtefact } from '../workspace/head-artefact.js';
import { readManifest, type ManifestEntryIndex } from '../workspace/manifest-store.js';
import { HTML_REPORT_KEY, METRICS_KEY, REPORT_KEY } from '../workspace/keys.js';
import { analyzeDataQuality } from './data-quality.js';
import type { ProgressSink } from './progress.js';
import { writeHtmlReport, type ReportDeps } from './report.js';

export interface EvaluateRequest {
  split?: string;
  /** Extra context for the report (timings from extract/train). */
  timings?: Record<string, number>;
  /** The serverless run's execution (ARN), named by the reports. */
  execution?: string;
}

export interface EvaluateDeps {
  workspace: BlobStore;
  features: FeatureStore;
  /** The dataset's images: report.html shows the misclassified ones as thumbnails when it is given. */
  data?: BlobStore;
  /** The workspace index that holds the manifest's entries (local workspaces). */
  manifestIndex?: ManifestEntryIndex;
  onProgress?: ProgressSink;
}

const SUMMARY_EXAMPLES = 5;

/** Bump when metrics.json or the reports change shape, so a re-run redoes the ones stored by an older version. */
const REPORTS_REVISION = 3;

/**
 * What an evaluation depends on: the head (its cache key covers the training data and options), the codes' namespace,
 * the split, and every entry and reject of that split. Equal digests mean equal metrics.
 */
export function evaluationInputs(manifest: Manifest, artefact: HeadArtefact, split: string): string {
  const hash = createHash('sha256').update(
    JSON.stringify([REPORTS_REVISION, artefact.cacheKey, artefact.namespace, split, manifest.classes]),
  );
  for (const e of manifest.entries) if (e.split === split) hash.update(`\n${e.key}\0${e.label}\0${e.contentHash}`);
  for (const r of manifest.rejects) if (r.split === split) hash.update(`\nreject\0${r.key}\0${r.kind}`);
  return hash.digest('hex').slice(0, 32);
}

/**
 * The evaluation already in the workspace, when it was computed from exactly the current inputs and its reports are
 * there too: a re-run on unchanged data keeps it (and the throughput its first run measured) instead of redoing it.
 */
export async function storedEvaluation(
  deps: Pick<EvaluateDeps, 'workspace' | 'manifestIndex'>,
  split = 'val',
): Promise<Evaluation | undefined> {
  const [manifest, artefact, stored] = await Promise.all([
    readManifest(deps.workspace, deps.manifestIndex).catch(() => undefined),
    // A file this build cannot read (another version, damaged) is simply not a stored evaluation: it is redone.
    readHeadArtefact(deps.workspace).catch(() => undefined),
    readEvaluation(deps.workspace).catch(() => undefined),
  ]);
  if (
    !manifest ||
    !artefact ||
    stored?.inputs === undefined ||
    stored.inputs !== evaluationInputs(manifest, artefact, split)
  )
    return undefined;
  const reports = await Promise.all(
    [REPORT_KEY, HTML_REPORT_KEY, DATA_QUALITY_KEY, CODE_MAP_KEY].map((key) => deps.workspace.exists(key)),
  );
  return reports.every(Boolean) ? stored : undefined;
}

/** Scores the fitted head on a held-out split (val by default) that neither training nor CV ever saw. */
export async function evaluate(deps: EvaluateDeps, request: EvaluateRequest = {}): Promise<Evaluation> {
  const split = request.split ?? 'val';
  if (split === 'train')
    throw new DataError('refusing to report accuracy on the split the head was trained on; use --split val or test');
  const manifest = await readManifest(deps.workspace, deps.manifestIndex);
  const artefact = await requireHeadArtefact(deps.workspace);
  if (artefact.namespace !== manifest.namespaces[artefact.layer]?.id) {
    throw new DataError(
      'the head was trained on codes from another model or cut point than this cache holds; retrain it',
    );
  }
  const { metrics, predictions, calibration } = await scoreSplit(deps.features, manifest, artefact, split);
  const evaluation: Evaluation = {
    version: 1,
    split,
    model: artefact.model,
    layer: artefact.layer,
    head: { kind: artefact.options.kind, C: artefact.options.C },
    classes: manifest.classes,
    metrics,
    predictions,
    rejected: manifest.rejects.filter((r) => r.split === split).length,
    timings: { headFitSeconds: artefact.fitSeconds, ...(request.timings ?? {}) },
    inputs: evaluationInputs(manifest, artefact, split),
    ...(calibration ? { calibration } : {}),
    ...(request.execution ? { run: { execution: request.execution } } : {}),
  };
  deps.onProgress?.({ phase: 'evaluate', done: predictions.length, total: predictions.length });
  // metrics.json last: its inputs digest vouches for the reports beside it (see storedEvaluation), even after a crash.
  const analysing = performance.now();
  const analysed = await analyzeDataQuality(deps, manifest, artefact);
  evaluation.timings.dataQualitySeconds = (performance.now() - analysing) / 1000;
  const q = analysed.quality;
  evaluation.dataQuality = {
    duplicateGroups: q.duplicates.length,
    leakageCount: q.leakage.length,
    labelIssueCount: q.labelIssues.length,
    leakage: q.leakage.slice(0, SUMMARY_EXAMPLES),
    labelIssues: q.labelIssues.slice(0, SUMMARY_EXAMPLES),
  };
  const inputs = { manifest, head: artefact, evaluation, quality: analysed.quality, codeMap: analysed.map };
  await writeEvaluation({ workspace: deps.workspace, ...(deps.data ? { data: deps.data } : {}) }, inputs);
  return evaluation;
}

/**
 * An evaluation's outputs: report.md, report.html, and metrics.json last, whose inputs digest vouches for the reports
 * beside it (see storedEvaluation), even after a crash.
 */
export async function writeEvaluation(deps: ReportDeps, inputs: ReportInputs): Promise<void> {
  await deps.workspace.put(REPORT_KEY, renderMarkdownReport(inputs));
  await writeHtmlReport(deps, inputs);
  await deps.workspace.put(METRICS_KEY, JSON.stringify(inputs.evaluation, null, 2));
}

/**
 * The head's predictions and metrics on one split, scored a block of rows at a time (each row's probabilities depend
 * on that row alone), so the split's codes are never all held, as float32 or as the heads' float64.
 */
async function scoreSplit(features: FeatureStore, manifest: Manifest, artefact: HeadArtefact, split: string) {
  const { dim, entries, blocks } = splitInBlocks(features, manifest, artefact.layer, split, SCORED_ROWS);
  return scoreRows(artefact, manifest.classes, entries, dim, blocks);
}

/**
 * A head's predictions and metrics on labelled rows read in blocks (`offset`: the block's first row in `entries`),
 * with the before/after of its temperature when it has one: image splits and `train --codes` val codes alike.
 */
export async function scoreRows(
  artefact: HeadArtefact,
  classes: string[],
  entries: ReadonlyArray<{ key: string; label: number }>,
  dim: number,
  blocks: AsyncIterable<{ offset: number; codes: Float32Array }>,
): Promise<{ metrics: Metrics; predictions: Prediction[]; calibration?: CalibrationComparison }> {
  const head = loadHead(artefact.head);
  // A calibrated head is also scored without its temperature, for the report's before/after (same argmax).
  const raw = head.temperature !== 1 ? loadHead({ ...artefact.head, temperature: 1 }) : undefined;
  let k = 0;
  let proba = new Float64Array(0);
  let rawProba = new Float64Array(0);
  for await (const block of blocks) {
    const rows = block.codes.length / dim;
    const X = { rows, cols: dim, data: Float64Array.from(block.codes) };
    const scored = head.predictProba(X);
    if (block.offset === 0) [k, proba] = [scored.cols, new Float64Array(entries.length * scored.cols)];
    proba.set(scored.data, block.offset * k);
    if (!raw) continue;
    if (block.offset === 0) rawProba = new Float64Array(entries.length * k);
    rawProba.set(raw.predictProba(X).data, block.offset * k);
  }
  const y = Int32Array.from(entries, (e) => e.label);
  const metrics = classificationMetrics(y, { rows: entries.length, cols: k, data: proba }, classes);
  const predictionsOf = (p: Float64Array): Prediction[] =>
    entries.map((entry, i) => {
      const row = Array.from(p.subarray(i * k, (i + 1) * k));
      const predicted = row.indexOf(Math.max(...row));
      return { key: entry.key, label: entry.label, predicted, confidence: row[predicted]!, probabilities: row };
    });
  const predictions = predictionsOf(proba);
  if (!raw) return { metrics, predictions };
  const before = reliability(predictionsOf(rawProba));
  const rawMetrics = classificationMetrics(y, { rows: entries.length, cols: k, data: rawProba }, classes);
  const calibration: CalibrationComparison = {
    temperature: head.temperature,
    before: { ece: before.ece, logLoss: finiteOrNull(rawMetrics.logLoss), bins: before.bins },
    after: { ece: reliability(predictions).ece, logLoss: finiteOrNull(metrics.logLoss) },
  };
  return { metrics, predictions, calibration };
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

/** Rows scored per block: 4,096 × 1,280 codes are 20 MB of float32 and 40 MB as float64 (twice: the scaled copy). */
const SCORED_ROWS = 4096;
