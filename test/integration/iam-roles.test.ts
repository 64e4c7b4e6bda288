import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { FINE_TUNE } from '../../contracts/cross-process.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import type { Credentials } from '../../aws/endpoints.js';
import { clients, cli } from '../helpers/serverless.js';
import { credentialsEnv, enforceIam, refused, roleCredentials, writeTemplate } from '../helpers/iam.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { HYMENOPTERA, MODELS_DIR, REPO_ROOT, requireShared } from '../helpers/paths.js';

const execFileAsync = promisify(execFile);

/**
 * Each role of the synthesized templates (GPU and CPU deployments), as `up --iam` installs it in IAM-enforcing moto:
 * allowed what its function does, refused (AccessDenied) what lies outside its grants.
 */
const BUCKET = 'cnn-codes-iam';
let moto: MotoServer;
let admin: Credentials;
let queues: Record<string, string>;
let roles: string[];

before(async () => {
  requireShared();
  moto = await startMoto({ iam: true });
  const upWith = async (template: string) =>
    JSON.parse(await cli(moto.endpoint, ['up', '--bucket', BUCKET, '--no-notify', '--iam', template, '--json'])) as {
      queues: Record<string, { url: string }>;
      iam: { roles: string[]; admin: Credentials };
    };
  // Both deployments' roles: the CPU one adds the extract Lambda's, the GPU one the extract workers'.
  const cpu = await upWith(await writeTemplate({ extractCompute: 'cpu' }));
  const gpu = await upWith(await writeTemplate());
  roles = [...new Set([...cpu.iam.roles, ...gpu.iam.roles])];
  admin = gpu.iam.admin;
  queues = Object.fromEntries(Object.entries(gpu.queues).map(([stage, q]) => [stage, q.url]));
  queues.trainBatch = queues.run!.replace(/-run$/, '-train-batch');
  queues.fineTune = queues.run!.replace(/-run$/, '-fine-tune');
  await enforceIam(moto.endpoint);
  const c = clients(moto.endpoint, admin);
  for (const key of ['datasets/d/train/a/1.jpg', 'cache/m/final-0/index.json', 'runs/r/plan.json', 'models/m.onnx'])
    await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
});
after(() => moto?.stop());

type Attempt = [what: string, act: (s3: S3Client, sqs: SQSClient) => Promise<unknown>];
const get = (key: string): Attempt => [
  `s3:GetObject ${key}`,
  (s3) => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).then((r) => r.Body?.transformToString()),
];
const put = (key: string): Attempt => [
  `s3:PutObject ${key}`,
  (s3) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'y' })),
];
const send = (queue: string): Attempt => [
  `sqs:SendMessage ${queue}`,
  (_, sqs) => sqs.send(new SendMessageCommand({ QueueUrl: queues[queue], MessageBody: '{}' })),
];
const receive = (queue: string): Attempt => [
  `sqs:ReceiveMessage ${queue}`,
  (_, sqs) => sqs.send(new ReceiveMessageCommand({ QueueUrl: queues[queue], WaitTimeSeconds: 0 })),
];
const attributes = (queue: string): Attempt => [
  `sqs:GetQueueAttributes ${queue}`,
  (_, sqs) => sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues[queue], AttributeNames: ['All'] })),
];
const list = (prefix: string): Attempt => [
  `s3:ListBucket ${prefix}`,
  (s3) => s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix })),
];

/** Per role: what its function does (allowed), and what it must not (refused). */
const EXPECTED: Record<string, { allowed: Attempt[]; refused: Attempt[] }> = {
  HeadsTrainHeadFunctionServiceRole: {
    allowed: [get('cache/m/final-0/index.json'), put('cache/sources/d.json'), put('runs/r/x'), list('datasets/d/')],
    // The planner reads the code cache; only extract writes it. It writes the shard manifest, sends no shard: the
    // state machine's Map hands them out.
    refused: [
      put('cache/m/final-0/index.json'),
      get('models/m.onnx'),
      receive('evaluate'),
      list('models/'),
      send('extract'),
    ],
  },
  HeadsEvaluateFunctionServiceRole: {
    allowed: [get('datasets/d/train/a/1.jpg'), put('runs/r/metrics.json'), receive('evaluate')],
    refused: [put('cache/m/final-0/x.npy'), put('datasets/d/x'), send('train')],
  },
  ExtractLambdaFunctionServiceRole: {
    allowed: [get('datasets/d/train/a/1.jpg'), put('cache/m/final-0/x.npy'), list('datasets/d/')],
    // No join, no train message: the state machine goes on once every shard's task is answered.
    refused: [
      get('models/m.onnx'),
      put('datasets/d/x'),
      send('evaluate'),
      receive('run'),
      list('models/'),
      send('train'),
    ],
  },
  ExtractWorkersJobRole: {
    allowed: [get('datasets/d/train/a/1.jpg'), put('cache/m/final-0/x.npy'), receive('extract')],
    refused: [get('models/m.onnx'), put('datasets/d/x'), receive('run'), send('evaluate')],
  },
  TrainBatchJobJobRole: {
    allowed: [get('cache/m/final-0/index.json'), put('runs/r/head.json'), receive('trainBatch')],
    refused: [
      put('cache/m/final-0/x.npy'),
      get('datasets/d/train/a/1.jpg'),
      receive('train'),
      list('datasets/'),
      send('evaluate'),
    ],
  },
  FineTuneJobJobRole: {
    allowed: [get('datasets/d/train/a/1.jpg'), put('models/tuned.onnx'), receive('fineTune')],
    refused: [put('cache/m/final-0/x.npy'), get('runs/r/plan.json'), receive('extract')],
  },
  // The state machine's calls, as the emulator's interpreter makes them under this role (moto_iam_server.py): the
  // extract queue and, in the emulator only, the stand-in queues of the steps AWS invokes directly; the shard manifest.
  RunStateMachineRole: {
    allowed: [send('extract'), send('train'), send('evaluate'), get('runs/r/plan.json')],
    refused: [receive('extract'), put('runs/r/x'), get('datasets/d/train/a/1.jpg'), put('cache/m/final-0/x.npy')],
  },
  DispatcherDispatchFunctionServiceRole: {
    allowed: [attributes('extract'), attributes('fineTune')],
    refused: [receive('extract'), get('datasets/d/train/a/1.jpg'), send('extract')],
  },
};

test("every role of both templates is installed, and each function's role is one of them", () => {
  for (const role of Object.keys(EXPECTED)) assert.ok(roles.includes(role), `${role} in ${roles.join(', ')}`);
});

for (const [role, { allowed, refused: denied }] of Object.entries(EXPECTED)) {
  test(`${role}: allowed ${allowed.map(([w]) => w).join('; ')}; refused ${denied.map(([w]) => w).join('; ')}`, async () => {
    const credentials = await roleCredentials(moto.endpoint, admin, role, `probe-${role.slice(0, 40)}`);
    assert.notEqual(credentials.accessKeyId, admin.accessKeyId);
    const { s3, sqs } = clients(moto.endpoint, credentials);
    try {
      for (const [what, act] of allowed) assert.equal(await refused(() => act(s3, sqs)), false, `${role} may ${what}`);
      for (const [what, act] of denied)
        assert.equal(await refused(() => act(s3, sqs)), true, `${role} may not ${what}`);
    } finally {
      s3.destroy();
      sqs.destroy();
    }
  });
}

test("a fine-tune message, run by the fine-tune job (Python) as the job's role: data from datasets/, the model to models/", async () => {
  const c = clients(moto.endpoint, admin);
  const data = new S3BlobStore(c.s3, BUCKET, 'datasets/ft');
  for (const split of ['train', 'val'])
    for (const label of ['ants', 'bees']) {
      const dir = path.join(HYMENOPTERA, split, label);
      for (const file of (await readdir(dir)).sort().slice(0, 2))
        await data.put(`${split}/${label}/${file}`, await readFile(path.join(dir, file)));
    }
  await c.sqs.send(
    new SendMessageCommand({
      QueueUrl: queues.fineTune,
      MessageBody: JSON.stringify({
        type: FINE_TUNE.messageType,
        version: FINE_TUNE.messageVersion,
        requestId: 'iam-1',
        data: { location: `s3://${BUCKET}/datasets/ft` },
        backbone: { registry: 'mobilenetv2-12-int8' },
        output: { location: `s3://${BUCKET}/models`, name: 'ft-iam' },
        training: { epochs: 1, freezeBlocks: 'all', numWorkers: 1 },
        conversionCheck: { images: 0 },
      }),
    }),
  );
  const role = await roleCredentials(moto.endpoint, admin, 'FineTuneJobJobRole', 'fine-tune');
  const { stdout } = await execFileAsync(
    path.join(REPO_ROOT, '.venv', 'bin', 'python'),
    [
      '-m',
      'cnn_codes_finetune',
      '--sqs-queue-url',
      queues.fineTune!,
      '--wait-seconds',
      '1',
      '--models-dir',
      MODELS_DIR,
    ],
    {
      cwd: path.join(REPO_ROOT, 'jobs', 'fine-tune'),
      env: { ...process.env, ...motoEnv(moto.endpoint), AWS_DEFAULT_REGION: 'us-east-1', ...credentialsEnv(role) },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  assert.equal(
    (JSON.parse(stdout.trim().split('\n').at(-1)!) as { location: string }).location,
    `s3://${BUCKET}/models/ft-iam`,
  );
  const models = new S3BlobStore(c.s3, BUCKET, 'models/ft-iam');
  for (const name of ['ft-iam.json', 'ft-iam.onnx']) assert.ok(await models.exists(name), name);
  const left = await c.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queues.fineTune,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  assert.deepEqual(Object.values(left.Attributes ?? {}), ['0', '0'], 'the job deleted its message');
  c.s3.destroy();
  c.sqs.destroy();
});

test('sessions are distinct: two sessions of one role, and sessions of two roles, hold different keys', async () => {
  const keys = await Promise.all(
    ['HeadsTrainHeadFunctionServiceRole', 'HeadsTrainHeadFunctionServiceRole', 'HeadsEvaluateFunctionServiceRole'].map(
      (role, i) => roleCredentials(moto.endpoint, admin, role, `distinct-${i}`),
    ),
  );
  assert.equal(new Set(keys.map((k) => k.accessKeyId)).size, 3);
});
