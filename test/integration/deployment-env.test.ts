import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { parseWorkMessage } from '../../core/messages/schema.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { withTempDir } from '../helpers/paths.js';
import { clients, cli, drainQueue } from '../helpers/serverless.js';
import { jpeg } from '../helpers/image-fixtures.js';

/**
 * A CDK deployment names its bucket and queues itself (CnnCodes-RunQueue…), so `up`'s names do not find them; the
 * stack's RuntimeEnvironment output lists them as variables instead. Queues made here with such names, never by `up`.
 */
let moto: MotoServer;
let c: ReturnType<typeof clients>;
const BUCKET = 'cnncodes-storagedata1a2b3c';
const deployment: Record<string, string> = { CNN_CODES_BUCKET: BUCKET };

before(async () => {
  moto = await startMoto();
  c = clients(moto.endpoint);
  await c.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const [stage, name] of [
    ['RUN', 'CnnCodes-RunQueue4F1A'],
    ['EXTRACT', 'CnnCodes-ExtractQueue9C2D'],
    ['TRAIN', 'CnnCodes-TrainQueue77E0'],
    ['EVALUATE', 'CnnCodes-EvaluateQueueB3F5'],
  ] as const) {
    deployment[`CNN_CODES_${stage}_QUEUE_URL`] = (
      await c.sqs.send(new CreateQueueCommand({ QueueName: name }))
    ).QueueUrl!;
  }
});
after(() => moto?.stop());

test('with a deployment exported, submit uploads to its bucket and sends to its run queue; status reads its queues', () =>
  withTempDir(async (dir) => {
    const data = path.join(dir, 'tiny');
    for (const [split, label] of [
      ['train', 'ants'],
      ['train', 'bees'],
      ['val', 'ants'],
      ['val', 'bees'],
    ]) {
      await mkdir(path.join(data, split!, label!), { recursive: true });
      await writeFile(path.join(data, split!, label!, 'one.jpg'), await jpeg(48, 32));
    }
    const submitted = JSON.parse(
      await cli(moto.endpoint, ['submit', '--data', data, '--run-id', 'deployed', '--json'], deployment),
    );
    assert.equal(submitted.uploaded, 4);
    assert.equal(submitted.workspace, `s3://${BUCKET}/runs/deployed`);
    assert.equal(await new S3BlobStore(c.s3, BUCKET, 'datasets/tiny').exists('val/bees/one.jpg'), true);

    const status = JSON.parse(await cli(moto.endpoint, ['status', '--json'], deployment));
    assert.deepEqual(Object.keys(status.queues).sort(), ['evaluate', 'extract', 'run', 'train']);
    assert.equal(status.queues.run.visible, 1, "the run message waits in the deployment's run queue");

    const [sent] = await drainQueue(c.sqs, deployment.CNN_CODES_RUN_QUEUE_URL!);
    const message = parseWorkMessage(JSON.parse(sent!.body));
    assert.equal(message.type, 'run');
    assert.equal(message.type === 'run' && message.dataset, `s3://${BUCKET}/datasets/tiny`);

    // Without the variables the same commands look for `up`'s names, and say how to fix it.
    await assert.rejects(
      cli(moto.endpoint, ['submit', '--data', data, '--bucket', BUCKET, '--json']),
      /cnn-codes-run not found: run "cnn-codes up".*CNN_CODES_RUN_QUEUE_URL/s,
    );
  }));
