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
import type { RunPlan } from './plan-run.js';

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
 * extract → codes in the cache → this shard's part → the join. The join lists the parts after writing this one: of
 * the last two shards to finish, the one that lists second sees both, so some worker always sees all parts; the
 * train claim (putIfAbsent) lets exactly one of those that do send `train`.
 */
export async function extractShard(deps: DistributedDeps, message: ExtractMessage, delivery: Delivery): Promise<ShardOutcome> {
  const workspace = deps.openStore(message.workspace);
  const partKey = RUN_KEYS.part(message.shard.index);
  let extracted = false;
  if (!(await workspace.exists(partKey))) {
    const part = await computePart(deps, message);
    // A concurrent twin of this message may have written an equivalent part first; either one is correct.
    extracted = await workspace.putIfAbsent(partKey, JSON.stringify(part));
  }
  const done = await countParts(workspace, message.shard.count);
  let train: ShardOutcome['train'] = 'waiting';
  if (done === message.shard.count) {
    train = await sendOnce(workspace, ONCE.train, `shard:${message.shard.index}`, async () => {
      const trainQueue = deps.queues.train;
      if (!trainQueue) throw new ConfigError('this worker has no train queue to trigger');
      await trainQueue.send(await trainMessage(workspace, message));
    }, deps.sendLeaseSeconds);
  }
  await recordEvent(workspace, 'extract', delivery, { shard: message.shard.index, extracted, done, count: message.shard.count, train }, deps.workerId);
  deps.log?.({ event: 'extract:done', runId: message.runId, shard: message.shard.index, extracted, done, count: message.shard.count, train });
  return { extracted, done, count: message.shard.count, train };
}

async function computePart(deps: DistributedDeps, message: ExtractMessage): Promise<ShardPart> {
  if (!deps.openEmbedder) throw new ConfigError('this worker has no backbone; extract messages belong on the extract queue');
  const model = await deps.lookupModel(message.model);
  const cuts = resolveCuts(model, message.cuts);
  const { data, missing } = tolerateMissing(deps.openStore(message.dataset));
  deps.log?.({ event: 'extract:start', runId: message.runId, shard: message.shard.index, images: message.shard.items.length });
  const result = await extractItems(
    { data, features: deps.openFeatures(message.cache, 'write'), model, openEmbedder: deps.openEmbedder, ...optional('target', deps.extractTarget) },
    message.shard.items as DatasetItem[],
    cuts,
    optional('readConcurrency', deps.readConcurrency),
  );
  return {
    version: 1,
    index: message.shard.index,
    count: message.shard.count,
    namespaces: result.namespaces,
    entries: result.entries,
    rejects: result.rejects.map((r) => (missing.has(r.key) ? { ...r, kind: 'missing', message: 'the object was deleted after the run was planned' } : r)),
    embedded: result.embedded,
    cached: result.cached,
    seconds: result.seconds,
    worker: deps.workerId ?? null,
  };
}

async function countParts(workspace: BlobStore, count: number): Promise<number> {
  let done = 0;
  for await (const blob of workspace.list(RUN_KEYS.partsPrefix)) if (blob.key.endsWith('.json')) done += 1;
  return Math.min(done, count);
}

async function trainMessage(workspace: BlobStore, message: ExtractMessage): Promise<TrainMessage> {
  const plan = await workspace.getJson<RunPlan>(RUN_KEYS.plan);
  if (!plan) throw new NotFoundError(`${workspace.location}/${RUN_KEYS.plan}`);
  return { v: MESSAGE_VERSION, type: 'train', runId: message.runId, workspace: message.workspace, cache: message.cache, train: plan.train, split: plan.split };
}
