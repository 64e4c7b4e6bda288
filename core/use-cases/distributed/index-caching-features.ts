import { CodeIndex, FeatureStore, type NamespaceInfo, type ShardIndex } from '../../features/feature-store.js';
import type { BlobStore } from '../../ports/blob-store.js';

/**
 * A feature store for a long-lived extract worker: the index of each namespace is read once, then only shards it has
 * not seen are fetched (one LIST per shard message instead of one GET per shard in the cache).
 */
export class IndexCachingFeatureStore extends FeatureStore {
  private readonly known = new Map<string, { index: CodeIndex; seen: Set<string> }>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly root = 'codes',
  ) {
    super(blobs, root);
  }

  override async loadIndex(ns: NamespaceInfo): Promise<CodeIndex> {
    let entry = this.known.get(ns.id);
    if (!entry) {
      entry = { index: new CodeIndex(ns), seen: new Set() };
      this.known.set(ns.id, entry);
    }
    const dir = `${this.root}/${ns.id}/shards/`;
    const fresh: string[] = [];
    for await (const blob of this.blobs.list(dir)) {
      const id = blob.key.slice(dir.length, -'.json'.length);
      if (blob.key.endsWith('.json') && !entry.seen.has(id)) fresh.push(id);
    }
    const { index, seen } = entry;
    await Promise.all(
      fresh.map(async (id) => {
        const shard = await this.blobs.getJson<ShardIndex>(`${dir}${id}.json`);
        if (!shard) return;
        index.addShard(id, shard);
        seen.add(id);
      }),
    );
    return index;
  }

  override async writeShard(ns: NamespaceInfo, rows: string[], codes: Float32Array, rejects: ShardIndex['rejects']): Promise<string> {
    const id = await super.writeShard(ns, rows, codes, rejects);
    this.known.get(ns.id)?.seen.add(id);
    return id;
  }
}
