import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { Manifest } from '../features/manifest.js';
import type { HeadKind, HeadOptions } from '../heads/head.js';
import type { RowSource } from '../heads/row-source.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Evaluation } from '../workspace/evaluation.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import { HEAD_KEY } from '../workspace/keys.js';
import { scoreRows, writeEvaluation } from './evaluate.js';
import { fitHead, resolveSearch, runsStreamed, type LayerRows } from './fit-head.js';
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
 * `cnn-codes train --codes X.npy --labels y.npy`: the image workspace's training path (fitHead: the same model
 * selection, folds and tie rules, in memory or streamed), the same head.json, and, with val codes, the same scoring
 * (evaluate.ts's scoreRows) and outputs (metrics.json, report.md, report.html).
 */
export async function trainOnCodes(
  deps: { workspace: BlobStore; onProgress?: ProgressSink; streamedMinValues?: number },
  input: CodesTrainInput,
  request: CodesTrainRequest = {},
): Promise<CodesTrainResult> {
  const { train, val } = input;
  const { dim, classes: k } = train.rows;
  if (val && val.rows.dim !== dim)
    throw new ConfigError(`val codes have ${val.rows.dim} dims but train codes have ${dim}`);
  if (val && val.rows.classes > k)
    throw new ConfigError(`val labels go up to ${val.rows.classes - 1} but train labels only to ${k - 1}`);
  const search = resolveSearch(request);
  const layers: LayerRows[] = [{ layer: CODES_LAYER, rows: train.rows }];
  if (search.kinds.includes('svm') && runsStreamed(layers, ['logistic'], deps.streamedMinValues)) {
    throw new ConfigError(
      `${train.rows.n} × ${dim} codes are fitted streamed, which supports the logistic head only; drop --head ${request.head}`,
    );
  }
  const fitted = await fitHead({ layers, labels: train.labels }, search, {
    ...(request.threads ? { threads: request.threads } : {}),
    ...(deps.streamedMinValues !== undefined ? { streamedMinValues: deps.streamedMinValues } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const chosen: HeadOptions = {
    kind: fitted.chosen.kind,
    C: fitted.chosen.C,
    classWeight: search.classWeight,
    seed: search.seed,
  };
  const cacheKey = createHash('sha256')
    .update(JSON.stringify([input.fingerprint, chosen, search.folds, search.seed, search.grid]))
    .digest('hex')
    .slice(0, 24);
  const classes = Array.from({ length: k }, (_, c) => String(c));
  const artefact: HeadArtefact = {
    version: 1,
    model: { name: train.name, sha256: input.fingerprint },
    layer: CODES_LAYER,
    namespace: input.fingerprint,
    classes,
    options: chosen,
    cv: fitted.cv,
    head: fitted.head,
    trainedOn: fitted.trainedOn,
    fitSeconds: fitted.fitSeconds,
    cacheKey,
  };
  await deps.workspace.put(HEAD_KEY, JSON.stringify(artefact));
  if (!val) return { artefact };
  const entries = Array.from(val.labels, (label, i) => ({ key: `${val.name}#${i}`, label }));
  const blocks = (async function* () {
    for await (const chunk of val.rows.chunks())
      yield { offset: chunk.offset, codes: chunk.X.subarray(0, chunk.rows * dim) };
  })();
  const scored = await scoreRows(artefact, classes, entries, dim, blocks);
  const evaluation: Evaluation = {
    version: 1,
    split: 'val',
    model: artefact.model,
    layer: artefact.layer,
    head: { kind: artefact.options.kind, C: artefact.options.C },
    classes,
    metrics: scored.metrics,
    predictions: scored.predictions,
    rejected: 0,
    timings: {
      headFitSeconds: artefact.fitSeconds,
      ...(artefact.cv?.wallSeconds !== undefined
        ? { cvWallSeconds: artefact.cv.wallSeconds, cvCpuSeconds: artefact.cv.cpuSeconds ?? 0 }
        : {}),
    },
    ...(scored.calibration ? { calibration: scored.calibration } : {}),
  };
  await writeEvaluation(
    { workspace: deps.workspace, noImagesNote: 'No thumbnails: these codes did not come from images.' },
    { manifest: reportManifest(input, classes), head: artefact, evaluation },
  );
  return { artefact, evaluation };
}

/** The layer name head.json records for codes brought from elsewhere. */
const CODES_LAYER = 'codes';

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
