import type * as v from 'valibot';
import { DataError } from '../../errors.js';
import { namespaceOf } from '../../features/feature-store.js';
import type { CompactMessage, ExtractMessage } from '../../messages/schema.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { count, fields, list, oneOf, readArtefact, text } from '../../workspace/schema.js';
import { EntriesSchema, NamespacesSchema, RejectsSchema, SignaturesSchema } from '../../workspace/manifest-artefact.js';
import { mergeSignatures } from '../../quality/image-signature.js';
import type { DistributedDeps } from './deps.js';
import { readShardPart, type ShardPart } from './extract-shard.js';
import { RUN_KEYS, shardsOfGroup } from './layout.js';
import { readRunPlan } from './plan-run.js';

/** A group's slice of the manifest, its code locations pointing at the group's compacted cache shards. */
const GroupSummarySchema = fields({
  version: oneOf(1),
  group: count,
  shards: fields({ first: count, end: count }),
  namespaces: NamespacesSchema,
  entries: EntriesSchema,
  rejects: RejectsSchema,
  embedded: count,
  cached: count,
  /** Shards of this group that failed for good (the run tolerated them), with why. */
  failed: list(fields({ shard: count, error: text })),
  signatures: SignaturesSchema,
});
export type GroupSummary = v.InferOutput<typeof GroupSummarySchema>;

/** A compacted group's summary, checked; undefined until the group is compacted. */
export function readGroupSummary(workspace: BlobStore, group: number): Promise<GroupSummary | undefined> {
  return readArtefact(workspace, RUN_KEYS.group(group), 1, GroupSummarySchema);
}

/**
 * The compaction step of a run, after the Map: reads the group's parts (layout from the plan) and their codes, writes
 * the codes again as one content-addressed cache shard per cut (a rewrite by a retry is a no-op), then the summary.
 * Deterministic: any worker may do it, any number of times. A group already compacted (by the extract that completed
 * it, see compactIfComplete) is answered from its summary. A shard without a part failed for good and was tolerated by
 * the Map (or, on an engine that does not count failures, is checked against the tolerance by train).
 */
export async function compactGroup(
  deps: DistributedDeps,
  message: CompactMessage,
): Promise<{ group: number; entries: number; failed: number }> {
  const workspace = deps.openStore(message.workspace);
  const done = await readGroupSummary(workspace, message.group);
  if (done) return { group: done.group, entries: done.entries.length, failed: done.failed.length };
  const plan = await readRunPlan(workspace);
  if (!plan) throw new DataError(`no plan at ${workspace.location}/${RUN_KEYS.plan}`);
  const group = message.group;
  if (group >= plan.groups.groups)
    throw new DataError(`run ${message.runId} has ${plan.groups.groups} compaction groups, not ${group + 1}`);
  return compactRange(deps, message, shardsOfGroup(plan.groups, group, plan.shards.length), new Map());
}

/**
 * An extract's part may complete its group (every other part of the group written already): the group is compacted
 * at once, by this worker, before it answers the task, while the Map goes on with other shards, so nothing is left to
 * do between the Map's last shard and train (the plan gives the Compact step no group unless the run tolerates failed
 * shards, whose groups no extract completes). Of two shards finishing a group together, each writes its part before
 * looking, so at least one sees the group complete; both may compact it, which is harmless. A part found written
 * (`fresh` false: a retry, a redelivery) compacts its group only if no summary is there yet.
 */
export async function compactIfComplete(
  deps: DistributedDeps,
  message: ExtractMessage,
  part: ShardPart,
  fresh: boolean,
): Promise<boolean> {
  if (!message.groups) return false;
  const workspace = deps.openStore(message.workspace);
  const group = Math.floor(message.shard.index / message.groups.perGroup);
  if (!fresh && (await workspace.exists(RUN_KEYS.group(group)))) return false;
  const range = shardsOfGroup(message.groups, group, message.shard.count);
  for (let i = range.first; i < range.end; i++)
    if (i !== part.index && !(await workspace.exists(RUN_KEYS.part(i)))) return false;
  const scope = { ...message, type: 'compact' as const, group };
  await compactRange(deps, scope, range, new Map([[part.index, part]]));
  return true;
}

async function compactRange(
  deps: DistributedDeps,
  message: Pick<CompactMessage, 'workspace' | 'cache' | 'model' | 'runId' | 'group'>,
  range: { first: number; end: number },
  known: ReadonlyMap<number, ShardPart>,
): Promise<{ group: number; entries: number; failed: number }> {
  const workspace = deps.openStore(message.workspace);
  const group = message.group;
  const indices = Array.from({ length: range.end - range.first }, (_, i) => range.first + i);
  const parts = await Promise.all(indices.map((i) => known.get(i) ?? readShardPart(workspace, i)));
  const failed = await Promise.all(indices.flatMap((index, i) => (parts[i] ? [] : [failureOf(workspace, index)])));
  const present = parts.filter((p): p is ShardPart => p !== undefined);
  const entries = present.flatMap((p) => p.entries);
  const namespaces = present[0]?.namespaces ?? {};
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
    // Already one code object holding exactly these rows (a one-shard group whose codes were all embedded by its
    // extract): kept as it is, nothing read or written again.
    if (entries.length === 0 || isOneShard(entries.map((e) => e.codes[cut]!))) continue;
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
    failed,
    ...mergeSignatures(present),
  };
  await workspace.put(RUN_KEYS.group(group), JSON.stringify(summary));
  deps.log?.({ event: 'compact:done', runId: message.runId, group, entries: entries.length, failed: failed.length });
  return { group, entries: entries.length, failed: failed.length };
}

/** Every code in one object, each of its rows 0…n−1 once (in any order: the extract writes them as batches finish). */
function isOneShard(codes: Array<{ shard: string; row: number }>): boolean {
  const rows = new Set(codes.map((c) => c.row));
  return codes.every((c) => c.shard === codes[0]!.shard && c.row < codes.length) && rows.size === codes.length;
}

async function failureOf(workspace: BlobStore, shard: number): Promise<{ shard: number; error: string }> {
  const found = await workspace.getJson<{ error?: unknown }>(RUN_KEYS.failure(shard));
  return {
    shard,
    error:
      typeof found?.error === 'string' ? found.error : 'no part and no recorded failure (its worker never finished)',
  };
}
