import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { markDone, readCounter } from '../../core/use-cases/distributed/join-counter.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { clients } from '../helpers/serverless.js';

/** The join's compare-and-swap over real HTTP: moto's If-Match / If-None-Match on PutObject, as S3's. */
let moto: MotoServer;
let c: ReturnType<typeof clients>;

before(async () => {
  moto = await startMoto();
  c = clients(moto.endpoint);
  await c.s3.send(new CreateBucketCommand({ Bucket: 'join' }));
});
after(() => moto?.stop());

test('S3 putIfVersion: a stale or missing version loses, the current one wins, absent means create-only', async () => {
  const store = new S3BlobStore(c.s3, 'join', 'cas');
  assert.equal(await store.putIfVersion('k.json', '1', undefined), true);
  assert.equal(await store.putIfVersion('k.json', 'x', undefined), false, 'If-None-Match: * on an existing key');
  const first = (await store.getVersioned('k.json'))!;
  assert.equal(await store.putIfVersion('k.json', '2', first.version), true);
  assert.equal(await store.putIfVersion('k.json', '3', first.version), false, 'If-Match with a stale ETag');
  assert.equal(new TextDecoder().decode((await store.getVersioned('k.json'))!.body), '2');
  assert.equal(await store.putIfVersion('gone.json', '1', first.version), false, 'If-Match on a missing key');
  assert.equal(await store.getVersioned('gone.json'), undefined);
});

test('40 shards mark themselves concurrently, twice each: the count is exact and exactly one marking completes it', async () => {
  const store = new S3BlobStore(c.s3, 'join', 'runs/r');
  const total = 40;
  const marks = [...Array.from({ length: total }, (_, i) => i), ...Array.from({ length: total }, (_, i) => i)].sort(
    () => Math.random() - 0.5,
  );
  const before = moto.requests().length;
  const readings = await Promise.all(marks.map((m) => markDone(store, 'join/groups.json', m, total)));
  const requests = moto.requests().slice(before);
  assert.equal(await readCounter(store, 'join/groups.json'), total);
  assert.equal(readings.filter((r) => r.marked).length, total, 'each shard counted once, however often it came');
  assert.equal(readings.filter((r) => r.marked && r.complete).length, 1, 'one marking completed the count');
  assert.equal(requests.filter((l) => l.includes('list-type')).length, 0, 'no listing');
  const conflicts = readings.reduce((n, r) => n + r.conflicts, 0);
  // Each marking costs one GET and at most one PUT per attempt: O(1) per shard plus the contention it met.
  assert.ok(
    requests.length <= 2 * (marks.length + conflicts),
    `${requests.length} requests for ${marks.length} markings and ${conflicts} conflicts`,
  );
});
