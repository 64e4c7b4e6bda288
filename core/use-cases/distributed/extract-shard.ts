import { ConfigError, errorMessage } from '../../errors.js';
import type { ExtractMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { DatasetItem } from '../../dataset/image-folder.js';
import * as v from 'valibot';
import { count, fields, finite, integer, oneOf, readArtefact, text } from '../../workspace/schema.js';
import { EntriesSchema, NamespacesSchema, RejectsSchema, SignaturesSchema } from '../../workspace/manifest-artefact.js';
import { extractItems, resolveCuts } from '../extract.js';
import { isPermanent, type DistributedDeps } from './deps.js';
import { RUN_KEYS } from './layout.js';
import { tolerateMissing } from '../../dataset/tolerate-missing.js';
import { optional } from '../../util/optional.js';
import { bytesMatchSource } from '../../dataset/source-identity.js';
import { awaitInFlight } from './in-flight.js';

/** One shard's slice of the manifest. Its existence marks the shard done; train joins the parts in index order. */
const ShardPartSchema = fields({
  version: oneOf(1),
  index: count,
  count: integer(1, Number.MAX_SAFE_INTEGER),
  namespaces: NamespacesSchema,
  entries: EntriesSchema,
  rejects: RejectsSchema,
  embedded: count,
  cached: count,
  seconds: finite,
  worker: v.nullable(text),
  signatures: SignaturesSchema,
});
export type ShardPart = v.InferOutput<typeof ShardPartSchema>;

/** One shard's part, checked; undefined until the shard is done. */
export function readShardPart(workspace: BlobStore, index: number): Promise<ShardPart | undefined> {
  return readArtefact(workspace, RUN_KEYS.part(index), 1, ShardPartSchema);
}

export interface ShardOutcome {
  shard: number;
  /** False when a part already existed (a retry or redelivery after the work was done): nothing was recomputed. */
  extracted: boolean;
  embedded: number;
  cached: number;
}

/**
 * extract → codes in the cache → this shard's part, written once (putIfAbsent). The state machine's Map joins the
 * shards; a retried or redelivered shard finds its part and answers at once. A shard that can never succeed records
 * why (failures/), so a run that tolerates it names it, and one that does not fails with the cause.
 */
export async function extractShard(deps: DistributedDeps, message: ExtractMessage): Promise<ShardOutcome> {
  const workspace = deps.openStore(message.workspace);
  const index = message.shard.index;
  const existing = await readShardPart(workspace, index);
  if (existing) {
    deps.log?.({ event: 'extract:again', runId: message.runId, shard: index });
    return { shard: index, extracted: false, embedded: existing.embedded, cached: existing.cached };
  }
  let part: ShardPart;
  try {
    part = await computePart(deps, message);
  } catch (err) {
    if (isPermanent(err))
      await workspace.put(RUN_KEYS.failure(index), JSON.stringify({ shard: index, error: errorMessage(err) }));
    throw err;
  }
  // A concurrent twin of this message may have written an equivalent part first; either one is correct.
  const extracted = await workspace.putIfAbsent(RUN_KEYS.part(index), JSON.stringify(part));
  deps.log?.({
    event: 'extract:done',
    runId: message.runId,
    shard: index,
    extracted,
    embedded: part.embedded,
    cached: part.cached,
  });
  return { shard: index, extracted, embedded: part.embedded, cached: part.cached };
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
      // One code object per cut for the whole shard (a shard is sized to a minute of work, and is what a retry redoes):
      // train reads one object per shard and cut, never one per batch.
      shardRows: message.shard.items.length,
      knownHashes: new Map(message.shard.items.flatMap((item) => (item.hash ? [[item.key, item.hash] as const] : []))),
      confirmSource: bytesMatchSource,
      imageSignatures: deps.imageSignatures !== false,
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
    ...optional('signatures', result.signatures),
  };
}
