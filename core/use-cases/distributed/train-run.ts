import { DataError } from '../../errors.js';
import { MANIFEST_KEY, REJECTS_KEY, type Manifest } from '../../features/manifest.js';
import type { TrainMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { trainHead } from '../train-head.js';
import type { DistributedDeps } from './deps.js';
import { readShardPart, type ShardPart } from './extract-shard.js';
import { chooseTrainCompute, trainSize, type TrainCompute } from './train-compute.js';
import { RUN_KEYS } from './layout.js';
import { rememberSources, sourcesKey } from './source-identities.js';
import { readRunPlan, type RunPlan } from './plan-run.js';
import { cacheImageSignatures, mergeSignatures } from '../../quality/image-signature.js';

export interface TrainOutcome {
  /**
   * Where the head is fitted: 'batch' from the Lambda means "too large here": the state machine runs the Batch job.
   * Not named `where`: that is a JSONPath keyword, and moto's Choice finds no `$.train.where`.
   */
  compute: TrainCompute;
  why: string;
  /** Absent when handed to the Batch job. */
  cacheKey?: string;
  /** True when an identical head was already fitted (a retried train step): nothing was refitted. */
  reused?: boolean;
}

/** train → manifest from the shards' parts → the core trainHead (or "too large here", for the Choice after it). */
export async function trainRun(deps: DistributedDeps, message: TrainMessage): Promise<TrainOutcome> {
  const workspace = deps.openStore(message.workspace);
  const { manifest, plan, signatures } = await assembleManifest(workspace, message.toleratedFailures ?? 0);
  await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
  const cache = deps.openStore(message.cache);
  // What trainHead's and evaluate's rule read without the images; kept per dataset beside its sources for re-runs.
  const remembered = { store: cache, key: sourcesKey(plan.dataset, 'signatures') };
  await cacheImageSignatures(workspace, signatures, manifest.entries, remembered);
  await rememberSources(cache, plan.dataset, plan.shards.flat(), manifest);
  await workspace.put(REJECTS_KEY, JSON.stringify(manifest.rejects, null, 2));
  const compute = whereToTrain(deps, manifest, message);
  if (compute.where === 'batch' && deps.trainCompute?.runsOn === 'lambda') {
    deps.log?.({ event: 'train:to-batch', runId: message.runId, why: compute.why });
    return { compute: 'batch', why: compute.why };
  }
  const features = deps.openFeatures(message.cache, 'read');
  // The train-head Lambda bundles no onnxruntime and its envelope (train-compute.ts) is sized for the in-memory engine,
  // so there the streamed path is off; the Batch job (a container with node_modules) streams as the CLI does.
  const inMemoryOnly = deps.trainCompute?.runsOn === 'lambda' ? { streamedMinValues: Number.POSITIVE_INFINITY } : {};
  const { artefact, reused } = await trainHead({ workspace, features, compute, ...inMemoryOnly }, message.train);
  deps.log?.({ event: 'train:done', runId: message.runId, reused, cacheKey: artefact.cacheKey });
  return { compute: compute.where, why: compute.why, cacheKey: artefact.cacheKey, reused };
}

/** Which compute this message's head is fitted on, and why: recorded in head.json and shown in the report. */
function whereToTrain(
  deps: DistributedDeps,
  manifest: Manifest,
  message: TrainMessage,
): { where: TrainCompute; why: string } {
  const here = deps.trainCompute;
  if (!here)
    return { where: 'lambda', why: 'no Batch CPU job configured: every head is fitted where the message arrives' };
  if (here.runsOn === 'batch')
    return { where: 'batch', why: 'handed over by the train-head Lambda: too large for its envelope' };
  const choice = chooseTrainCompute(trainSize(manifest, message.train), here.envelope);
  if (choice.where === 'batch' && !here.batchJob)
    return { where: 'lambda', why: `${choice.why}, but no Batch CPU job is configured` };
  return { where: choice.where, why: choice.why };
}

/**
 * The manifest the local `extract` would have written: the shards' parts in index order, entries in plan order within
 * each, so the same dataset gives the same manifest (and the same head cacheKey) however the shards were scheduled.
 * Each part points at its shard's own code object per cut (or at the cache shards that already held its codes).
 */
export async function assembleManifest(
  workspace: BlobStore,
  tolerated = 0,
): Promise<{ manifest: Manifest; plan: RunPlan; signatures?: Record<string, string> }> {
  const plan = await readRunPlan(workspace);
  if (!plan) throw new DataError(`no plan at ${workspace.location}/${RUN_KEYS.plan}`);
  const parts = await Promise.all(plan.shards.map((_, i) => readShardPart(workspace, i)));
  const missing = parts.flatMap((p, i) => (p ? [] : [i]));
  const failed = await Promise.all(
    missing.map((i) => workspace.getJson<{ shard: number; error: string }>(RUN_KEYS.failure(i))),
  );
  if (missing.length > tolerated) {
    // Train runs after the Map: a part missing with no recorded failure is a store hiccup (retried), a recorded
    // failure beyond the run's tolerance is the data's (on an engine that does not count the Map's failures).
    if (!failed.some(Boolean))
      throw new Error(`parts of shards ${missing.slice(0, 10).join(', ')} missing in run ${plan.runId}`);
    const named = missing.map((shard, i) => `shard ${shard}: ${failed[i]?.error ?? 'no part and no recorded failure'}`);
    throw new DataError(
      `${missing.length} of ${plan.shards.length} shards failed, ${tolerated} tolerated: ${named.slice(0, 5).join('; ')}`,
    );
  }
  const present = parts.filter((p): p is ShardPart => p !== undefined);
  const manifest: Manifest = {
    version: 1,
    dataset: plan.datasetLocation,
    model: plan.model,
    classes: plan.classes,
    splitSynthesized: plan.splitSynthesized,
    namespaces: present.find((p) => p.entries.length > 0)?.namespaces ?? present[0]?.namespaces ?? {},
    entries: present.flatMap((p) => p.entries),
    // Unreadable files after the extracted rejects, as the local extract lists them; never read, so no content hash.
    rejects: [...present.flatMap((p) => p.rejects), ...(plan.unreadable ?? []).map((u) => ({ ...u, contentHash: '' }))],
    ignored: plan.ignored,
  };
  return { manifest, plan, ...mergeSignatures(present) };
}
