import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { CreateStateMachineCommand, DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { parseWorkMessage } from '../../core/messages/schema.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { withTempDir } from '../helpers/paths.js';
import { clients, cli } from '../helpers/serverless.js';
import { jpeg } from '../helpers/image-fixtures.js';

/**
 * A CDK deployment names its bucket and queues itself (CnnCodes-RunQueue…), so `up`'s names do not find them; the
 * stack's RuntimeEnvironment output lists them as variables instead. Queues made here with such names, never by `up`.
 */
let moto: MotoServer;
let c: ReturnType<typeof clients>;
const BUCKET = 'cnncodes-storagedata1a2b3c';
const deployment: Record<string, string> = { CNN_CODES_BUCKET: BUCKET };
/** The stack's RunStateMachine output (here a stand-in of that name, which moto does not execute). */
let stateMachine: string;

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
  stateMachine = (
    await c.sfn.send(
      new CreateStateMachineCommand({
        name: 'CnnCodes-run',
        definition: JSON.stringify({ StartAt: 'Plan', States: { Plan: { Type: 'Pass', End: true } } }),
        roleArn: 'arn:aws:iam::123456789012:role/RunStateMachineRole',
      }),
    )
  ).stateMachineArn!;
});
after(() => moto?.stop());

test('with a deployment exported, submit uploads to its bucket and starts an execution of its state machine; status reads its queues and the execution', () =>
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
      await cli(
        moto.endpoint,
        ['submit', '--data', data, '--run-id', 'deployed', '--state-machine', stateMachine, '--json'],
        deployment,
      ),
    );
    assert.equal(submitted.executionArn, `${stateMachine.replace(':stateMachine:', ':execution:')}:deployed`);
    assert.equal(submitted.uploaded, 4);
    assert.equal(submitted.workspace, `s3://${BUCKET}/runs/deployed`);
    assert.equal(await new S3BlobStore(c.s3, BUCKET, 'datasets/tiny').exists('val/bees/one.jpg'), true);

    // Plans are what status lists runs by: this one has none yet (moto does not execute here), so name it.
    const status = JSON.parse(
      await cli(moto.endpoint, ['status', '--run', 'deployed', '--state-machine', stateMachine, '--json'], deployment),
    );
    assert.deepEqual(Object.keys(status.queues).sort(), ['evaluate', 'extract', 'run', 'train']);
    assert.deepEqual(
      status.runs.map((r: { executionArn: string; status: string }) => [r.executionArn, r.status]),
      [[submitted.executionArn, 'RUNNING']],
      'status --json names the execution',
    );

    const execution = await c.sfn.send(new DescribeExecutionCommand({ executionArn: submitted.executionArn }));
    const message = parseWorkMessage(JSON.parse(execution.input!));
    assert.equal(message.type, 'run');
    assert.equal(message.type === 'run' && message.dataset, `s3://${BUCKET}/datasets/tiny`);

    // Without the state machine named, submit looks for `up`'s, and says how to fix it.
    await assert.rejects(
      cli(moto.endpoint, ['submit', '--data', data, '--bucket', BUCKET, '--json']),
      /cnn-codes-run not found: run "cnn-codes up".*--state-machine/s,
    );
  }));
