import assert from 'node:assert/strict';
import type { SQSBatchResponse } from 'aws-lambda';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { provision, type Provisioned } from '../../aws/provision.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { SqsQueue } from '../../aws/sqs-queue.js';
import { copyHymenopteraSubset } from '../helpers/local-pipeline.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { MODELS_DIR, requireShared } from '../helpers/paths.js';
import { clients, drainQueue, receiveN, toSqsEvent } from '../helpers/serverless.js';
import { testRunPlan } from '../helpers/run-plan.js';

/** The Lambda entry points with events built from real SQS messages: partial batch responses and DLQ moves. */
const BUCKET = 'lambda-bucket';
let moto: MotoServer;
let c: ReturnType<typeof clients>;
let made: Provisioned;
let root: string;
const arn = (stage: keyof Provisioned['queues']) => made.queues[stage].arn;

before(async () => {
  requireShared();
  moto = await startMoto();
  c = clients(moto.endpoint);
  made = await provision(c.s3, c.sqs, {
    bucket: BUCKET,
    queuePrefix: 'lam',
    region: 'us-east-1',
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3,
    notifyPrefix: null,
  });
  Object.assign(process.env, motoEnv(moto.endpoint), {
    CNN_CODES_BUCKET: BUCKET,
    CNN_CODES_RUN_QUEUE_URL: made.queues.run.url,
    CNN_CODES_EXTRACT_QUEUE_URL: made.queues.extract.url,
    CNN_CODES_TRAIN_QUEUE_URL: made.queues.train.url,
    CNN_CODES_EVALUATE_QUEUE_URL: made.queues.evaluate.url,
    CNN_CODES_MODELS_DIR: MODELS_DIR,
    CNN_CODES_THREADS: '1',
  });
  root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-lambda-'));
  const files = await copyHymenopteraSubset(root, 2);
  const dataset = new S3BlobStore(c.s3, BUCKET, 'datasets/mini');
  for (const rel of files) await dataset.put(rel, await readFile(path.join(root, rel)));
});
after(async () => {
  await Promise.all(
    [import('../../functions/train-head/handler.js'), import('../../functions/extract/lambda.js')].map(async (m) =>
      (await m).dispose(),
    ),
  );
  await moto?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/**
 * The handlers' log lines (JSON on stderr) while `work` runs: what they did with each task. The tokens here are no
 * running execution's: moto, with execution off, accepts their answers (Step Functions would answer InvalidToken,
 * which a worker takes as a late answer).
 */
async function logged(work: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await work();
  } finally {
    process.stderr.write = write;
  }
  return lines.flatMap((l) => l.split('\n')).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : []));
}

const task = (message: unknown, token: string) => ({ task: token, message });

test('train-head handler: plans a run, answers a retryable failure as transient (the engine retries), moves the poison message to its DLQ', async () => {
  const { handler } = await import('../../functions/train-head/handler.js');
  await new S3BlobStore(c.s3, BUCKET, 'runs/orphan').put(
    'plan.json',
    JSON.stringify(
      testRunPlan({
        runId: 'orphan',
        shards: [[{ key: 'train/ants/x.jpg', split: 'train', label: 0 }]],
      }),
    ),
  );
  const trainQueue = new SqsQueue(c.sqs, made.queues.train.url);
  const orphan = {
    v: 1,
    type: 'train',
    runId: 'orphan',
    workspace: `s3://${BUCKET}/runs/orphan`,
    cache: `s3://${BUCKET}/cache`,
    train: {},
    split: 'val',
  };
  const plan = {
    v: 1,
    type: 'run',
    runId: 'mini',
    dataset: `s3://${BUCKET}/datasets/mini`,
    workspace: `s3://${BUCKET}/runs/mini`,
    cache: `s3://${BUCKET}/cache`,
    model: 'mobilenetv2-12-int8',
    cuts: ['final'],
    shardSize: 3,
  };
  await trainQueue.send(task(orphan, 'token-orphan'));
  await trainQueue.sendRaw('{"v":1,"type":"train"}');
  await trainQueue.send(task(plan, 'token-plan'));
  const messages = await receiveN(c.sqs, made.queues.train.url, 3);
  let response: SQSBatchResponse | undefined;
  const log = await logged(async () => {
    response = (await handler(toSqsEvent(messages, arn('train')))) as SQSBatchResponse;
  });
  assert.deepEqual(response!.batchItemFailures, [], 'every task answered: retries are the engine’s');
  const failed = log.filter((e) => e.event === 'task:failed');
  assert.deepEqual(
    failed.map((e) => e.runId),
    ['orphan'],
  );
  assert.match(String(failed[0]!.error), /parts of shards 0 missing/, 'a store hiccup: answered as transient');
  // moto, not executing here, accepts any token's answer; a running Step Functions would call these late (harmless).
  assert.deepEqual(
    log.filter((e) => e.event === 'run:planned').map((e) => [e.runId, e.shards]),
    [['mini', 3]],
  );
  assert.deepEqual(
    (await drainQueue(c.sqs, made.queues.train.deadLetterUrl)).map((m) => m.body),
    ['{"v":1,"type":"train"}'],
  );
  const shards = await new S3BlobStore(c.s3, BUCKET, 'runs/mini').getJson<unknown[]>('shards.json');
  assert.equal(shards?.length, 3, '8 images in shards of 3, in the manifest the Distributed Map reads');
});

test('extract handler: a shard and an S3 test event in one batch; a misrouted message is dead-lettered', async () => {
  const { handler } = await import('../../functions/extract/lambda.js');
  const extractQueue = new SqsQueue(c.sqs, made.queues.extract.url);
  const shard = {
    v: 1,
    type: 'extract',
    runId: 'solo',
    dataset: `s3://${BUCKET}/datasets/mini`,
    workspace: `s3://${BUCKET}/runs/solo`,
    cache: `s3://${BUCKET}/cache`,
    model: 'mobilenetv2-12-int8',
    cuts: ['final'],
    shard: {
      index: 0,
      count: 1,
      items: [
        { key: 'train/ants/missing.jpg', split: 'train', label: 0 },
        { key: 'val/bees/' + (await firstKey('val/bees/')), split: 'val', label: 1 },
      ],
    },
  };
  await new S3BlobStore(c.s3, BUCKET, 'runs/solo').put(
    'plan.json',
    JSON.stringify(testRunPlan({ runId: 'solo', shards: [shard.shard.items], train: {}, split: 'val' })),
  );
  await extractQueue.send(task(shard, 'token-shard'));
  await extractQueue.sendRaw(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BUCKET }));
  await extractQueue.send({ v: 1, type: 'evaluate', runId: 'x' });
  const messages = await receiveN(c.sqs, made.queues.extract.url, 3);
  const response = (await handler(toSqsEvent(messages, arn('extract')))) as SQSBatchResponse;
  assert.deepEqual(response.batchItemFailures, []);
  const part = await new S3BlobStore(c.s3, BUCKET, 'runs/solo').getJson<{
    entries: unknown[];
    rejects: Array<{ kind: string }>;
  }>('parts/000000.json');
  assert.equal(part?.entries.length, 1);
  assert.deepEqual(
    part?.rejects.map((r) => r.kind),
    ['missing'],
    'a bad or missing image never fails its shard',
  );
  const dead = await drainQueue(c.sqs, made.queues.extract.deadLetterUrl);
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.reason!, /evaluate\.workspace: required/);
});

async function firstKey(prefix: string): Promise<string> {
  for await (const blob of new S3BlobStore(c.s3, BUCKET, 'datasets/mini').list(prefix))
    return blob.key.slice(prefix.length);
  throw new Error(`nothing under ${prefix}`);
}
