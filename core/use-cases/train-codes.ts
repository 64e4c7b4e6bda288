import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { Manifest } from '../features/manifest.js';
import { planFolds } from '../heads/folds.js';
import {
  createHead,
  crossValidate,
  type CvResult,
  defaultCGrid,
  loadHead,
  type HeadKind,
  type HeadOptions,
  type Matrix,
} from '../heads/index.js';
import type { RowSource } from '../heads/row-source.js';
import { crossValidateStreamed, fitStreamed } from '../heads/streamed-logistic.js';
import { classificationMetrics } from '../metrics/classification.js';
import type { BlobStore } from '../ports/blob-store.js';
import { renderHtmlReport } from '../report/html.js';
import { renderMarkdownReport } from '../report/markdown.js';
import type { Evaluation, Prediction } from '../workspace/evaluation.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import { HEAD_KEY, HTML_REPORT_KEY, METRICS_KEY, REPORT_KEY } from '../workspace/keys.js';
import { startClock } from '../util/clock.js';
import { streamedCvTable } from './train-streamed.js';
import type { ProgressSink } from './progress.js';

/** Codes someone already has (CLIP, DINOv2, …): float32 rows with integer labels, read through a RowSource. */
export interface LabelledRows {
  rows: RowSource;
  /** Label of every row, in the source's order (fold assignment needs them all up front: 4 bytes a row). */
  labels: Int32Array;
  /** Where they came from, for the report. */
  name: string;
}

export interface CodesTrainRequest {
  head?: HeadKind | 'auto';
  C?: number;
  folds?: number;
  seed?: number;
  classWeight?: 'balanced' | null;
  /** onnxruntime threads for the streamed engine (default: every core). */
  threads?: number;
}

export interface CodesTrainInput {
  train: LabelledRows;
  val?: LabelledRows;
  /** Identifies the codes (e.g. a hash of the files' names, sizes and times): recorded as the head's namespace. */
  fingerprint: string;
}

export interface CodesTrainResult {
  artefact: HeadArtefact;
  evaluation?: Evaluation;
}

/**
 * Rows × dims above which the heads run streamed on float32 rows with ONNX GEMMs instead of the in-memory float64
 * path. Below it the data is small enough that the in-memory path (Gram-matrix tricks when n < d, SVMs, `--head
 * auto`) is as fast or faster (bench/README-heads.md: 245 × 1280 in 0.24 s CPU); above it scalar JS falls behind
 * (100k × 512: 18.8 s CPU in memory against about 3 s streamed).
 */
export const STREAMED_MIN_VALUES = 2_000_000;

/**
 * `cnn-codes train --codes X.npy --labels y.npy`: the same model selection as for images (stratified k-fold CV on
 * train, C grid, tie rules), the same head.json, and, with val codes, the same metrics.json and reports.
 */
export async function trainOnCodes(
  deps: { workspace: BlobStore; onProgress?: ProgressSink },
  input: CodesTrainInput,
  request: CodesTrainRequest = {},
): Promise<CodesTrainResult> {
  const { train, val } = input;
  const { n, dim, classes: k } = train.rows;
  if (val && val.rows.dim !== dim)
    throw new ConfigError(`val codes have ${val.rows.dim} dims but train codes have ${dim}`);
  if (val && val.rows.classes > k)
    throw new ConfigError(`val labels go up to ${val.rows.classes - 1} but train labels only to ${k - 1}`);
  const folds = request.folds ?? 5;
  const seed = request.seed ?? 0;
  const classWeight = request.classWeight ?? null;
  const kinds: HeadKind[] = request.head === 'auto' ? ['logistic', 'svm'] : [request.head ?? 'logistic'];
  const grid = request.C !== undefined ? [request.C] : defaultCGrid();
  const streamed = n * dim > STREAMED_MIN_VALUES;
  if (streamed && kinds.includes('svm')) {
    throw new ConfigError(
      `${n} × ${dim} codes are fitted streamed, which supports the logistic head only; drop --head ${request.head}`,
    );
  }
  const classes = Array.from({ length: k }, (_, c) => String(c));
  const progress = (done: number, total: number, message: string) =>
    deps.onProgress?.({ phase: 'train', done, total, message });
  const clock = startClock();

  let cv: HeadArtefact['cv'] = null;
  let head: HeadArtefact['head'];
  let chosen: HeadOptions = { kind: kinds[0]!, C: grid[0]!, classWeight, seed };
  let fitSeconds: number;
  if (streamed) {
    const options = {
      classWeight,
      ...(request.threads ? { threads: request.threads } : {}),
      onPass: (p: number) => progress(p, p, 'passes over the codes'),
    };
    if (grid.length > 1) {
      // The in-memory path's fold rule: k lowered to the smallest class.
      const plan = planFolds(train.labels, folds, seed);
      const result = await crossValidateStreamed(train.rows, grid, plan.foldOf, plan.folds, options);
      const spent = clock();
      const { table, best } = streamedCvTable(result, spent.wallSeconds, 'codes');
      cv = {
        folds: plan.folds,
        seed,
        table,
        best,
        ...spent,
        engine: `streamed float32, ONNX GEMM, ${result.passes} passes`,
      };
      chosen = { ...chosen, C: best.C };
      head = result.head;
      fitSeconds = spent.wallSeconds;
    } else {
      const started = performance.now();
      head = (await fitStreamed(train.rows, grid[0]!, options)).head;
      fitSeconds = (performance.now() - started) / 1000;
    }
  } else {
    const X = await materialize(train.rows);
    if (kinds.length * grid.length > 1) {
      const candidates = kinds.flatMap((kind) =>
        grid.map((C) => ({ id: `codes/${kind}/C=${C}`, X, options: { kind, C, classWeight, seed } })),
      );
      const result = crossValidate(candidates, train.labels, {
        folds,
        seed,
        onProgress: (done, total) => progress(done, total, 'cross-validation'),
      });
      cv = inMemoryCv(result, seed, clock);
      chosen = { ...chosen, kind: result.best.kind, C: result.best.C };
    }
    const started = performance.now();
    head = createHead(chosen).fit(X, train.labels).toJSON();
    fitSeconds = (performance.now() - started) / 1000;
  }

  const cacheKey = createHash('sha256')
    .update(JSON.stringify([input.fingerprint, chosen, folds, seed, grid]))
    .digest('hex')
    .slice(0, 24);
  const artefact: HeadArtefact = {
    version: 1,
    model: { name: train.name, sha256: input.fingerprint },
    layer: 'codes',
    namespace: input.fingerprint,
    classes,
    options: chosen,
    cv,
    head,
    trainedOn: n,
    fitSeconds,
    cacheKey,
  };
  await deps.workspace.put(HEAD_KEY, JSON.stringify(artefact));
  if (!val) return { artefact };
  const evaluation = await evaluateCodes(artefact, val, classes);
  const manifest = reportManifest(input, classes);
  await deps.workspace.put(REPORT_KEY, renderMarkdownReport({ manifest, head: artefact, evaluation }));
  await deps.workspace.put(
    HTML_REPORT_KEY,
    renderHtmlReport({
      manifest,
      head: artefact,
      evaluation,
      thumbnails: new Map(),
      thumbnailsNote: 'No thumbnails: these codes did not come from images.',
      generatedAt: new Date(),
    }),
  );
  await deps.workspace.put(METRICS_KEY, JSON.stringify(evaluation, null, 2));
  return { artefact, evaluation };
}

async function materialize(rows: RowSource): Promise<Matrix> {
  const data = new Float64Array(rows.n * rows.dim);
  for await (const chunk of rows.chunks())
    data.set(chunk.X.subarray(0, chunk.rows * rows.dim), chunk.offset * rows.dim);
  return { rows: rows.n, cols: rows.dim, data };
}

async function evaluateCodes(artefact: HeadArtefact, val: LabelledRows, classes: string[]): Promise<Evaluation> {
  const head = loadHead(artefact.head);
  const k = classes.length;
  const proba = new Float64Array(val.rows.n * k);
  for await (const chunk of val.rows.chunks()) {
    const X = {
      rows: chunk.rows,
      cols: val.rows.dim,
      data: Float64Array.from(chunk.X.subarray(0, chunk.rows * val.rows.dim)),
    };
    proba.set(head.predictProba(X).data, chunk.offset * k);
  }
  const probabilities: Matrix = { rows: val.rows.n, cols: k, data: proba };
  const predictions: Prediction[] = Array.from(val.labels, (label, i) => {
    const p = Array.from(proba.subarray(i * k, (i + 1) * k));
    const predicted = p.indexOf(Math.max(...p));
    return { key: `${val.name}#${i}`, label, predicted, confidence: p[predicted]!, probabilities: p };
  });
  return {
    version: 1,
    split: 'val',
    model: artefact.model,
    layer: artefact.layer,
    head: { kind: artefact.options.kind, C: artefact.options.C },
    classes,
    metrics: classificationMetrics(val.labels, probabilities, classes),
    predictions,
    rejected: 0,
    timings: {
      headFitSeconds: artefact.fitSeconds,
      ...(artefact.cv?.wallSeconds !== undefined
        ? { cvWallSeconds: artefact.cv.wallSeconds, cvCpuSeconds: artefact.cv.cpuSeconds ?? 0 }
        : {}),
    },
  };
}

/** The reports describe a dataset by its manifest; codes without images get one that lists rows instead. */
function reportManifest(input: CodesTrainInput, classes: string[]): Manifest {
  const entries = (split: string, rows: LabelledRows | undefined) =>
    Array.from(rows?.labels ?? [], (label, i) => ({
      key: `${rows!.name}#${i}`,
      split,
      label,
      contentHash: '',
      codes: {},
    }));
  return {
    version: 1,
    dataset: input.train.name,
    model: { name: input.train.name, sha256: input.fingerprint },
    classes,
    splitSynthesized: false,
    namespaces: {},
    entries: [...entries('train', input.train), ...entries('val', input.val)],
    rejects: [],
    ignored: [],
  };
}

/** head.json's record of a search the in-memory heads ran (`crossValidate`), with the folds it actually used. */
export function inMemoryCv(
  result: CvResult,
  seed: number,
  clock: ReturnType<typeof startClock>,
): NonNullable<HeadArtefact['cv']> {
  return {
    folds: result.folds,
    seed,
    table: result.table,
    best: result.best,
    ...clock(),
    engine: 'in memory, float64',
  };
}
