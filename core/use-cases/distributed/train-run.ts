import { ConfigError, DataError } from '../../errors.js';
import { MANIFEST_KEY, REJECTS_KEY, type Manifest } from '../../features/manifest.js';
import { MESSAGE_VERSION, type TrainMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { trainHead } from '../train-head.js';
import { recordEvent, sendOnce, type SendOnceResult } from './claims.js';
import type { Delivery, DistributedDeps } from './deps.js';
import { groupLayout, readGroupSummary, type GroupSummary } from './compaction.js';
import { chooseTrainCompute, trainSize, type TrainCompute } from './train-compute.js';
import { ONCE, RUN_KEYS } from './layout.js';
import { rememberSources } from './source-identities.js';
import { readRunPlan, type RunPlan } from './plan-run.js';

export interface TrainOutcome {
  /** Set when the head was fitted elsewhere: the message went to the Batch CPU job's queue (see train-compute.ts). */
  forwarded?: { why: string; send: SendOnceResult };
  /** True when an identical head was already fitted (a repeated train message): nothing was refitted. */
  reused: boolean;
  /** Absent when forwarded: the Batch CPU job sends evaluate once it has fitted the head. */
  evaluate?: SendOnceResult;
  cacheKey: string;
}

/** train → manifest from the parts → the core trainHead → `evaluate`, once. */
export async function trainRun(
  deps: DistributedDeps,
  message: TrainMessage,
  delivery: Delivery,
): Promise<TrainOutcome> {
  const workspace = deps.openStore(message.workspace);
  const { manifest, plan } = await assembleManifestAndPlan(workspace);
  await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
  await rememberSources(deps.openStore(message.cache), plan.dataset, plan.shards.flat(), manifest);
  await workspace.put(REJECTS_KEY, JSON.stringify(manifest.rejects, null, 2));
  const compute = whereToTrain(deps, manifest, message);
  if (compute.where === 'batch' && deps.trainCompute?.runsOn === 'lambda' && deps.trainCompute.batchQueue) {
    const batchQueue = deps.trainCompute.batchQueue;
    const send = await sendOnce(
      workspace,
      ONCE.trainBatch,
      `train:${message.runId}`,
      () => batchQueue.send(message),
      deps.sendLeaseSeconds,
    );
    await recordEvent(
      workspace,
      'train',
      delivery,
      { outcome: 'forwarded-to-batch', why: compute.why, send },
      deps.workerId,
    );
    deps.log?.({ event: 'train:forwarded', runId: message.runId, why: compute.why });
    return { reused: false, cacheKey: '', forwarded: { why: compute.why, send } };
  }
  const features = deps.openFeatures(message.cache, 'read');
  // The train-head Lambda bundles no onnxruntime and its envelope (train-compute.ts) is sized for the in-memory engine,
  // so there the streamed path is off; the Batch job (a container with node_modules) streams as the CLI does.
  const inMemoryOnly = deps.trainCompute?.runsOn === 'lambda' ? { streamedMinValues: Number.POSITIVE_INFINITY } : {};
  const { artefact, reused } = await trainHead({ workspace, features, compute, ...inMemoryOnly }, message.train);
  // A repeated train message (the one double-send window upstream) finds the head cached and sends nothing new.
  const evaluate = await sendOnce(
    workspace,
    ONCE.evaluate,
    `train:${message.runId}`,
    async () => {
      if (!deps.queues.evaluate) throw new ConfigError('this worker has no evaluate queue to trigger');
      await deps.queues.evaluate.send({
        v: MESSAGE_VERSION,
        type: 'evaluate',
        runId: message.runId,
        workspace: message.workspace,
        cache: message.cache,
        head: artefact.cacheKey,
        split: message.split,
      });
    },
    deps.sendLeaseSeconds,
  );
  const summary = { reused, evaluate, cacheKey: artefact.cacheKey };
  await recordEvent(
    workspace,
    'train',
    delivery,
    {
      outcome: reused ? 'reused' : 'trained',
      ...summary,
      layer: artefact.layer,
      C: artefact.options.C,
      cv: artefact.cv?.best ?? null,
    },
    deps.workerId,
  );
  deps.log?.({ event: 'train:done', runId: message.runId, ...summary });
  return summary;
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
    return { where: 'batch', why: 'forwarded by the train-head Lambda: too large for its envelope' };
  const choice = chooseTrainCompute(trainSize(manifest, message.train), here.envelope);
  if (choice.where === 'batch' && !here.batchQueue)
    return { where: 'lambda', why: `${choice.why}, but no Batch CPU job is configured` };
  return { where: choice.where, why: choice.why };
}

/**
 * The manifest the local `extract` would have written: group summaries (compacted parts) in shard order, entries in
 * plan order within each, so the same dataset gives the same manifest (and the same head cacheKey) however the shards
 * were scheduled. Its code locations point at the groups' compacted shards: train and evaluate read ≤ 100 of them.
 */
export async function assembleManifest(workspace: BlobStore): Promise<Manifest> {
  return (await assembleManifestAndPlan(workspace)).manifest;
}

async function assembleManifestAndPlan(workspace: BlobStore): Promise<{ manifest: Manifest; plan: RunPlan }> {
  const plan = await readRunPlan(workspace);
  if (!plan) throw new DataError(`no plan at ${workspace.location}/${RUN_KEYS.plan}`);
  const { groups } = groupLayout(plan.shards.length, plan.cuts.length);
  const summaries = await Promise.all(Array.from({ length: groups }, (_, g) => readGroupSummary(workspace, g)));
  const missing = summaries.flatMap((p, i) => (p ? [] : [i]));
  // Not a permanent error: train is only triggered once every group is compacted, so this is a store hiccup; retry.
  if (missing.length > 0)
    throw new Error(`compacted groups ${missing.slice(0, 10).join(', ')} missing in run ${plan.runId}`);
  const present = summaries as GroupSummary[];
  const manifest: Manifest = {
    version: 1,
    dataset: plan.datasetLocation,
    model: plan.model,
    classes: plan.classes,
    splitSynthesized: plan.splitSynthesized,
    namespaces: present[0]!.namespaces,
    entries: present.flatMap((p) => p.entries),
    // Unreadable files after the extracted rejects, as the local extract lists them; never read, so no content hash.
    rejects: [...present.flatMap((p) => p.rejects), ...(plan.unreadable ?? []).map((u) => ({ ...u, contentHash: '' }))],
    ignored: plan.ignored,
  };
  return { manifest, plan };
}
