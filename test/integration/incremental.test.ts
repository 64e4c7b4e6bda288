import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import type { Manifest } from '../../core/features/manifest.js';
import { extract } from '../../core/use-cases/extract.js';
import type { ShardPart } from '../../core/use-cases/distributed/extract-shard.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { copyHymenopteraSubset, localPipeline } from '../helpers/local-pipeline.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { MODELS_DIR, requireShared } from '../helpers/paths.js';
import { BIN, cli, clients, codesByHash, drainQueue, spawnWorker, waitForObject } from '../helpers/serverless.js';

/** Incremental mode: S3 ObjectCreated notifications into the extract queue put new images' codes in the cache. */
let moto: MotoServer;
let c: ReturnType<typeof clients>;
let root: string;

before(async () => {
  requireShared();
  moto = await startMoto();
  c = clients(moto.endpoint);
  root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-incremental-'));
});
after(async () => {
  await moto?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

test('uploads are extracted as they land; a later run over them embeds nothing', async () => {
  const up = JSON.parse(
    await cli(moto.endpoint, [
      'up',
      '--bucket',
      'inc-bucket',
      '--queue-prefix',
      'inc',
      '--notify-prefix',
      'datasets/',
      '--json',
    ]),
  ) as { queues: Record<string, { deadLetterUrl: string }> };
  const data = path.join(root, 'data');
  const files = await copyHymenopteraSubset(data, 2); // 8 images
  const { deps } = await localPipeline(data, path.join(root, 'local'));
  const local = await extract(deps);

  const worker = spawnWorker(
    [
      BIN,
      'worker',
      '--endpoint',
      moto.endpoint,
      '--bucket',
      'inc-bucket',
      '--queue-prefix',
      'inc',
      '--queues',
      'run,extract',
      '--threads',
      '1',
      '--idle-exit',
      '60',
      '--poll',
      '2',
    ],
    {
      ...motoEnv(moto.endpoint),
      CNN_CODES_SHARED: path.dirname(MODELS_DIR),
    },
  );
  try {
    const dataset = new S3BlobStore(c.s3, 'inc-bucket', 'datasets/inc');
    for (const rel of files) await dataset.put(rel, await readFile(path.join(data, rel)));
    await dataset.put('README.txt', 'not an image');
    const ingested = () =>
      worker.events
        .filter((e) => e.event === 'ingest:done')
        .reduce((n, e) => n + Number(e.embedded) + Number(e.cached), 0);
    await worker.waitFor(() => ingested() >= files.length, 120_000);

    const remote = await codesByHash(new FeatureStore(new S3BlobStore(c.s3, 'inc-bucket'), 'cache'), local.manifest);
    const reference = await codesByHash(
      new FeatureStore(new FsBlobStore(path.join(root, 'local')), 'codes'),
      local.manifest,
    );
    for (const [hash, code] of reference) assert.ok(remote.get(hash)?.equals(code), `code of ${hash} differs`);

    const beforeRun = moto.requests().length;
    await cli(moto.endpoint, [
      'submit',
      '--bucket',
      'inc-bucket',
      '--queue-prefix',
      'inc',
      '--data',
      's3://inc-bucket/datasets/inc',
      '--run-id',
      'after-upload',
      '--shard-size',
      '4',
      '--C',
      '1',
    ]);
    const parts = new S3BlobStore(c.s3, 'inc-bucket', 'runs/after-upload');
    const first = await waitForObject<ShardPart>(parts, 'parts/000000.json', 60_000);
    const second = await waitForObject<ShardPart>(parts, 'parts/000001.json', 60_000);
    assert.deepEqual([first.embedded + second.embedded, first.cached + second.cached], [0, 8]);
    // Ingest recorded each notice's ETag/size beside the codes: the run knows the content from its listing.
    const datasetGets = moto
      .requests()
      .slice(beforeRun)
      .filter((l) => l.includes('"GET /inc-bucket/datasets/inc/') && !l.includes('list-type'));
    assert.deepEqual(datasetGets, [], 'the run read no image that ingest had read');
  } finally {
    await worker.stop();
  }
  assert.deepEqual(
    await drainQueue(c.sqs, up.queues.extract!.deadLetterUrl),
    [],
    'the S3 test event and the README were ignored, not dead-lettered',
  );
  assert.ok((local.manifest as Manifest).entries.length === 8);
});
