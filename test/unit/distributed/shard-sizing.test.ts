import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sizeShards } from '../../../core/use-cases/distributed/shard-sizing.js';
import { withCachedIdentities } from '../../../core/use-cases/distributed/source-identities.js';

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
    [256, 12],
    'a small dataset is spread over up to 16 shards for parallel workers',
  );
  const tiny = sizeShards(398, 398 * ITEM, { kind: 'cpu' });
  assert.deepEqual(
    [tiny.shardSize, tiny.shards],
    [256, 2],
    'but never below 256 images per shard (per-shard requests)',
  );
  const spread = sizeShards(10_000, 10_000 * ITEM, { kind: 'cpu' });
  assert.deepEqual([spread.shardSize, spread.shards], [625, 16], 'larger sets: sixteen shards');
  const requested = sizeShards(398, 398 * ITEM, { kind: 'gpu' }, 32);
  assert.deepEqual([requested.shardSize, requested.shards], [32, 13]);
  assert.match(requested.reason, /requested/);
});

test('images already cached (or being cached) are sized by what they cost: few large shards, not sixteen', () => {
  const allCached = sizeShards(3000, 3000 * ITEM, { kind: 'cpu' }, undefined, 3000);
  assert.deepEqual([allCached.shardSize, allCached.shards], [3000, 1], 'one shard reads the cache once');
  assert.match(allCached.reason, /3000 of 3000 images are cached or being cached/);
  const capped = sizeShards(3000, 3000 * 150, { kind: 'cpu' }, undefined, 3000);
  assert.equal(capped.shardSize, 1333, 'still within what one SQS message carries');
  const half = sizeShards(3000, 3000 * ITEM, { kind: 'cpu' }, undefined, 1500);
  const cold = sizeShards(3000, 3000 * ITEM, { kind: 'cpu' });
  assert.ok(half.shards < cold.shards && half.shards >= 4, `half cached: ${half.shards} shards (cold ${cold.shards})`);
  const gpu = sizeShards(100_000, 100_000 * ITEM, { kind: 'gpu' }, undefined, 100_000);
  assert.equal(gpu.shardSize, 3333, 'the message cap still binds');
});

test('the planner takes content hashes from the cache index by identity, and counts identities in flight', () => {
  const index = { sources: new Map([['e1/10', 'h1']]) };
  const items = [
    { key: 'a.jpg', split: 'train', label: 0, source: 'e1/10' },
    { key: 'b.jpg', split: 'train', label: 0, source: 'e2/20' },
    { key: 'c.jpg', split: 'train', label: 0, source: 'e3/30' },
    { key: 'd.jpg', split: 'train', label: 0, source: 'e4/40', hash: 'h4' },
    { key: 'e.jpg', split: 'train', label: 0 },
  ];
  const { items: out, cached } = withCachedIdentities(index, new Set(['e2/20']), items);
  assert.equal(cached, 3, 'a (cache index), b (in flight), d (known from a previous run)');
  assert.deepEqual(
    out.map((i) => i.hash ?? null),
    ['h1', null, null, 'h4', null],
    'only the cache index gives a hash; an image in flight is waited for by its shard',
  );
});
