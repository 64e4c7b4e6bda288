import {
  CodeIndex,
  FeatureStore,
  shardKeyOf,
  type NamespaceInfo,
  type ShardCatalog,
  type ShardIndex,
} from './feature-store.js';
import type { BlobStore } from '../ports/blob-store.js';
import { hasConditionalWrites } from '../ports/conditional-writes.js';
import { updateJson } from '../util/update-json.js';

/** The namespace's list of shards, in one directly readable object: `<root>/<ns>/index.json`. */
interface ShardList {
  v: 1;
  shards: string[];
}

/**
 * A long-lived extract worker's shard catalog. What a namespace holds is read from one object listing its shards (a
 * GET, not a LIST whose pages grow with the cache), and only shards this process has not seen are fetched. Each shard
 * written is appended to that list by compare-and-swap. A cache written before the list existed is listed once to
 * create it. The .json of every shard loaded or written here (immutable, content-addressed) is kept, so compaction
 * reads codes without reading their .json again.
 */
export class ShardListCatalog implements ShardCatalog {
  private readonly known = new Map<string, { index: CodeIndex; seen: Set<string> }>();
  private readonly shardIndexes = new Map<string, ShardIndex>();
  /** The prefix shard keys are under, as FeatureStore writes them. */
  private readonly prefix: string;

  /** `readOnly`: loads through the shard lists but never creates one (a reader such as the planner). */
  constructor(
    private readonly blobs: BlobStore,
    private readonly root = 'codes',
    private readonly options: { readOnly?: boolean } = {},
  ) {
    this.prefix = root.replace(/\/+$/, '');
  }

  private listKey(ns: NamespaceInfo): string {
    return `${this.root}/${ns.id}/index.json`;
  }

  async loadIndex(ns: NamespaceInfo): Promise<CodeIndex> {
    let entry = this.known.get(ns.id);
    if (!entry) {
      entry = { index: new CodeIndex(ns), seen: new Set() };
      this.known.set(ns.id, entry);
    }
    const { index, seen } = entry;
    const fresh = (await this.shardIds(ns)).filter((id) => !seen.has(id));
    await Promise.all(
      fresh.map(async (id) => {
        const shard = await this.blobs.getJson<ShardIndex>(shardKeyOf(this.prefix, ns, id, 'json'));
        if (!shard) return;
        index.addShard(id, shard);
        this.shardIndexes.set(`${ns.id}/${id}`, shard);
        seen.add(id);
      }),
    );
    return index;
  }

  async added(ns: NamespaceInfo, shardId: string, index: ShardIndex): Promise<void> {
    this.shardIndexes.set(`${ns.id}/${shardId}`, index);
    await this.register(ns, shardId);
    this.known.get(ns.id)?.seen.add(shardId);
  }

  shardIndex(ns: NamespaceInfo, shardId: string): ShardIndex | undefined {
    return this.shardIndexes.get(`${ns.id}/${shardId}`);
  }

  private async shardIds(ns: NamespaceInfo): Promise<string[]> {
    if (!hasConditionalWrites(this.blobs)) return this.listShards(ns);
    const list = await this.blobs.getJson<ShardList>(this.listKey(ns));
    if (list) return list.shards;
    // Created even when empty, so a fresh cache is listed once, not on every load until its first shard.
    const listed = await this.listShards(ns);
    if (!this.options.readOnly) await this.register(ns, ...listed);
    return listed;
  }

  /** Appends shard ids to the namespace's list (compare-and-swap; a lost race re-reads and tries again). */
  private async register(ns: NamespaceInfo, ...ids: string[]): Promise<void> {
    if (!hasConditionalWrites(this.blobs)) return;
    await updateJson<ShardList>(this.blobs, this.listKey(ns), (list) => {
      const known = new Set(list?.shards ?? []);
      const missing = ids.filter((id) => !known.has(id));
      return list && missing.length === 0 ? undefined : { v: 1, shards: [...(list?.shards ?? []), ...missing] };
    });
  }

  /** The legacy way: one listing of the namespace's shard folder (caches from before the shard list). */
  private async listShards(ns: NamespaceInfo): Promise<string[]> {
    const dir = shardKeyOf(this.prefix, ns, '', 'json').slice(0, -'.json'.length);
    const ids: string[] = [];
    for await (const blob of this.blobs.list(dir))
      if (blob.key.endsWith('.json')) ids.push(blob.key.slice(dir.length, -'.json'.length));
    return ids;
  }
}

/** A feature store for a long-lived extract worker: the code cache at `<blobs>/<root>`, read through a shard list. */
export function indexCachingFeatureStore(
  blobs: BlobStore,
  root = 'codes',
  options: { readOnly?: boolean } = {},
): FeatureStore {
  return new FeatureStore(blobs, root, undefined, new ShardListCatalog(blobs, root, options));
}
