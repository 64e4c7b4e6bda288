import * as v from 'valibot';
import { listImageFolder } from '../../dataset/image-folder.js';
import type { BlobStore } from '../../ports/blob-store.js';
import {
  anyObject,
  bool,
  checkedElsewhere,
  count,
  fields,
  integer,
  list,
  oneOf,
  readArtefact,
  text,
} from '../../workspace/schema.js';
import { DataError } from '../../errors.js';
import {
  MESSAGE_VERSION,
  type EvaluateMessage,
  type ExtractMessage,
  type TrainMessage,
  type RunMessage,
  type ShardItem,
  type TrainOptions,
} from '../../messages/schema.js';
import { resolveCuts } from '../extract.js';
import type { DistributedDeps } from './deps.js';
import { RUN_KEYS } from './layout.js';
import { parseStoreUri } from '../../messages/store-uri.js';
import { sizeShards } from './shard-sizing.js';
import { recordListing } from '../../dataset/source-identity.js';
import { withCachedIdentities, withKnownContent } from './source-identities.js';
import { inFlightSources } from './in-flight.js';
import { namespaceOf } from '../../features/feature-store.js';

/** The frozen decision of a run: which images, in which shards, for which model. Written once, never changed. */
const RunPlanSchema = fields({
  /** 2 (such plans written before the join read parts directly also hold a compaction layout, `groups`: ignored). */
  version: oneOf(2),
  runId: text,
  dataset: text,
  datasetLocation: text,
  cache: text,
  model: fields({ name: text, sha256: text }),
  cuts: list(text),
  classes: list(text),
  splitSynthesized: bool,
  ignored: list(fields({ key: text, reason: text })),
  /**
   * Files the listing found but cannot read (dangling symlinks, no permission): rejects with their kind, as the local
   * extract records them, never handed to an extract shard. Absent in plans written before it was added.
   */
  unreadable: v.optional(list(fields({ key: text, split: text, label: count, kind: text, message: text }))),
  shardSize: integer(1, Number.MAX_SAFE_INTEGER),
  /** Why this shard size: the compute that runs extract messages, and what bounded it. */
  sizing: v.optional(fields({ compute: oneOf('cpu', 'gpu', 'lambda'), shardSize: count, shards: count, reason: text })),
  /**
   * Items whose content hash the plan carries (identity unchanged since a run read them, or recorded beside its codes
   * by ingest on upload): not read again if cached.
   */
  knownContent: v.optional(count),
  /** Items keep their identity and known content hash: train records them (rememberSources) for the next plan. */
  shards: list(
    list(fields({ key: text, split: text, label: count, source: v.optional(text), hash: v.optional(text) })),
  ),
  train: checkedElsewhere<TrainOptions>()(anyObject),
  split: oneOf('val', 'test'),
});
export type RunPlan = v.InferOutput<typeof RunPlanSchema>;

/**
 * plan.json, checked (InvalidArtefactError naming the file when it is not this build's version or shape); undefined
 * when the run has not been planned. Its reader lives with its type here: the plan is the serverless run's own file.
 */
export function readRunPlan(workspace: BlobStore): Promise<RunPlan | undefined> {
  return readArtefact(workspace, RUN_KEYS.plan, 2, RunPlanSchema);
}

/**
 * What the plan step answers the state machine: where the Distributed Map finds the shard manifest, how many shard
 * failures the run tolerates, and the messages of the steps after it (train, evaluate).
 */
export interface PlanOutput {
  manifest: { bucket: string; key: string };
  shards: number;
  toleratedFailures: number;
  train: TrainMessage;
  evaluate: EvaluateMessage;
}

/**
 * run → plan → the shard manifest (one extract message per shard, in S3 for the Distributed Map). The plan is created
 * with putIfAbsent, so every try of this step (and a resubmission of the same run id) works from the same listing even
 * if the dataset changes meanwhile; the manifest is a pure function of the plan.
 */
export async function planRun(deps: DistributedDeps, message: RunMessage): Promise<PlanOutput> {
  const workspace = deps.openStore(message.workspace);
  const where = parseStoreUri(message.workspace);
  let plan = await readRunPlan(workspace);
  if (!plan) {
    const fresh = await buildPlan(deps, message);
    plan = (await workspace.putIfAbsent(RUN_KEYS.plan, JSON.stringify(fresh))) ? fresh : await readRunPlan(workspace);
  }
  if (!plan || plan.dataset !== message.dataset || plan.model.name !== message.model) {
    throw new DataError(
      `run id ${message.runId} is already planned for ${plan?.dataset} with ${plan?.model.name}; use a new run id`,
    );
  }
  const frozen = plan;
  const scope = {
    v: MESSAGE_VERSION as typeof MESSAGE_VERSION,
    runId: message.runId,
    workspace: message.workspace,
    cache: frozen.cache,
  };
  const extracts = frozen.shards.map((items, index): ExtractMessage => ({
    ...scope,
    type: 'extract',
    dataset: frozen.dataset,
    model: frozen.model.name,
    cuts: frozen.cuts,
    shard: { index, count: frozen.shards.length, items },
  }));
  await workspace.put(RUN_KEYS.shards, JSON.stringify(extracts));
  const images = frozen.shards.reduce((n, s) => n + s.length, 0);
  deps.log?.({
    event: 'run:planned',
    runId: message.runId,
    shards: frozen.shards.length,
    images,
    shardSize: frozen.shardSize,
    sizing: frozen.sizing?.reason,
  });
  return {
    // The Distributed Map reads it from S3; a workspace in a folder (tests, the embedded pipeline) has no bucket.
    manifest:
      where.scheme === 's3'
        ? { bucket: where.bucket, key: where.prefix ? `${where.prefix}/${RUN_KEYS.shards}` : RUN_KEYS.shards }
        : { bucket: '', key: `${where.path}/${RUN_KEYS.shards}` },
    shards: frozen.shards.length,
    toleratedFailures: message.toleratedFailures ?? 0,
    train: {
      ...scope,
      type: 'train',
      train: frozen.train,
      split: frozen.split,
      toleratedFailures: message.toleratedFailures ?? 0,
    },
    evaluate: { ...scope, type: 'evaluate', split: frozen.split },
  };
}

/**
 * What items weigh in extract messages, in UTF-8 bytes as SQS counts them (the planner's sizing input). Counted in
 * UTF-16 units, keys in other scripts than Latin weighed a half or a third of their bytes and a shard of them
 * overflowed SQS's 256 KiB.
 */
export function itemBytes(items: ShardItem[]): number {
  const utf8 = new TextEncoder();
  return items.reduce((n, item) => n + utf8.encode(JSON.stringify(item)).length + 1, 0);
}

async function buildPlan(deps: DistributedDeps, message: RunMessage): Promise<RunPlan> {
  const model = await deps.lookupModel(message.model);
  const cuts = resolveCuts(model, message.cuts);
  const { store: data, listed } = recordListing(deps.openStore(message.dataset));
  const dataset = await listImageFolder(data, '', message.list ?? {});
  const items = await withKnownContent(
    deps.openStore(message.cache),
    message.dataset,
    dataset.items.map(({ key, split, label }) => ({ key, split, label })),
    listed,
  );
  // The cache's own record of identities, read only: the planner never writes the cache (its role has no grant to).
  const cacheIndex = await deps
    .openFeatures(message.cache, 'lookup')
    .loadIndex(namespaceOf(model.descriptor, cuts[0]!, deps.extractTarget));
  const ready = withCachedIdentities(cacheIndex, await inFlightSources(deps.openStore(message.cache)), items);
  const sizing = sizeShards(
    ready.items.length,
    itemBytes(ready.items),
    deps.extractCompute ?? { kind: 'cpu' },
    message.shardSize ?? deps.defaultShardSize,
    ready.cached,
  );
  const shardSize = sizing.shardSize;
  const shards: ShardItem[][] = [];
  for (let i = 0; i < ready.items.length; i += shardSize) shards.push(ready.items.slice(i, i + shardSize));
  return {
    version: 2,
    runId: message.runId,
    dataset: message.dataset,
    datasetLocation: dataset.location,
    cache: message.cache,
    model: { name: model.descriptor.name, sha256: model.descriptor.sha256 },
    cuts,
    classes: dataset.classes,
    splitSynthesized: dataset.splitSynthesized,
    ignored: dataset.ignored,
    unreadable: dataset.unreadable,
    shardSize,
    sizing,
    knownContent: ready.items.filter((item) => item.hash).length,
    shards,
    train: message.train ?? {},
    split: message.split ?? 'val',
  };
}
