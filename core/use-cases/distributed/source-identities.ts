import { createHash } from 'node:crypto';
import type { Manifest } from '../../features/manifest.js';
import type { ShardItem } from '../../messages/schema.js';
import type { BlobInfo, BlobStore } from '../../ports/blob-store.js';
import { identityOf } from '../../dataset/source-identity.js';
import type { CodeIndex } from '../../features/feature-store.js';

/**
 * Content known without reading it. A listing names every object's identity (S3: ETag and size); the cache keeps, per
 * dataset, the content hash each identity had when a run last read it. The next plan of that dataset puts the hash in
 * every shard item whose identity is unchanged, and a worker whose cache holds that hash reads nothing: a re-run
 * performs no dataset GET for cached images, as the local stat index does with mtime and size.
 */
interface DatasetSources {
  v: 1;
  dataset: string;
  /** key → [identity, content hash]. */
  entries: Record<string, [string, string]>;
}

/**
 * One object per dataset, read and written whole: a GET at planning, a GET and a PUT at train; beside it, its images'
 * signatures (core/quality/image-signature.ts cacheImageSignatures), written by train.
 */
export function sourcesKey(dataset: string, file: 'sources' | 'signatures' = 'sources'): string {
  const name = createHash('sha256').update(dataset).digest('hex').slice(0, 24);
  return `sources/${name}${file === 'signatures' ? '.signatures' : ''}.json`;
}

/** Items with their identity, and their content hash where the cache saw the same identity before. */
export async function withKnownContent(
  cache: BlobStore,
  dataset: string,
  items: ShardItem[],
  listed: ReadonlyMap<string, BlobInfo>,
): Promise<ShardItem[]> {
  const previous = (await cache.getJson<DatasetSources>(sourcesKey(dataset)))?.entries ?? {};
  return items.map((item): ShardItem => {
    const info = listed.get(item.key);
    const source = info && identityOf(info);
    if (!source) return item;
    const seen = previous[item.key];
    return seen?.[0] === source ? { ...item, source, hash: seen[1] } : { ...item, source };
  });
}

/**
 * Items the code cache already holds by identity (ingest on upload recorded each object's ETag/size beside its codes)
 * get their content hash in the plan, so their shard reads nothing; items an ingest batch is embedding right now will
 * be cached by the time their shard runs. Both are counted, so the plan sizes shards for what is left to embed.
 */
export function withCachedIdentities(
  index: Pick<CodeIndex, 'sources'>,
  inFlight: ReadonlySet<string>,
  items: ShardItem[],
): { items: ShardItem[]; cached: number } {
  const out = items.map((item): ShardItem => {
    const hash = !item.hash && item.source ? index.sources.get(item.source) : undefined;
    return hash ? { ...item, hash } : item;
  });
  const cached = out.filter((item) => item.hash || (item.source && inFlight.has(item.source))).length;
  return { items: out, cached };
}

/** After a run: what it read, merged into what the cache knew of this dataset. */
export async function rememberSources(
  cache: BlobStore,
  dataset: string,
  items: readonly ShardItem[],
  manifest: Manifest,
): Promise<void> {
  const hashes = new Map<string, string>();
  for (const e of manifest.entries) hashes.set(e.key, e.contentHash);
  for (const r of manifest.rejects) if (r.kind !== 'missing' && r.contentHash) hashes.set(r.key, r.contentHash);
  const entries = (await cache.getJson<DatasetSources>(sourcesKey(dataset)))?.entries ?? {};
  let changed = false;
  for (const item of items) {
    const hash = hashes.get(item.key);
    if (!item.source || !hash || (entries[item.key]?.[0] === item.source && entries[item.key]?.[1] === hash)) continue;
    entries[item.key] = [item.source, hash];
    changed = true;
  }
  if (changed)
    await cache.put(sourcesKey(dataset), JSON.stringify({ v: 1, dataset, entries } satisfies DatasetSources));
}
