import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseS3Notification, looksLikeS3Notification } from '../../../core/messages/s3-event.js';
import { MESSAGE_VERSION, parseTask, parseWorkMessage } from '../../../core/messages/schema.js';
import { parseStoreUri, splitLastSegment } from '../../../core/messages/store-uri.js';
import { InvalidMessageError } from '../../../core/messages/schema.js';
import { EVALUATE_MESSAGE, EXTRACT_MESSAGE, RUN_MESSAGE } from '../../helpers/message-fixtures.js';

const extract = EXTRACT_MESSAGE;

function rejects(body: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseWorkMessage(body),
    (err: unknown) => {
      assert.ok(err instanceof InvalidMessageError, String(err));
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

test('valid messages of every type parse to themselves', () => {
  assert.deepEqual(parseWorkMessage(structuredClone(extract)), extract);
  const run = structuredClone(RUN_MESSAGE);
  assert.deepEqual(parseWorkMessage(run), run);
  const { shardSize: _s, list: _l, train: _t, split: _sp, ...minimal } = run;
  assert.deepEqual(parseWorkMessage(minimal), minimal, 'shardSize, list, train and split are optional');
  const train = {
    v: 1,
    type: 'train',
    runId: 'r1',
    workspace: 's3://b-1/runs/r1',
    cache: 's3://b-1/cache',
    train: {},
    split: 'val',
  };
  assert.deepEqual(parseWorkMessage(train), train);
  const evaluate = structuredClone(EVALUATE_MESSAGE);
  assert.deepEqual(parseWorkMessage(evaluate), evaluate);
});

test('unknown fields, missing fields and bad values are named by their path, all at once', () => {
  rejects({ ...extract, extra: 1 }, /extract\.extra: unknown field/);
  rejects(
    { ...extract, shard: { ...extract.shard, items: [{ key: 'a.jpg', split: 'train', label: -1, colour: 'red' }] } },
    /shard\.items\[0\]\.label: expected an integer/,
    /shard\.items\[0\]\.colour: unknown field/,
  );
  const { model: _m, ...noModel } = extract;
  rejects(noModel, /extract\.model: required/);
  rejects({ ...extract, cuts: [] }, /extract\.cuts: expected 1\.\.32 items/);
  rejects({ ...extract, cuts: ['final', 'final'] }, /items must be unique/);
  rejects({ ...extract, shard: { ...extract.shard, index: 2 } }, /shard\.index: 2 is not below shard\.count 2/);
  rejects({ ...extract, runId: '../etc' }, /runId: expected a run id/);
  rejects({ ...extract, dataset: 'relative/path' }, /dataset: .*absolute local path/);
  rejects({ ...extract, workspace: 's3://Bad_Bucket/x' }, /workspace: .*valid bucket name/);
  rejects({ ...extract, cache: 's3://bucket/a/../b' }, /cache: .*"\.\." path segments/);
  rejects(
    { ...extract, shard: { ...extract.shard, items: [{ key: '../secret', split: 'train', label: 0 }] } },
    /items\[0\]\.key/,
  );
  rejects(
    { v: 1, type: 'train', runId: 'r', workspace: '/w', cache: '/c', train: { C: 0 }, split: 'val' },
    /train\.train\.C: expected a positive finite number, got 0/,
  );
  rejects(
    { v: 1, type: 'evaluate', runId: 'r', workspace: '/w', cache: '/c', head: 'x', split: 'train' },
    /head: unknown field/,
    /split: expected one of "val", "test", got "train"/,
  );
});

test('wrong version, unknown type and non-objects are rejected before field checks', () => {
  rejects({ ...extract, v: 2 }, /speaks message version 1, got 2/);
  rejects({ ...extract, type: 'frobnicate' }, /type: expected one of run, extract, train, evaluate/);
  rejects('{not json', /text that is not JSON/);
  rejects(null, /expected a JSON object/);
  rejects([extract], /expected a JSON object/);
});

test('S3 notifications: created objects with decoded keys; test events and removals carry nothing', () => {
  const created = {
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'b-1' }, object: { key: 'datasets/x/train/ants/my+photo%281%29.jpg', size: 12 } },
      },
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectRemoved:Delete',
        s3: { bucket: { name: 'b-1' }, object: { key: 'gone.jpg' } },
      },
    ],
  };
  assert.ok(looksLikeS3Notification(created));
  assert.deepEqual(parseS3Notification(created), {
    kind: 'objects',
    objects: [{ bucket: 'b-1', key: 'datasets/x/train/ants/my photo(1).jpg', size: 12 }],
  });
  const testEvent = { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b-1' };
  assert.ok(looksLikeS3Notification(testEvent));
  assert.deepEqual(parseS3Notification(testEvent), { kind: 'test-event' });
  assert.equal(looksLikeS3Notification(extract), false);
  assert.throws(
    () => parseS3Notification({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: {} }] }),
    /Records\[0\]\.s3/,
  );
});

test('store URIs: s3 and folders; the cache URI splits into its parent store and name', () => {
  assert.deepEqual(parseStoreUri('s3://my-bucket/runs/r1/'), { scheme: 's3', bucket: 'my-bucket', prefix: 'runs/r1' });
  assert.deepEqual(parseStoreUri('s3://my-bucket'), { scheme: 's3', bucket: 'my-bucket', prefix: '' });
  assert.deepEqual(parseStoreUri('file:///tmp/a%20b'), { scheme: 'file', path: '/tmp/a b' });
  assert.deepEqual(splitLastSegment('s3://my-bucket/cache'), { parent: 's3://my-bucket', name: 'cache' });
  assert.deepEqual(splitLastSegment('/tmp/w/codes'), { parent: '/tmp/w', name: 'codes' });
  assert.throws(() => splitLastSegment('s3://my-bucket'), /must end in a folder name/);
});

test('D11: names inherited from Object.prototype are not message types: poison, not done or retried', () => {
  for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    rejects({ ...structuredClone(extract), type }, /type: expected one of/);
  }
  const proto = JSON.parse(`{"v": ${MESSAGE_VERSION}, "type": "__proto__", "runId": "r1"}`) as unknown;
  rejects(proto, /type: expected one of/);
});

test("a task's execution ARN reaches the evaluate message (its report names it); other tasks carry none, and unknown envelope fields are refused", () => {
  const evaluate = structuredClone(EVALUATE_MESSAGE);
  const execution = 'arn:aws:states:us-east-1:123456789012:execution:cnn-codes-run:r1';
  assert.deepEqual(parseTask({ task: 't', message: evaluate, execution }), {
    task: 't',
    message: { ...evaluate, execution },
  });
  assert.deepEqual(parseTask({ task: 't', message: evaluate }).message, evaluate, 'without one, none');
  assert.deepEqual(parseTask({ task: 't', message: structuredClone(extract), execution }).message, extract);
  assert.throws(
    () => parseTask({ task: 't', message: evaluate, execution: 'not an arn' }),
    /execution: expected an execution ARN/,
  );
  assert.throws(
    () => parseTask({ task: 't', message: evaluate, colour: 'red' }),
    /colour: not a field of a task message/,
  );
});
