import { createHash } from 'node:crypto';
import { DataError } from '../errors.js';
import { cachedRows } from '../features/code-rows.js';
import type { FeatureStore, NamespaceInfo } from '../features/feature-store.js';
import type { Manifest, ManifestEntry } from '../features/manifest.js';
import { loadSplitCodes } from '../features/training-data.js';
import { withTemperature, type HeadKind, type HeadOptions } from '../heads/head.js';
import { expectedCalibrationError, fitTemperature, temper, temperedLogLoss } from '../heads/calibration.js';
import { takeLabels, takeRows, type Matrix } from '../heads/matrix.js';
import { inMemoryRows } from '../heads/row-source.js';
import { classCounts } from '../heads/validate.js';
import { qualityLayer, type TrainQuality } from '../quality/data-quality.js';
import {
  findDuplicates,
  NEAR_DUPLICATE_COSINE,
  nearDuplicateRule,
  type NearDuplicateRule,
} from '../quality/duplicates.js';
import { imageSignaturesOf, type ImageSignatures } from '../quality/image-signature.js';
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
import { fitHead, resolveSearch, runsStreamed, type FittedHead, type HeadSearch, type LayerRows } from './fit-head.js';
import type { ProgressSink } from './progress.js';
import { searchCachedDuplicates, type CachedDuplicates } from './train-streamed.js';

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
  /**
   * The dataset's images, when at hand (local runs): near-duplicate candidates on the codes are confirmed by each
   * image's signature (core/quality/duplicates.ts nearDuplicateRule); without them, by the signatures the workspace
   * has cached (a serverless run's, taken by its extract workers), else the codes decide alone.
   */
  data?: BlobStore;
}

/** Bump when the train step's data-quality analysis changes, so cached heads are refitted with the new one. */
const QUALITY_REVISION = 4;

/** Kept here for its callers; the reader (and the entry index behind it) is core/workspace/manifest-store.ts. */
export { readManifest } from '../workspace/manifest-store.js';

/** Cached codes (train split only) → a fitted head, with C, layer and head type chosen by CV on train. */
export async function trainHead(
  deps: TrainDeps,
  request: TrainRequest = {},
): Promise<{ artefact: HeadArtefact; reused: boolean }> {
  const manifest = await readManifest(deps.workspace, deps.manifestIndex);
  const search = resolveSearch(request);
  const layers =
    request.layer === undefined || request.layer === 'auto'
      ? request.layer === 'auto'
        ? Object.keys(manifest.namespaces)
        : ['final']
      : [request.layer];

  const trainEntries = manifest.entries.filter((e) => e.split === 'train');
  // By the images where they are at hand, else by the workspace's cache of their signatures (a serverless train step's,
  // written from its extract workers'): the rule is part of the head's identity.
  const signatures = await imageSignaturesOf({ data: deps.data, workspace: deps.workspace }, trainEntries);
  const cacheKey = headCacheKey(
    manifest,
    layers,
    search.kinds,
    request,
    search.folds,
    search.seed,
    signatures !== undefined,
  );
  const cached = await readHeadArtefact(deps.workspace, cachedHeadKey(cacheKey));
  if (cached) {
    await deps.workspace.put(HEAD_KEY, JSON.stringify(cached));
    return { artefact: cached, reused: true };
  }

  const { chosen, head, trainedOn, fitSeconds, cv, quality, calibration } = await fitWithQuality(
    deps,
    manifest,
    layers,
    trainEntries,
    signatures,
    search,
    request.excludeSuspects === true,
  );
  const options: HeadOptions = { kind: chosen.kind, C: chosen.C, classWeight: search.classWeight, seed: search.seed };
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

/**
 * The train entries' codes of every candidate layer as RowSources over the cache (fitHead reads them in memory, or
 * streams one logistic layer of more codes than memory should hold), with the data-quality analysis around the fit:
 * near duplicates kept in one fold (in memory: exact search on the quality layer's codes; streamed: the cell search
 * over the cache), label issues and outliers from the out-of-fold probabilities, `excludeSuspects`, and the
 * temperature. The search compares the quality layer (final when extracted) on both paths.
 */
async function fitWithQuality(
  deps: TrainDeps,
  manifest: Manifest,
  layers: string[],
  entries: ManifestEntry[],
  signatures: ImageSignatures | undefined,
  search: HeadSearch,
  excludeSuspects: boolean,
): Promise<FittedHead & { quality: TrainQuality; calibration?: Calibration }> {
  const infoOf = (cut: string): NamespaceInfo => {
    const ns = manifest.namespaces[cut];
    if (!ns)
      throw new DataError(
        `no codes for cut point "${cut}" in this cache (has: ${Object.keys(manifest.namespaces).join(', ')}); run extract with --layer ${cut}`,
      );
    return { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut };
  };
  if (entries.length === 0) throw new DataError(`split "train" has no usable images in ${manifest.dataset}`);
  const y = Int32Array.from(entries, (e) => e.label);
  const keys = entries.map((e) => e.key);
  const size = (layer: string) => ({ rows: { n: entries.length, dim: infoOf(layer).dim } });
  const qLayer = qualityLayer(manifest.namespaces, layers[0]!);
  const rule = nearDuplicateRule(signatures);
  const { rows, near } = runsStreamed(layers.map(size), search.kinds, deps.streamedMinValues)
    ? streamedFromCache(
        deps.features,
        layers.map(infoOf),
        entries,
        y,
        await searchCachedDuplicates(deps.features, infoOf(qLayer), entries, rule),
      )
    : await inMemoryFromCache(deps.features, manifest, layers, qLayer, entries, y, rule);
  const issuesOf = (outOfFold: Matrix | undefined) =>
    rankLabelIssues({ outOfFold, y, neighbourSimilarity: near.neighbourSimilarity, keys, classes: manifest.classes });
  const fitted = await fitHead({ layers: rows, labels: y, origin: 'from the code cache' }, search, {
    ...(near.groupIds ? { groups: near.groupIds } : {}),
    outOfFold: true,
    ...(excludeSuspects ? { exclude: (outOfFold) => excludable(issuesOf(outOfFold), y, keys) } : {}),
    ...(deps.streamedMinValues !== undefined ? { streamedMinValues: deps.streamedMinValues } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const labelIssues = issuesOf(fitted.outOfFold);
  const quality: TrainQuality = {
    layer: qLayer,
    threshold: NEAR_DUPLICATE_COSINE,
    ...(rule.byImage ? { confirmedByImage: true } : {}),
    duplicates: near.duplicates.map((g) => g.map((i) => keys[i]!)),
    grouped: fitted.grouped,
    labelIssues,
    excluded: fitted.excluded.map((i) => keys[i]!),
    ...(near.searchSeconds !== undefined ? { searchSeconds: near.searchSeconds } : {}),
  };
  const calibration = fitted.outOfFold
    ? calibrate(fitted.outOfFold, y, new Set(labelIssues.map((i) => i.key)), entries)
    : undefined;
  const head = calibration ? withTemperature(fitted.head, calibration.temperature) : fitted.head;
  return { ...fitted, head, quality, ...(calibration ? { calibration } : {}) };
}

interface Prepared {
  rows: LayerRows[];
  near: Omit<CachedDuplicates, 'searchSeconds'> & { searchSeconds?: number };
}

/**
 * The streamed fit's rows: a RowSource over the cache's shards per layer (shard order, `order` back to the entries),
 * whose subsets are read the same way for the refit after `excludeSuspects`.
 */
function streamedFromCache(
  features: FeatureStore,
  layers: NamespaceInfo[],
  entries: readonly ManifestEntry[],
  y: Int32Array,
  near: CachedDuplicates,
): Prepared {
  const rowsOf = (ns: NamespaceInfo, chosen: readonly ManifestEntry[], labels: Int32Array) => {
    const { source, order } = cachedRows(
      features,
      ns,
      chosen.map((e) => e.codes[ns.cut]!),
      labels,
    );
    return { rows: source, order };
  };
  const rows = layers.map((ns) => ({
    layer: ns.cut,
    ...rowsOf(ns, entries, y),
    subset: (keep: Int32Array) =>
      rowsOf(
        ns,
        Array.from(keep, (i) => entries[i]!),
        Int32Array.from(keep, (i) => y[i]!),
      ),
  }));
  return { rows, near };
}

/**
 * The in-memory fit's rows: every layer's train codes read once (entry order, float32), and near duplicates by cosine
 * over the quality layer's codes (every pair: exact) with identical bytes by content hash.
 */
async function inMemoryFromCache(
  features: FeatureStore,
  manifest: Manifest,
  layers: string[],
  qLayer: string,
  entries: readonly ManifestEntry[],
  y: Int32Array,
  rule: NearDuplicateRule,
): Promise<Prepared> {
  const codes = new Map<string, { codes: Float32Array; dim: number }>();
  for (const layer of layers) codes.set(layer, await loadSplitCodes(features, manifest, layer, 'train'));
  const q = codes.get(qLayer) ?? (await loadSplitCodes(features, manifest, qLayer, 'train'));
  const found = findDuplicates(
    entries.map((e) => e.contentHash),
    normalizedRows(q.codes, entries.length, q.dim),
    q.dim,
    rule,
  );
  return {
    rows: layers.map((layer) => ({ layer, rows: inMemoryRows(codes.get(layer)!.codes, y, codes.get(layer)!.dim) })),
    near: { duplicates: found.groups, groupIds: found.groupIds, neighbourSimilarity: found.neighbourSimilarity },
  };
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

function headCacheKey(
  manifest: Manifest,
  layers: string[],
  kinds: HeadKind[],
  request: TrainRequest,
  folds: number,
  seed: number,
  byImage: boolean,
): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      v: 1,
      quality: [QUALITY_REVISION, NEAR_DUPLICATE_COSINE, request.excludeSuspects === true, byImage],
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

/** The suspects' rows, in rank order, leaving at least two images in every class (a head cannot be fitted on a class it never sees). */
function excludable(issues: ReadonlyArray<{ key: string }>, y: Int32Array, keys: readonly string[]): Set<number> {
  const left = classCounts(y);
  const rowOf = new Map(keys.map((k, i) => [k, i]));
  const out = new Set<number>();
  for (const { key } of issues) {
    const row = rowOf.get(key)!;
    const label = y[row]!;
    if (left[label]! <= 2) continue;
    left[label]! -= 1;
    out.add(row);
  }
  return out;
}
