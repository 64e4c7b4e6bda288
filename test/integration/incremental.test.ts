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
import type { Credentials } from '../../aws/endpoints.js';
import { credentialsEnv, enforceIam, writeTemplate } from '../helpers/iam.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { MODELS_DIR, requireShared } from '../helpers/paths.js';
import {
  cli,
  clients,
  codesByHash,
  drainQueue,
  spawnWorker,
  waitForObject,
  workerArgs,
} from '../helpers/serverless.js';

/**
 * Incremental mode: S3 ObjectCreated notifications into the extract queue put new images' codes in the cache. Under
 * the CPU deployment's IAM: `cnn-codes worker --role` as the extract Lambda's role takes the notices, and another as
 * train-head's role plans the later run.
 */
let moto: MotoServer;
let c: ReturnType<typeof clients>;
let root: string;
let admin: NodeJS.ProcessEnv;
let template: string;

before(async () => {
  requireShared();
  moto = await startMoto({ iam: true });
  root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-incremental-'));
  template = await writeTemplate({ extractCompute: 'cpu' });
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
      '--iam',
      template,
      '--json',
    ]),
  ) as { queues: Record<string, { deadLetterUrl: string }>; iam: { admin: Credentials } };
  await enforceIam(moto.endpoint);
  admin = credentialsEnv(up.iam.admin);
  c = clients(moto.endpoint, up.iam.admin);
  const data = path.join(root, 'data');
  const files = await copyHymenopteraSubset(data, 2); // 8 images
  const { deps } = await localPipeline(data, path.join(root, 'local'));
  const local = await extract(deps);

  const worker = (queues: string, role: string) =>
    spawnWorker(workerArgs({ endpoint: moto.endpoint, bucket: 'inc-bucket', queuePrefix: 'inc', queues, role }), {
      ...motoEnv(moto.endpoint),
      ...admin,
      CNN_CODES_SHARED: path.dirname(MODELS_DIR),
    });
  const extractor = worker('extract', 'ExtractLambdaFunctionServiceRole');
  const planner = worker('run', 'HeadsTrainHeadFunctionServiceRole');
  try {
    const dataset = new S3BlobStore(c.s3, 'inc-bucket', 'datasets/inc');
    for (const rel of files) await dataset.put(rel, await readFile(path.join(data, rel)));
    await dataset.put('README.txt', 'not an image');
    const ingested = () =>
      extractor.events
        .filter((e) => e.event === 'ingest:done')
        .reduce((n, e) => n + Number(e.embedded) + Number(e.cached), 0);
    await extractor.waitFor(() => ingested() >= files.length, 120_000);

    const remote = await codesByHash(new FeatureStore(new S3BlobStore(c.s3, 'inc-bucket'), 'cache'), local.manifest);
    const reference = await codesByHash(
      new FeatureStore(new FsBlobStore(path.join(root, 'local')), 'codes'),
      local.manifest,
    );
    for (const [hash, code] of reference) assert.ok(remote.get(hash)?.equals(code), `code of ${hash} differs`);

    const beforeRun = moto.requests().length;
    await cli(
      moto.endpoint,
      [
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
      ],
      admin,
    );
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
    await Promise.all([extractor.stop(), planner.stop()]);
  }
  assert.deepEqual(
    await drainQueue(c.sqs, up.queues.extract!.deadLetterUrl),
    [],
    'the S3 test event and the README were ignored, not dead-lettered',
  );
  assert.ok((local.manifest as Manifest).entries.length === 8);
});
