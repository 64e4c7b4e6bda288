import { createHash } from 'node:crypto';
import { ConfigError, DataError } from '../errors.js';
import type { FeatureStore } from '../features/feature-store.js';
import { MANIFEST_KEY, type Manifest } from '../features/manifest.js';
import { loadSplit, type LabelledCodes } from '../features/training-data.js';
import { createHead, type HeadKind, type HeadOptions } from '../heads/index.js';
import { crossValidate, defaultCGrid } from '../heads/model-selection.js';
import type { TrainOptions } from '../messages/schema.js';
import type { BlobStore } from '../ports/blob-store.js';
import { HEAD_ARTEFACT_VERSION, readHeadArtefact, type HeadArtefact } from '../workspace/head-artefact.js';
import { cachedHeadKey, HEAD_KEY } from '../workspace/keys.js';
import type { ProgressSink } from './progress.js';

/** What to train: the same shape a train message carries. */
export type TrainRequest = TrainOptions;

export interface TrainDeps {
  workspace: BlobStore;
  features: FeatureStore;
  onProgress?: ProgressSink;
}

export async function readManifest(workspace: BlobStore): Promise<Manifest> {
  const manifest = await workspace.getJson<Manifest>(MANIFEST_KEY);
  if (!manifest) throw new DataError(`no ${MANIFEST_KEY} in ${workspace.location}: run "cnn-codes extract" first`);
  return manifest;
}

/** Cached codes (train split only) → a fitted head, with C, layer and head type chosen by CV on train. */
export async function trainHead(deps: TrainDeps, request: TrainRequest = {}): Promise<{ artefact: HeadArtefact; reused: boolean }> {
  const manifest = await readManifest(deps.workspace);
  const folds = request.folds ?? 5;
  const seed = request.seed ?? 0;
  const layers = request.layer === undefined || request.layer === 'auto' ? (request.layer === 'auto' ? Object.keys(manifest.namespaces) : ['final']) : [request.layer];
  const kinds: HeadKind[] = request.head === undefined ? ['logistic'] : request.head === 'auto' ? ['logistic', 'svm'] : [request.head];
  if (request.C !== undefined && !(request.C > 0)) throw new ConfigError(`C must be positive, got ${request.C}`);

  const cacheKey = headCacheKey(manifest, layers, kinds, request, folds, seed);
  const cached = await readHeadArtefact(deps.workspace, cachedHeadKey(cacheKey));
  if (cached) {
    await deps.workspace.put(HEAD_KEY, JSON.stringify(cached));
    return { artefact: cached, reused: true };
  }

  const data = new Map<string, LabelledCodes>();
  for (const layer of layers) data.set(layer, await loadSplit(deps.features, manifest, layer, 'train'));
  const y = data.get(layers[0]!)!.y;
  const grid = request.C !== undefined ? [request.C] : defaultCGrid();
  const classWeight = request.classWeight ?? null;

  let cv: HeadArtefact['cv'] = null;
  let chosen = { layer: layers[0]!, kind: kinds[0]!, C: grid[0]! };
  if (layers.length * kinds.length * grid.length > 1) {
    const candidates = layers.flatMap((layer) =>
      kinds.flatMap((kind) => grid.map((C) => ({ id: `${layer}/${kind}/C=${C}`, layer, X: data.get(layer)!.X, options: { kind, C, classWeight, seed } }))),
    );
    const result = crossValidate(candidates, y, {
      folds,
      seed,
      onProgress: (done, total) => deps.onProgress?.({ phase: 'train', done, total, message: 'cross-validation' }),
    });
    // crossValidate lowers k when a class has fewer rows than folds; record the k actually used.
    cv = { folds: result.folds, seed, table: result.table, best: result.best };
    chosen = { layer: result.best.layer ?? layers[0]!, kind: result.best.kind, C: result.best.C };
  }

  const options: HeadOptions = { kind: chosen.kind, C: chosen.C, classWeight, seed };
  const train = data.get(chosen.layer)!;
  const started = performance.now();
  const head = createHead(options).fit(train.X, train.y);
  const fitSeconds = (performance.now() - started) / 1000;
  const artefact: HeadArtefact = {
    version: HEAD_ARTEFACT_VERSION,
    model: manifest.model,
    layer: chosen.layer,
    namespace: manifest.namespaces[chosen.layer]!.id,
    classes: manifest.classes,
    options,
    cv,
    head: head.toJSON(),
    trainedOn: train.y.length,
    fitSeconds,
    cacheKey,
  };
  await deps.workspace.put(cachedHeadKey(cacheKey), JSON.stringify(artefact));
  await deps.workspace.put(HEAD_KEY, JSON.stringify(artefact));
  return { artefact, reused: false };
}

function headCacheKey(manifest: Manifest, layers: string[], kinds: HeadKind[], request: TrainRequest, folds: number, seed: number): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ v: 1, layers: layers.map((l) => manifest.namespaces[l]?.id ?? l), kinds, C: request.C ?? null, classWeight: request.classWeight ?? null, folds, seed, classes: manifest.classes }));
  for (const e of manifest.entries) if (e.split === 'train') hash.update(`${e.contentHash}:${e.label}\n`);
  return hash.digest('hex').slice(0, 24);
}
