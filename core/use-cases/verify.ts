import { fileURLToPath } from 'node:url';
import type { ListOptions } from '../dataset/image-folder.js';
import { DataError } from '../errors.js';
import type { FeatureStore, ShardDamage } from '../features/feature-store.js';
import type { BlobStore } from '../ports/blob-store.js';
import { readManifest, type ManifestEntryIndex } from '../workspace/manifest-store.js';
import { extract, type ExtractDeps, type ExtractSummary } from './extract.js';

export interface VerifyReport {
  /** Shards read and checksummed, over every cut point the manifest names. */
  shards: number;
  /** Sound shards written before checksums existed: size-checked only. */
  withoutChecksum: number;
  damaged: ShardDamage[];
  /** Manifest rows whose code is in no sound shard (a damaged or deleted shard held them). */
  missingRows: number;
  clean: boolean;
}

/**
 * Reads every shard the workspace's manifest relies on and checks it against its checksum, trusting no stamp. With
 * `remove`, damaged shards are deleted so that the next extract re-embeds exactly their rows.
 */
export async function verifyWorkspace(
  deps: { workspace: BlobStore; features: FeatureStore; manifestIndex?: ManifestEntryIndex },
  options: { remove: boolean },
): Promise<VerifyReport> {
  const manifest = await readManifest(deps.workspace, deps.manifestIndex);
  const report: VerifyReport = { shards: 0, withoutChecksum: 0, damaged: [], missingRows: 0, clean: true };
  for (const [cut, ns] of Object.entries(manifest.namespaces)) {
    const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut };
    const index = await deps.features.loadIndex(info, {
      verify: true,
      remove: options.remove,
      onDamaged: (damage) => {
        report.damaged.push(damage);
        report.shards += 1;
      },
      onShard: (_id, shard) => {
        report.shards += 1;
        if (shard.crc32 === undefined) report.withoutChecksum += 1;
      },
    });
    report.missingRows += manifest.entries.filter((e) => !index.codes.has(e.contentHash)).length;
  }
  report.clean = report.damaged.length === 0 && report.missingRows === 0;
  return report;
}

/**
 * After `verifyWorkspace` with `remove`: re-extracts the rows of the damaged shards it deleted, from the dataset the
 * manifest names (a local folder) or `data` when it moved, with the model the manifest names unless `model` says
 * otherwise, for every cut point the manifest has. Unchanged images are found in the cache; only the lost rows are
 * embedded again.
 */
export async function repairWorkspace(
  deps: {
    workspace: BlobStore;
    manifestIndex?: ManifestEntryIndex;
    /** Extraction over the dataset folder `dataDir` with the model named `model`. */
    openDataset(dataDir: string, model: string): Promise<ExtractDeps>;
  },
  options: { data?: string; model?: string; list?: ListOptions; signal?: AbortSignal } = {},
): Promise<ExtractSummary> {
  const manifest = await readManifest(deps.workspace, deps.manifestIndex);
  const dataDir =
    options.data ?? (manifest.dataset.startsWith('file://') ? fileURLToPath(manifest.dataset) : undefined);
  if (!dataDir)
    throw new DataError(`verify --repair: the dataset ${manifest.dataset} is not a local folder; pass --data DIR`);
  const extractDeps = await deps.openDataset(dataDir, options.model ?? manifest.model.name);
  const result = await extract(extractDeps, {
    cuts: Object.keys(manifest.namespaces),
    ...(options.list ? { list: options.list } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return result.summary;
}
