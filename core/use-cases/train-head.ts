import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { FeatureStore } from '../features/feature-store.js';
import type { Manifest, ManifestEntry } from '../features/manifest.js';
import { loadSplit, type LabelledCodes } from '../features/training-data.js';
import { createHead, type HeadJSON, type HeadKind, type HeadOptions } from '../heads/index.js';
import { expectedCalibrationError, fitTemperature, temper, temperedLogLoss } from '../heads/calibration.js';
import { takeLabels, takeRows, type Matrix } from '../heads/matrix.js';
import { crossValidate, defaultCGrid } from '../heads/model-selection.js';
import { classCounts } from '../heads/validate.js';
import { qualityLayer, type TrainQuality } from '../quality/data-quality.js';
import { findDuplicates, NEAR_DUPLICATE_COSINE } from '../quality/duplicates.js';
import { rankLabelIssues } from '../quality/label-issues.js';
import { normalizedRows } from '../quality/near-duplicates.js';
import type { TrainOptions } from '../messages/schema.js';
import type { BlobStore } from '../ports/blob-store.js';
import { readManifest, type ManifestEntryIndex } from '../workspace/manifest-store.js';
import {
  HEAD_ARTEFACT_VERSION,
  readHeadArtefact,
  type Calibration,
  type HeadArtefact,
} from '../workspace/head-artefact.js';
import { cachedHeadKey, HEAD_KEY } from '../workspace/keys.js';
import { startClock } from '../util/clock.js';
import type { ProgressSink } from './progress.js';
import { inMemoryCv, STREAMED_MIN_VALUES } from './train-codes.js';
import { trainStreamed } from './train-streamed.js';

/** What to train: the same shape a train message carries. */
export type TrainRequest = TrainOptions;

export interface TrainDeps {
  workspace: BlobStore;
  /** Where the fit runs and why (serverless: the Lambda or the Batch CPU job); recorded in head.json. */
  compute?: { where: string; why: string };
  features: FeatureStore;
  /** The workspace index that holds the manifest's entries (local workspaces); absent: manifest.json holds them. */
  manifestIndex?: ManifestEntryIndex;
  onProgress?: ProgressSink;
  /**
   * Train rows × dims above which one logistic layer is fitted streamed from the cache (default STREAMED_MIN_VALUES);
   * tests lower it to run the streamed path on small data.
   */
  streamedMinValues?: number;
}

/** Bump when the train step's data-quality analysis changes, so cached heads are refitted with the new one. */
const QUALITY_REVISION = 3;

/** Kept here for its callers; the reader (and the entry index behind it) is core/workspace/manifest-store.ts. */
export { readManifest } from '../workspace/manifest-store.js';

/** Cached codes (train split only) → a fitted head, with C, layer and head type chosen by CV on train. */
export async function trainHead(
  deps: TrainDeps,
  request: TrainRequest = {},
): Promise<{ artefact: HeadArtefact; reused: boolean }> {
  const manifest = await readManifest(deps.workspace, deps.manifestIndex);
  const folds = request.folds ?? 5;
  const seed = request.seed ?? 0;
  const layers =
    request.layer === undefined || request.layer === 'auto'
      ? request.layer === 'auto'
        ? Object.keys(manifest.namespaces)
        : ['final']
      : [request.layer];
  const kinds: HeadKind[] =
    request.head === undefined ? ['logistic'] : request.head === 'auto' ? ['logistic', 'svm'] : [request.head];
  if (request.C !== undefined && !(request.C > 0)) throw new ConfigError(`C must be positive, got ${request.C}`);

  const cacheKey = headCacheKey(manifest, layers, kinds, request, folds, seed);
  const cached = await readHeadArtefact(deps.workspace, cachedHeadKey(cacheKey));
  if (cached) {
    await deps.workspace.put(HEAD_KEY, JSON.stringify(cached));
    return { artefact: cached, reused: true };
  }

  const grid = request.C !== undefined ? [request.C] : defaultCGrid();
  const classWeight = request.classWeight ?? null;
  const trainEntries = manifest.entries.filter((e) => e.split === 'train');
  const only = manifest.namespaces[layers[0]!];
  const streamed =
    layers.length === 1 &&
    kinds.every((k) => k === 'logistic') &&
    only !== undefined &&
    trainEntries.length * only.dim > (deps.streamedMinValues ?? STREAMED_MIN_VALUES);
  const fitted = streamed
    ? await fitStreamedFromCache(deps, manifest, layers[0]!, trainEntries, {
        grid,
        folds,
        seed,
        classWeight,
        excludeSuspects: request.excludeSuspects === true,
      })
    : await fitInMemory(deps, manifest, layers, kinds, request, { grid, folds, seed, classWeight });
  const { cv, chosen, head, trainedOn, fitSeconds, quality, calibration } = fitted;
  const options: HeadOptions = { kind: chosen.kind, C: chosen.C, classWeight, seed };
  const artefact: HeadArtefact = {
    version: HEAD_ARTEFACT_VERSION,
    model: manifest.model,
    layer: chosen.layer,
    namespace: manifest.namespaces[chosen.layer]!.id,
    classes: manifest.classes,
    options,
    cv,
    head,
    trainedOn,
    fitSeconds,
    quality,
    ...(calibration ? { calibration } : {}),
    cacheKey,
    ...(deps.compute ? { compute: deps.compute } : {}),
  };
  await deps.workspace.put(cachedHeadKey(cacheKey), JSON.stringify(artefact));
  await deps.workspace.put(HEAD_KEY, JSON.stringify(artefact));
  return { artefact, reused: false };
}

interface Fitted {
  cv: HeadArtefact['cv'];
  chosen: { layer: string; kind: HeadKind; C: number };
  head: HeadJSON;
  trainedOn: number;
  fitSeconds: number;
  quality: TrainQuality;
  calibration?: Calibration;
}

interface Selection {
  grid: number[];
  folds: number;
  seed: number;
  classWeight: 'balanced' | null;
}

/**
 * Every candidate layer's train codes in memory (float64: n · d · 8 bytes per layer, plus a standardized copy per
 * fold), near duplicates by cosine, C/layer/head by CV with out-of-fold probabilities for the label-issue search.
 */
async function fitInMemory(
  deps: TrainDeps,
  manifest: Manifest,
  layers: string[],
  kinds: HeadKind[],
  request: TrainRequest,
  selection: Selection,
): Promise<Fitted> {
  const { grid, folds, seed, classWeight } = selection;
  const data = new Map<string, LabelledCodes>();
  for (const layer of layers) data.set(layer, await loadSplit(deps.features, manifest, layer, 'train'));
  const y = data.get(layers[0]!)!.y;
  const entries = data.get(layers[0]!)!.entries;
  // Copies of one image in different folds would let CV score memory: find them first, then keep each group in one fold.
  const qLayer = qualityLayer(manifest.namespaces, layers[0]!);
  const qCodes = data.get(qLayer) ?? (await loadSplit(deps.features, manifest, qLayer, 'train'));
  const duplicates = findDuplicates(
    entries.map((e) => e.contentHash),
    normalizedRows(qCodes.X.data, qCodes.X.rows, qCodes.X.cols),
    qCodes.X.cols,
  );

  let cv: HeadArtefact['cv'] = null;
  // With one candidate there is nothing to choose, but its out-of-fold probabilities still find label errors.
  const candidates = layers.flatMap((layer) =>
    kinds.flatMap((kind) =>
      grid.map((C) => ({
        id: `${layer}/${kind}/C=${C}`,
        layer,
        X: data.get(layer)!.X,
        options: { kind, C, classWeight, seed },
      })),
    ),
  );
  // A fixed C on a class of one image fits without CV, as it always did; it just gets no label-error search.
  const canValidate = candidates.length > 1 || Math.min(...classCounts(y)) >= 2;
  const clock = startClock();
  const result = !canValidate
    ? undefined
    : crossValidate(candidates, y, {
        folds,
        seed,
        groups: duplicates.groupIds,
        outOfFold: true,
        onProgress: (done, total) => deps.onProgress?.({ phase: 'train', done, total, message: 'cross-validation' }),
      });
  // crossValidate lowers k when a class has fewer rows than folds; record the k actually used.
  if (result && candidates.length > 1) cv = inMemoryCv(result, seed, clock);
  const chosen = result
    ? { layer: result.best.layer ?? layers[0]!, kind: result.best.kind, C: result.best.C }
    : { layer: layers[0]!, kind: kinds[0]!, C: grid[0]! };
  const labelIssues = rankLabelIssues({
    outOfFold: result?.outOfFold,
    y,
    neighbourSimilarity: duplicates.neighbourSimilarity,
    keys: entries.map((e) => e.key),
    classes: manifest.classes,
  });
  const suspects = request.excludeSuspects ? excludable(labelIssues, entries, y) : new Set<string>();
  const quality: TrainQuality = {
    layer: qLayer,
    threshold: NEAR_DUPLICATE_COSINE,
    duplicates: duplicates.groups.map((g) => g.map((i) => entries[i]!.key)),
    grouped: result?.grouped ?? false,
    labelIssues,
    excluded: [...suspects],
  };

  const all = data.get(chosen.layer)!;
  const kept = Int32Array.from(entries.flatMap((e, i) => (suspects.has(e.key) ? [] : [i])));
  const train = suspects.size === 0 ? all : { X: takeRows(all.X, kept), y: takeLabels(all.y, kept) };
  const started = performance.now();
  const head = createHead({ kind: chosen.kind, C: chosen.C, classWeight, seed }).fit(train.X, train.y);
  const fitSeconds = (performance.now() - started) / 1000;
  const calibration = result?.outOfFold
    ? calibrate(result.outOfFold, y, new Set(labelIssues.map((i) => i.key)), entries)
    : undefined;
  if (calibration) head.calibrate(calibration.temperature);
  const fitted = { cv, chosen, head: head.toJSON(), trainedOn: train.y.length, fitSeconds, quality };
  return calibration ? { ...fitted, calibration } : fitted;
}

/**
 * Temperature scaling fitted on the out-of-fold probabilities of the train rows whose label is not suspect (label
 * issues and outliers are left out whether or not the final fit excludes them), with the out-of-fold ECE and
 * log-loss before and after. A flipped label scored confidently the other way costs the log-loss most, so fitted on
 * every row the temperature softens the head for the sake of its wrong labels: with 3 % planted flips it did
 * (bench/data-quality.ts at 600 images: T = 2.7, val ECE 1.3 % → 14 %).
 */
function calibrate(
  outOfFold: Matrix,
  y: Int32Array,
  excluded: ReadonlySet<string>,
  entries: ReadonlyArray<{ key: string }>,
): Calibration {
  const kept = Int32Array.from(entries.flatMap((e, i) => (excluded.has(e.key) ? [] : [i])));
  const p = excluded.size === 0 ? outOfFold : takeRows(outOfFold, kept);
  const labels = excluded.size === 0 ? y : takeLabels(y, kept);
  const temperature = fitTemperature(p, labels);
  const after = temper(p, temperature);
  return {
    method: 'temperature',
    temperature,
    rows: labels.length,
    outOfFoldEce: [expectedCalibrationError(p, labels), expectedCalibrationError(after, labels)],
    outOfFoldLogLoss: [temperedLogLoss(p, labels, 1), temperedLogLoss(p, labels, temperature)],
  };
}

/**
 * One layer, logistic heads, more codes than the in-memory path should hold: streamed from the cache's shards (see
 * trainStreamed), with the same analysis as in memory: near duplicates (cell search) kept in one fold, label issues
 * and outliers from the out-of-fold probabilities the streamed CV keeps, `excludeSuspects`, and the temperature.
 * The search compares the quality layer (final when extracted), as in memory.
 */
async function fitStreamedFromCache(
  deps: TrainDeps,
  manifest: Manifest,
  layer: string,
  entries: ManifestEntry[],
  selection: Selection & { excludeSuspects: boolean },
): Promise<Fitted> {
  const infoOf = (cut: string) => {
    const ns = manifest.namespaces[cut]!;
    return { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut };
  };
  const info = infoOf(layer);
  const qLayer = qualityLayer(manifest.namespaces, layer);
  const y = Int32Array.from(entries, (e) => e.label);
  const keys = entries.map((e) => e.key);
  const issuesOf = (outOfFold: Matrix | undefined, neighbourSimilarity: Float32Array) =>
    rankLabelIssues({ outOfFold, y, neighbourSimilarity, keys, classes: manifest.classes });
  const fit = await trainStreamed(deps.features, info, entries, {
    ...selection,
    threshold: NEAR_DUPLICATE_COSINE,
    searchNamespace: infoOf(qLayer),
    onPass: (passes) =>
      deps.onProgress?.({ phase: 'train', done: passes, total: passes, message: 'passes over the codes' }),
    ...(selection.excludeSuspects
      ? {
          exclude: (outOfFold: Matrix, similarity: Float32Array) => {
            const rowOf = new Map(keys.map((k, i) => [k, i]));
            return new Set([...excludable(issuesOf(outOfFold, similarity), entries, y)].map((k) => rowOf.get(k)!));
          },
        }
      : {}),
  });
  const excludedKeys = new Set(fit.excluded.map((i) => keys[i]!));
  const quality: TrainQuality = {
    layer: qLayer,
    threshold: NEAR_DUPLICATE_COSINE,
    duplicates: fit.duplicates.map((g) => g.map((i) => entries[i]!.key)),
    grouped: fit.grouped,
    labelIssues: issuesOf(fit.outOfFold, fit.neighbourSimilarity),
    excluded: [...excludedKeys],
    searchSeconds: fit.searchSeconds,
  };
  const suspects = new Set(quality.labelIssues.map((i) => i.key));
  const calibration = fit.outOfFold ? calibrate(fit.outOfFold, y, suspects, entries) : undefined;
  const head = calibration ? { ...fit.head, temperature: calibration.temperature } : fit.head;
  const fitted: Fitted = {
    cv: fit.cv,
    chosen: { layer, kind: 'logistic', C: fit.C },
    head,
    trainedOn: fit.trainedOn,
    fitSeconds: fit.fitSeconds,
    quality,
  };
  return calibration ? { ...fitted, calibration } : fitted;
}
function headCacheKey(
  manifest: Manifest,
  layers: string[],
  kinds: HeadKind[],
  request: TrainRequest,
  folds: number,
  seed: number,
): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      v: 1,
      quality: [QUALITY_REVISION, NEAR_DUPLICATE_COSINE, request.excludeSuspects === true],
      layers: layers.map((l) => manifest.namespaces[l]?.id ?? l),
      kinds,
      C: request.C ?? null,
      classWeight: request.classWeight ?? null,
      folds,
      seed,
      classes: manifest.classes,
    }),
  );
  for (const e of manifest.entries) if (e.split === 'train') hash.update(`${e.contentHash}:${e.label}\n`);
  return hash.digest('hex').slice(0, 24);
}

/** The suspects' keys, leaving at least two images in every class (a head cannot be fitted on a class it never sees). */
function excludable(
  issues: ReadonlyArray<{ key: string }>,
  entries: ReadonlyArray<{ key: string }>,
  y: Int32Array,
): Set<string> {
  const left = classCounts(y);
  const rowOf = new Map(entries.map((e, i) => [e.key, i]));
  const out = new Set<string>();
  for (const { key } of issues) {
    const label = y[rowOf.get(key)!]!;
    if (left[label]! <= 2) continue;
    left[label]! -= 1;
    out.add(key);
  }
  return out;
}
