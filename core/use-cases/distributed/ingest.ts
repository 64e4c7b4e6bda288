import { METADATA, type DatasetItem } from '../../dataset/image-folder.js';
import { ConfigError } from '../../errors.js';
import type { S3ObjectRef } from '../../messages/s3-event.js';
import { extractItems, resolveCuts } from '../extract.js';
import type { DistributedDeps } from './deps.js';
import { tolerateMissing } from '../../dataset/tolerate-missing.js';
import { optional } from '../../util/optional.js';
import { bytesMatchSource, identityOf } from '../../dataset/source-identity.js';
import { announceInFlight, awaitInFlight } from './in-flight.js';

/**
 * Incremental mode: objects S3 reported as created go into the code cache now, so the next run on their dataset
 * finds them cached. Only the cache is touched: labels and manifests belong to runs.
 */
export async function ingestObjects(deps: DistributedDeps, objects: readonly S3ObjectRef[]): Promise<void> {
  // As the dataset listing skips them: hidden files and folders, metadata, and empty objects (folder markers).
  const images = objects.filter((o) => o.size !== 0 && !METADATA.test(o.key) && !/(^|\/)\./.test(o.key));
  const skipped = objects.length - images.length;
  if (images.length === 0) return;
  if (!deps.ingest || !deps.openEmbedder)
    throw new ConfigError('this worker has no backbone; S3 notifications belong on the extract queue');
  const model = await deps.lookupModel(deps.ingest.model);
  const cuts = resolveCuts(model, deps.ingest.cuts);
  const features = deps.openFeatures(deps.ingest.cache, 'write');
  const started = performance.now();
  const total = { images: images.length, embedded: 0, cached: 0, rejected: 0, skipped };
  for (const bucket of new Set(images.map((o) => o.bucket))) {
    // Placeholder labels: extractItems wants dataset items, but only the codes it caches are kept.
    // The notice's identity (ETag/size) goes with the item: confirmed against the bytes read, it is recorded beside
    // the codes, so a run over the same objects finds them by its listing without reading them again.
    const byKey = new Map(images.filter((o) => o.bucket === bucket).map((r) => [r.key, r]));
    const items: DatasetItem[] = [...byKey.values()].map((r) => ({
      key: r.key,
      split: 'train',
      label: 0,
      ...optional('source', identityOf(r)),
    }));
    const data = tolerateMissing(deps.openStore(`s3://${bucket}`)).data;
    const cache = deps.openStore(deps.ingest.cache);
    const claim = await announceInFlight(
      cache,
      items.flatMap((i) => (i.source ? [i.source] : [])),
    );
    // Objects another batch is embedding right now (a redelivered notice): wait, then find them cached.
    if (claim.elsewhere.size > 0) await awaitInFlight(cache, claim.elsewhere);
    const result = await extractItems(
      { data, features, model, openEmbedder: deps.openEmbedder, ...optional('target', deps.extractTarget) },
      items,
      cuts,
      { confirmSource: bytesMatchSource },
    ).finally(claim.withdraw);
    total.embedded += result.embedded;
    total.cached += result.cached;
    total.rejected += result.rejects.length;
  }
  deps.log?.({ event: 'ingest:done', ...total, seconds: (performance.now() - started) / 1000 });
}
