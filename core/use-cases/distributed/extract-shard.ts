import { ConfigError, NotFoundError } from '../../errors.js';
import type { ManifestEntry, RejectRecord } from '../../features/manifest.js';
import { MESSAGE_VERSION, type ExtractMessage, type TrainMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { DatasetItem } from '../../dataset/image-folder.js';
import { extractItems, resolveCuts, type ExtractedItems } from '../extract.js';
import { recordEvent, sendOnce, type SendOnceResult } from './claims.js';
import type { Delivery, DistributedDeps } from './deps.js';
import { ONCE, RUN_KEYS } from './layout.js';
import { tolerateMissing } from './tolerate-missing.js';
import { optional } from '../../util/optional.js';
import { readRunPlan } from './plan-run.js';
import { compactGroup, groupLayout, shardsOfGroup } from './compaction.js';
import { markDone, requireConditionalWrites } from './join-counter.js';
import { bytesMatchSource } from './source-identities.js';
import { awaitInFlight } from './in-flight.js';

/** One shard's slice of the manifest. Its existence marks the shard done; train joins the parts in index order. */
export interface ShardPart {
  version: 1;
  index: number;
  count: number;
  namespaces: ExtractedItems['namespaces'];
  entries: ManifestEntry[];
  rejects: RejectRecord[];
  embedded: number;
  cached: number;
  seconds: number;
  worker: string | null;
}

export interface ShardOutcome {
  /** False when a part already existed (a redelivery after the work was done): nothing was recomputed. */
  extracted: boolean;
  done: number;
  count: number;
  train: SendOnceResult | 'waiting';
}

/**
 * extract → codes in the cache → this shard's part → the join. The join is two counters updated by compare-and-swap
 * (O(1) requests per shard, no listing): the shard marks itself in its group's counter; the shard that completes a
 * group compacts the group (≤ 100 code objects per run for train) and marks the group in the run's counter; every
 * worker that sees the run's counter complete tries the train claim (putIfAbsent), which exactly one wins. Marks are
 * idempotent bits, so a redelivery at any point re-asserts what is done and carries on from there.
 */
export async function extractShard(
  deps: DistributedDeps,
  message: ExtractMessage,
  delivery: Delivery,
): Promise<ShardOutcome> {
  const workspace = deps.openStore(message.workspace);
  const partKey = RUN_KEYS.part(message.shard.index);
  let extracted = false;
  if (!(await workspace.exists(partKey))) {
    const part = await computePart(deps, message);
    // A concurrent twin of this message may have written an equivalent part first; either one is correct.
    extracted = await workspace.putIfAbsent(partKey, JSON.stringify(part));
    deps.log?.({
      event: 'extract:part',
      runId: message.runId,
      shard: message.shard.index,
      embedded: part.embedded,
      cached: part.cached,
    });
  }
  const { done, complete } = await joinShard(deps, workspace, message);
  let train: ShardOutcome['train'] = 'waiting';
  if (complete) {
    train = await sendOnce(
      workspace,
      ONCE.train,
      `shard:${message.shard.index}`,
      async () => {
        const trainQueue = deps.queues.train;
        if (!trainQueue) throw new ConfigError('this worker has no train queue to trigger');
        await trainQueue.send(await trainMessage(workspace, message));
      },
      deps.sendLeaseSeconds,
    );
  }
  await recordEvent(
    workspace,
    'extract',
    delivery,
    { shard: message.shard.index, extracted, done, count: message.shard.count, train },
    deps.workerId,
  );
  deps.log?.({
    event: 'extract:done',
    runId: message.runId,
    shard: message.shard.index,
    extracted,
    done,
    count: message.shard.count,
    train,
  });
  return { extracted, done, count: message.shard.count, train };
}

async function computePart(deps: DistributedDeps, message: ExtractMessage): Promise<ShardPart> {
  if (!deps.openEmbedder)
    throw new ConfigError('this worker has no backbone; extract messages belong on the extract queue');
  const model = await deps.lookupModel(message.model);
  const cuts = resolveCuts(model, message.cuts);
  const { data, missing } = tolerateMissing(deps.openStore(message.dataset));
  deps.log?.({
    event: 'extract:start',
    runId: message.runId,
    shard: message.shard.index,
    images: message.shard.items.length,
  });
  // Images still being embedded by ingest on upload are waited for, then found in the cache: never embedded twice.
  const unknown = new Set(message.shard.items.flatMap((item) => (item.source && !item.hash ? [item.source] : [])));
  const waited = await awaitInFlight(deps.openStore(message.cache), unknown);
  if (waited > 0)
    deps.log?.({
      event: 'extract:waited-for-ingest',
      runId: message.runId,
      shard: message.shard.index,
      batches: waited,
    });
  const result = await extractItems(
    {
      data,
      features: deps.openFeatures(message.cache, 'write'),
      model,
      openEmbedder: deps.openEmbedder,
      ...optional('target', deps.extractTarget),
    },
    message.shard.items as DatasetItem[],
    cuts,
    {
      ...optional('readConcurrency', deps.readConcurrency),
      knownHashes: new Map(message.shard.items.flatMap((item) => (item.hash ? [[item.key, item.hash] as const] : []))),
      confirmSource: bytesMatchSource,
    },
  );
  return {
    version: 1,
    index: message.shard.index,
    count: message.shard.count,
    namespaces: result.namespaces,
    entries: result.entries,
    rejects: result.rejects.map((r) =>
      missing.has(r.key) ? { ...r, kind: 'missing', message: 'the object was deleted after the run was planned' } : r,
    ),
    embedded: result.embedded,
    cached: result.cached,
    seconds: result.seconds,
    worker: deps.workerId ?? null,
  };
}

/** Marks this shard done; returns how many shards are known done (exact once the run is complete). */
async function joinShard(
  deps: DistributedDeps,
  workspace: BlobStore,
  message: ExtractMessage,
): Promise<{ done: number; complete: boolean }> {
  const store = requireConditionalWrites(workspace);
  const { index, count } = message.shard;
  const layout = groupLayout(count, message.cuts.length);
  const group = Math.floor(index / layout.perGroup);
  const range = shardsOfGroup(layout, group, count);
  const inGroup = await markDone(store, RUN_KEYS.groupCounter(group), index - range.first, range.end - range.first);
  if (!inGroup.complete) return { done: inGroup.done, complete: false };
  if (!(await workspace.exists(RUN_KEYS.group(group)))) await compactGroup(deps, workspace, message, group, range);
  const run = await markDone(store, RUN_KEYS.runCounter, group, layout.groups);
  return { done: run.complete ? count : Math.min(count, run.done * layout.perGroup), complete: run.complete };
}

async function trainMessage(workspace: BlobStore, message: ExtractMessage): Promise<TrainMessage> {
  const plan = await readRunPlan(workspace);
  if (!plan) throw new NotFoundError(`${workspace.location}/${RUN_KEYS.plan}`);
  return {
    v: MESSAGE_VERSION,
    type: 'train',
    runId: message.runId,
    workspace: message.workspace,
    cache: message.cache,
    train: plan.train,
    split: plan.split,
  };
}
