import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GetBucketNotificationConfigurationCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { NotFoundError } from '../../core/errors.js';
import { awsSettings } from '../../aws/endpoints.js';
import { provision } from '../../aws/provision.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { SqsQueue } from '../../aws/sqs-queue.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { clients, drainQueue } from '../helpers/serverless.js';

let moto: MotoServer;
let c: ReturnType<typeof clients>;

before(async () => {
  moto = await startMoto();
  c = clients(moto.endpoint);
  await c.s3.send(new CreateBucketCommand({ Bucket: 'adapters' }));
});
after(() => moto?.stop());

test('S3 store: round trip, missing keys, paginated listing under its prefix, delete', async () => {
  const store = new S3BlobStore(c.s3, 'adapters', 'runs/r1', { pageSize: 3 });
  assert.equal(store.location, 's3://adapters/runs/r1');
  await store.put('a.json', JSON.stringify({ x: 1 }));
  assert.deepEqual(await store.getJson('a.json'), { x: 1 });
  assert.equal(await store.getJson('missing.json'), undefined);
  await assert.rejects(store.get('missing.bin'), NotFoundError);
  assert.equal(await store.exists('a.json'), true);
  assert.equal(await store.exists('nope'), false);
  for (let i = 0; i < 8; i++) await store.put(`parts/${i}.json`, String(i));
  await new S3BlobStore(c.s3, 'adapters', 'runs/r10').put('parts/x.json', 'other run'); // a sibling prefix
  const keys: string[] = [];
  for await (const b of store.list('parts/')) keys.push(b.key);
  assert.deepEqual(
    keys,
    Array.from({ length: 8 }, (_, i) => `parts/${i}.json`),
    'three pages, prefix stripped, sibling run excluded',
  );
  await store.delete('a.json');
  assert.equal(await store.exists('a.json'), false);
});

test('S3 putIfAbsent: of 12 concurrent writers exactly one wins, and its body stays', async () => {
  const store = new S3BlobStore(c.s3, 'adapters', 'claims');
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) => store.putIfAbsent('train.json', `writer ${i}`)),
  );
  assert.equal(results.filter(Boolean).length, 1);
  const winner = results.indexOf(true);
  assert.equal(new TextDecoder().decode(await store.get('train.json')), `writer ${winner}`);
  assert.equal(await store.putIfAbsent('train.json', 'late'), false);
});

test('S3 large bodies go up as multipart uploads and come back byte for byte', async () => {
  const store = new S3BlobStore(c.s3, 'adapters', 'big', {
    multipartThreshold: 6 * 1024 * 1024,
    partSize: 5 * 1024 * 1024,
  });
  const body = new Uint8Array(13 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4096) body[i] = (i / 4096) % 251;
  const before = moto.requests().length;
  await store.put('shard.npy', body);
  const requests = moto.requests().slice(before).join('\n');
  assert.match(requests, /POST \/adapters\/big\/shard\.npy\?uploads/, 'CreateMultipartUpload');
  assert.equal((requests.match(/PUT \/adapters\/big\/shard\.npy\?[^ ]*partNumber=/g) ?? []).length, 3, 'three parts');
  assert.deepEqual(Buffer.from(await store.get('shard.npy')).equals(Buffer.from(body)), true);
  // Ranged reads (train reads large code shards this way, in parallel) give exactly the bytes asked for.
  const [head, middle, tail] = await Promise.all([
    store.getRange('shard.npy', 0, 4097),
    store.getRange('shard.npy', 5 << 20, (5 << 20) + 8192),
    store.getRange('shard.npy', body.length - 10, body.length),
  ]);
  assert.deepEqual(
    [head, middle, tail].map((b) => b.byteLength),
    [4097, 8192, 10],
  );
  assert.equal(Buffer.from(middle).equals(Buffer.from(body.subarray(5 << 20, (5 << 20) + 8192))), true);
  assert.equal(Buffer.from(head).equals(Buffer.from(body.subarray(0, 4097))), true);
  assert.equal(Buffer.from(tail).equals(Buffer.from(body.subarray(body.length - 10))), true);
});

test('SQS queue: long poll, heartbeat, release, batch ack, dead-letter with reason, redrive after maxReceiveCount', async () => {
  const made = await provision(c.s3, c.sqs, {
    bucket: 'adapters',
    queuePrefix: 'adapt',
    region: 'us-east-1',
    visibilityTimeoutSeconds: 2,
    maxReceiveCount: 2,
    notifyPrefix: null,
  });
  const queue = new SqsQueue(c.sqs, made.queues.extract.url);
  setTimeout(() => void queue.send({ n: 1 }), 300);
  const started = Date.now();
  const [first] = await queue.receive({ waitSeconds: 5 });
  assert.ok(first && Date.now() - started < 4000, 'long poll returned when the message arrived');
  assert.deepEqual([first.body, first.receiveCount], [{ n: 1 }, 1]);
  await queue.extendVisibility(first, 6);
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(await queue.receive({ waitSeconds: 0 }), [], 'extended past the 2 s default');
  await queue.release(first, 0);
  const [again] = await queue.receive({ waitSeconds: 2 });
  assert.equal(again?.receiveCount, 2);

  await queue.sendRaw('{"v":1,"type":"extract","oops":');
  await queue.send({ n: 2 });
  await queue.send({ n: 3 });
  const batch = await receiveAll(queue, 3);
  const poison = batch.find((m) => m.raw?.startsWith('{"v":1'))!;
  assert.equal(poison.body, poison.raw, 'a body that is not JSON stays text');
  await queue.deadLetter(poison, 'CONFIG: invalid message: body is not JSON');
  await queue.ackAll([again!, ...batch.filter((m) => m !== poison)]);
  assert.deepEqual(await queue.counts(), { visible: 0, inFlight: 0, delayed: 0 });
  assert.deepEqual(await drainQueue(c.sqs, made.queues.extract.deadLetterUrl), [
    { body: '{"v":1,"type":"extract","oops":', reason: 'CONFIG: invalid message: body is not JSON' },
  ]);

  // Never settled: after maxReceiveCount (2) receives SQS itself moves it to the DLQ.
  await queue.send({ n: 4 });
  for (let i = 0; i < 2; i++) {
    const [m] = await queue.receive({ waitSeconds: 3 });
    await queue.release(m!, 0);
  }
  assert.deepEqual(await queue.receive({ waitSeconds: 1 }), []);
  assert.deepEqual(
    (await drainQueue(c.sqs, made.queues.extract.deadLetterUrl)).map((m) => m.body),
    ['{"n":4}'],
  );
});

test('up is idempotent and wires ObjectCreated under the prefix to the extract queue', async () => {
  const options = {
    bucket: 'adapters',
    queuePrefix: 'again',
    region: 'us-east-1',
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3,
    notifyPrefix: 'datasets/',
  };
  const first = await provision(c.s3, c.sqs, options);
  const second = await provision(c.s3, c.sqs, { ...options, visibilityTimeoutSeconds: 45 });
  assert.deepEqual(second.queues, first.queues);
  const notification = await c.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'adapters' }));
  assert.equal(notification.QueueConfigurations?.[0]?.QueueArn, first.queues.extract.arn);
});

test('endpoint settings follow the SDK conventions; an emulator without credentials gets dummy keys', () => {
  assert.deepEqual(
    awsSettings(
      {},
      { AWS_ENDPOINT_URL: 'http://h:1', AWS_ENDPOINT_URL_SQS: 'http://q:2', AWS_DEFAULT_REGION: 'eu-west-1' },
    ),
    {
      region: 'eu-west-1',
      // IAM and STS (up --iam, worker --role) take the shared endpoint.
      endpoint: 'http://h:1',
      s3Endpoint: 'http://h:1',
      sqsEndpoint: 'http://q:2',
      emulatorCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
  );
  assert.deepEqual(
    awsSettings({ endpoint: 'http://x:3' }, { AWS_ENDPOINT_URL_S3: 'http://s:4', AWS_ACCESS_KEY_ID: 'k' }),
    { region: 'us-east-1', endpoint: 'http://x:3', s3Endpoint: 'http://x:3', sqsEndpoint: 'http://x:3' },
  );
  assert.deepEqual(awsSettings({}, { AWS_REGION: 'ap-south-1' }), { region: 'ap-south-1' });
  assert.throws(() => awsSettings({ endpoint: 'localhost:4566' }, {}), /http\(s\) URL/);
});

async function receiveAll(queue: SqsQueue, n: number) {
  const out = [];
  while (out.length < n) out.push(...(await queue.receive({ max: 10, waitSeconds: 2 })));
  return out;
}

test('SQS queue: a batch heartbeat keeps every message of a batch in hand, ten per request', async () => {
  const made = await provision(c.s3, c.sqs, {
    bucket: 'adapters',
    queuePrefix: 'beat',
    region: 'us-east-1',
    visibilityTimeoutSeconds: 2,
    maxReceiveCount: 5,
    notifyPrefix: null,
  });
  const queue = new SqsQueue(c.sqs, made.queues.extract.url);
  for (let n = 0; n < 23; n++) await queue.send({ n });
  const batch = await receiveAll(queue, 23);
  const before = moto.requests().length;
  await queue.extendVisibilityAll(batch, 6);
  await new Promise((r) => setTimeout(r, 300)); // moto's request log arrives over a pipe
  assert.equal(moto.requests().length - before, 3, '23 messages: three batch requests');
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(await queue.receive({ waitSeconds: 0 }), [], 'every one extended past the 2 s default');
  await queue.extendVisibilityAll(batch, 0);
  const again = await receiveAll(queue, 23);
  assert.equal(again.length, 23, 'all visible again once let go');
  await queue.ackAll(again);
  await assert.rejects(
    queue.extendVisibilityAll(batch, 6),
    /visibility changes failed/,
    'messages deleted meanwhile: the failure is reported, not swallowed',
  );
});
