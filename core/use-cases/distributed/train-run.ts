import { ConfigError, DataError } from '../../errors.js';
import { MANIFEST_KEY, REJECTS_KEY, type Manifest } from '../../features/manifest.js';
import { MESSAGE_VERSION, type TrainMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { trainHead } from '../train-head.js';
import { recordEvent, sendOnce, type SendOnceResult } from './claims.js';
import type { Delivery, DistributedDeps } from './deps.js';
import { groupLayout, type GroupSummary } from './compaction.js';
import { ONCE, RUN_KEYS } from './layout.js';
import { rememberSources } from './source-identities.js';
import type { RunPlan } from './plan-run.js';

export interface TrainOutcome {
  /** True when an identical head was already fitted (a repeated train message): nothing was refitted. */
  reused: boolean;
  evaluate: SendOnceResult;
  cacheKey: string;
}

/** train → manifest from the parts → the core trainHead → `evaluate`, once. */
export async function trainRun(deps: DistributedDeps, message: TrainMessage, delivery: Delivery): Promise<TrainOutcome> {
  const workspace = deps.openStore(message.workspace);
  const { manifest, plan } = await assembleManifestAndPlan(workspace);
  await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
  await rememberSources(deps.openStore(message.cache), plan.dataset, plan.shards.flat(), manifest);
  await workspace.put(REJECTS_KEY, JSON.stringify(manifest.rejects, null, 2));
  const features = deps.openFeatures(message.cache, 'read');
  const { artefact, reused } = await trainHead({ workspace, features }, message.train);
  // A repeated train message (the one double-send window upstream) finds the head cached and sends nothing new.
  const evaluate = await sendOnce(workspace, ONCE.evaluate, `train:${message.runId}`, async () => {
    if (!deps.queues.evaluate) throw new ConfigError('this worker has no evaluate queue to trigger');
    await deps.queues.evaluate.send({ v: MESSAGE_VERSION, type: 'evaluate', runId: message.runId, workspace: message.workspace, cache: message.cache, head: artefact.cacheKey, split: message.split });
  }, deps.sendLeaseSeconds);
  const summary = { reused, evaluate, cacheKey: artefact.cacheKey };
  await recordEvent(workspace, 'train', delivery, { outcome: reused ? 'reused' : 'trained', ...summary, layer: artefact.layer, C: artefact.options.C, cv: artefact.cv?.best ?? null }, deps.workerId);
  deps.log?.({ event: 'train:done', runId: message.runId, ...summary });
  return summary;
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
  const plan = await workspace.getJson<RunPlan>(RUN_KEYS.plan);
  if (!plan) throw new DataError(`no plan at ${workspace.location}/${RUN_KEYS.plan}`);
  const { groups } = groupLayout(plan.shards.length, plan.cuts.length);
  const summaries = await Promise.all(Array.from({ length: groups }, (_, g) => workspace.getJson<GroupSummary>(RUN_KEYS.group(g))));
  const missing = summaries.flatMap((p, i) => (p ? [] : [i]));
  // Not a permanent error: train is only triggered once every group is compacted, so this is a store hiccup; retry.
  if (missing.length > 0) throw new Error(`compacted groups ${missing.slice(0, 10).join(', ')} missing in run ${plan.runId}`);
  const present = summaries as GroupSummary[];
  const manifest: Manifest = {
    version: 1,
    dataset: plan.datasetLocation,
    model: plan.model,
    classes: plan.classes,
    splitSynthesized: plan.splitSynthesized,
    namespaces: present[0]!.namespaces,
    entries: present.flatMap((p) => p.entries),
    rejects: present.flatMap((p) => p.rejects),
    ignored: plan.ignored,
  };
  return { manifest, plan };
}
