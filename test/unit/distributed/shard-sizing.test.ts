import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sizeShards } from '../../../core/use-cases/distributed/shard-sizing.js';

const ITEM = 60; // bytes of one shard item in a message, as the planner measures it

test('shards are sized for the compute that runs them, and the plan says why', () => {
  const gpu = sizeShards(1_000_000, 1_000_000 * ITEM, { kind: 'gpu' });
  assert.equal(gpu.shardSize, 3333, 'thousands per GPU task, capped so the message fits SQS');
  assert.match(gpu.reason, /GPU task.*capped at 3333/);
  const lambda = sizeShards(1_000_000, 1_000_000 * ITEM, { kind: 'lambda', timeLimitSeconds: 300 });
  assert.equal(lambda.shardSize, 3333, 'half of 300 s at 25 ms is 6,000; the message cap is lower');
  const shortLambda = sizeShards(1_000_000, 1_000_000 * ITEM, {
    kind: 'lambda',
    timeLimitSeconds: 60,
    secondsPerImage: 0.05,
  });
  assert.equal(shortLambda.shardSize, 600, 'half of a 60 s timeout at 50 ms per image');
  assert.match(shortLambda.reason, /Lambda: 30 s \(half its 60 s timeout\)/);
  const cpu = sizeShards(3000, 3000 * ITEM, { kind: 'cpu' });
  assert.deepEqual(
    [cpu.shardSize, cpu.shards],
    [188, 16],
    'a small dataset is spread over 16 shards for parallel workers',
  );
  const tiny = sizeShards(398, 398 * ITEM, { kind: 'cpu' });
  assert.deepEqual(
    [tiny.shardSize, tiny.shards],
    [128, 4],
    'but never below 128 images per shard (per-shard requests)',
  );
  const requested = sizeShards(398, 398 * ITEM, { kind: 'gpu' }, 32);
  assert.deepEqual([requested.shardSize, requested.shards], [32, 13]);
  assert.match(requested.reason, /requested/);
});
