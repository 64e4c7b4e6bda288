import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { announceInFlight, awaitInFlight } from '../../../core/use-cases/distributed/in-flight.js';
import { withTempDir } from '../../helpers/paths.js';

test('a shard naming identities an ingest batch is embedding waits until the batch withdraws; others do not wait', () =>
  withTempDir(async (dir) => {
    const cache = new FsBlobStore(dir);
    const { withdraw: withdrawA } = await announceInFlight(cache, ['a/1', 'a/2']);
    const { withdraw: withdrawB } = await announceInFlight(cache, ['b/1']);
    assert.equal(await awaitInFlight(cache, new Set(['c/1'])), 0, 'no overlap: no wait');
    let settled = false;
    const waiting = awaitInFlight(cache, new Set(['a/2', 'c/1'])).then((n) => {
      settled = true;
      return n;
    });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(settled, false, 'still waiting while batch A is in flight');
    await withdrawB();
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(settled, false, 'withdrawing an unrelated batch does not release it');
    await withdrawA();
    assert.equal(await waiting, 1);
    assert.deepEqual(
      (await cache.getJson<{ batches: object }>('inflight.json'))!.batches,
      {},
      'withdrawn batches leave the registry',
    );
  }));

test('a batch holding an identity another live batch announced first leaves it to that batch and says so', () =>
  withTempDir(async (dir) => {
    const cache = new FsBlobStore(dir);
    const first = await announceInFlight(cache, ['x/1', 'x/2']);
    assert.deepEqual([...first.elsewhere], []);
    const redelivered = await announceInFlight(cache, ['x/2', 'y/1']);
    assert.deepEqual([...redelivered.elsewhere], ['x/2'], 'x/2 is being embedded by the first batch');
    const registry = (await cache.getJson<{ batches: Record<string, { sources: string[] }> }>('inflight.json'))!;
    assert.deepEqual(
      Object.values(registry.batches).map((b) => b.sources),
      [['x/1', 'x/2'], ['y/1']],
    );
    const only = await announceInFlight(cache, ['x/1']);
    assert.deepEqual([...only.elsewhere], ['x/1']);
    assert.equal(
      Object.keys((await cache.getJson<{ batches: object }>('inflight.json'))!.batches).length,
      2,
      'nothing of its own: no entry',
    );
    await only.withdraw();
    await first.withdraw();
    await redelivered.withdraw();
    assert.deepEqual((await cache.getJson<{ batches: object }>('inflight.json'))!.batches, {});
  }));
