import { DataError } from '../../errors.js';
import { namespaceOf } from '../../features/feature-store.js';
import type { Manifest, ManifestEntry, RejectRecord } from '../../features/manifest.js';
import type { ExtractMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { checkedElsewhere, count, fields, finite, integer, oneOf, readArtefact } from '../../workspace/schema.js';
import { EntriesSchema, NamespacesSchema, RejectsSchema } from '../../workspace/manifest-artefact.js';
import type { DistributedDeps } from './deps.js';
import type { ShardPart } from './extract-shard.js';
import { RUN_KEYS } from './layout.js';

/**
 * Train reads at most this many code objects per run, however many shards there were: shards are joined in groups,
 * and each group's codes are compacted into one cache shard per cut point.
 */
export const MAX_TRAIN_CODE_OBJECTS = 100;
/**
 * Train's GETs for the joined run: per group its summary, and per cut point the compacted code shard's .npy and .json.
 * Groups are capped so they stay within this many (32 groups for one cut point): a 50k run's second pass, its items
 * carrying content hashes and so 46 shards to a message-size cap, took 141 GETs when every shard was its own group.
 */
export const MAX_TRAIN_GETS = 96;

/** Contiguous runs of shards; group g holds shards [g·perGroup, (g+1)·perGroup). A pure function of the message. */
export interface GroupLayout {
  groups: number;
  perGroup: number;
}

export function groupLayout(shards: number, cuts: number): GroupLayout {
  const perGroupGets = 1 + 2 * Math.max(1, cuts);
  const maxGroups = Math.max(
    1,
    Math.floor(Math.min(MAX_TRAIN_CODE_OBJECTS / Math.max(1, cuts), MAX_TRAIN_GETS / perGroupGets)),
  );
  const perGroup = Math.ceil(shards / Math.min(shards, maxGroups));
  return { groups: Math.ceil(shards / perGroup), perGroup };
}

export function shardsOfGroup(layout: GroupLayout, group: number, shards: number): { first: number; end: number } {
  const first = group * layout.perGroup;
  return { first, end: Math.min(shards, first + layout.perGroup) };
}

/** A group's slice of the manifest, its code locations pointing at the group's compacted cache shards. */
export interface GroupSummary {
  version: 1;
  group: number;
  shards: { first: number; end: number };
  namespaces: Manifest['namespaces'];
  entries: ManifestEntry[];
  rejects: RejectRecord[];
  embedded: number;
  cached: number;
}

const checkShardPart = checkedElsewhere<ShardPart>()(
  fields({
    version: oneOf(1),
    index: count,
    count: integer(1, Number.MAX_SAFE_INTEGER),
    namespaces: NamespacesSchema,
    entries: EntriesSchema,
    rejects: RejectsSchema,
    embedded: count,
    cached: count,
    seconds: finite,
  }),
);

/** One shard's part (extract-shard.ts writes it), checked; undefined until the shard is done. */
export function readShardPart(workspace: BlobStore, index: number): Promise<ShardPart | undefined> {
  return readArtefact(workspace, RUN_KEYS.part(index), 1, checkShardPart);
}

const checkGroupSummary = checkedElsewhere<GroupSummary>()(
  fields({
    version: oneOf(1),
    group: count,
    shards: fields({ first: count, end: count }),
    namespaces: NamespacesSchema,
    entries: EntriesSchema,
    rejects: RejectsSchema,
    embedded: count,
    cached: count,
  }),
);

/** A compacted group's summary, checked; undefined until the group is compacted. */
export function readGroupSummary(workspace: BlobStore, group: number): Promise<GroupSummary | undefined> {
  return readArtefact(workspace, RUN_KEYS.group(group), 1, checkGroupSummary);
}

/**
 * Reads the group's parts and their codes, writes the codes again as one content-addressed cache shard per cut (a
 * rewrite by a redelivery is a no-op), then the summary. Deterministic: any worker may do it, any number of times.
 */
export async function compactGroup(
  deps: DistributedDeps,
  workspace: BlobStore,
  message: ExtractMessage,
  group: number,
  range: { first: number; end: number },
): Promise<GroupSummary> {
  const indices = Array.from({ length: range.end - range.first }, (_, i) => range.first + i);
  const parts = await Promise.all(indices.map((i) => readShardPart(workspace, i)));
  const missing = indices.filter((_, i) => !parts[i]);
  // Not permanent: the group counter only completes once every part exists, so this is a store hiccup; retry.
  if (missing.length > 0)
    throw new Error(
      `parts of shards ${missing.join(', ')} missing while compacting group ${group} of run ${message.runId}`,
    );
  const present = parts as ShardPart[];
  const entries = present.flatMap((p) => p.entries);
  const namespaces = present[0]!.namespaces;
  const model = await deps.lookupModel(message.model);
  // Codes are read through this process's long-lived cache store, which already holds most shards' .json (ingest and
  // extraction loaded or wrote them): one GET per code object instead of two. The compacted shard is written plainly.
  const source = deps.openFeatures(message.cache, 'write');
  const features = deps.openFeatures(message.cache, 'read');
  const compacted = entries.map((e) => ({ ...e, codes: { ...e.codes } }));
  for (const cut of Object.keys(namespaces)) {
    const ns = namespaceOf(model.descriptor, cut, deps.extractTarget);
    if (ns.id !== namespaces[cut]!.id)
      throw new DataError(
        `part namespace ${namespaces[cut]!.id} is not ${ns.id}: the model changed under run ${message.runId}`,
      );
    if (entries.length === 0) continue;
    const codes = await source.readCodes(
      ns,
      entries.map((e) => e.codes[cut]!),
    );
    const shard = await features.writeShard(
      ns,
      entries.map((e) => e.contentHash),
      codes,
      [],
    );
    compacted.forEach((e, row) => (e.codes[cut] = { shard, row }));
  }
  const summary: GroupSummary = {
    version: 1,
    group,
    shards: range,
    namespaces,
    entries: compacted,
    rejects: present.flatMap((p) => p.rejects),
    embedded: present.reduce((n, p) => n + p.embedded, 0),
    cached: present.reduce((n, p) => n + p.cached, 0),
  };
  await workspace.put(RUN_KEYS.group(group), JSON.stringify(summary));
  return summary;
}
