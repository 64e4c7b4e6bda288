import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ExtractMessage, TrainMessage } from '../../../core/messages/schema.js';
import type { BlobStore } from '../../../core/ports/blob-store.js';
import { ClaimBusyError } from '../../../core/use-cases/distributed/claims.js';
import { extractShard } from '../../../core/use-cases/distributed/extract-shard.js';
import { planRun } from '../../../core/use-cases/distributed/plan-run.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import { inProcessSetup, writeFakeDataset, type InProcessSetup } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

async function planned(root: string, runId = 'r1'): Promise<{ setup: InProcessSetup; extracts: ExtractMessage[] }> {
  await writeFakeDataset(path.join(root, 'data'), 4); // 16 images → 6 shards of 3
  const setup = inProcessSetup(root);
  await planRun(setup.deps, setup.runMessage(runId), { id: 'run-msg', receiveCount: 1 });
  const received = await setup.queues.extract.receive({ max: 100 });
  await setup.queues.extract.ackAll(received);
  return { setup, extracts: received.map((m) => m.body as ExtractMessage) };
}

const trainMessages = (setup: InProcessSetup) => setup.queues.train.peek().map((e) => e.body as TrainMessage);

test('shards finishing concurrently, each delivered three times in any order, send exactly one train', () =>
  withTempDir(async (root) => {
    const { setup, extracts } = await planned(root);
    assert.equal(extracts.length, 6);
    const deliveries = extracts.flatMap((m, i) => [1, 2, 3].map((n) => ({ m, d: { id: `x${i}`, receiveCount: n } })));
    deliveries.sort(() => Math.random() - 0.5);
    const first = await Promise.allSettled(deliveries.map(({ m, d }) => extractShard(setup.deps, m, d)));
    // Concurrent deliveries of the message that won the join wait for the lease; by then the send is recorded.
    const busy = deliveries.filter((_, i) => first[i]!.status === 'rejected');
    for (const r of first) if (r.status === 'rejected') assert.ok(r.reason instanceof ClaimBusyError, String(r.reason));
    for (const { m, d } of busy) assert.equal((await extractShard(setup.deps, m, d)).train, 'already-sent');
    assert.equal(trainMessages(setup).length, 1);
    // Concurrent twins may both embed (neither sees the other's part yet); later copies find the part and do nothing.
    const embedded = setup.counter.embedded;
    assert.ok(embedded >= 16 && embedded <= 48, `embedded ${embedded}`);
    await Promise.all(extracts.map((m, i) => extractShard(setup.deps, m, { id: `copy${i}`, receiveCount: 1 })));
    assert.equal(trainMessages(setup).length, 1);
    assert.equal(setup.counter.embedded, embedded, 'a copy of a finished shard embeds nothing');
    const events = await readdir(path.join(root, 'runs/r1/events/extract'));
    assert.equal(events.length, 12, 'one event per message (6 + 6 copies), however often each was delivered');
  }));

test('a crash between the train claim and the send: the owner’s redelivery (even redriven) sends, nobody else does', (t) =>
  withTempDir(async (root) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { setup, extracts } = await planned(root);
    for (const [i, m] of extracts.slice(0, -1).entries())
      await extractShard(setup.deps, m, { id: `x${i}`, receiveCount: 1 });
    const last = extracts.at(-1)!;
    const realSend = setup.queues.train.send.bind(setup.queues.train);
    setup.queues.train.send = async () => {
      throw new Error('killed before the send');
    };
    await assert.rejects(extractShard(setup.deps, last, { id: 'owner', receiveCount: 1 }), /killed before the send/);
    setup.queues.train.send = realSend;
    assert.equal(trainMessages(setup).length, 0);
    // Straight away, the redelivery cannot tell a crash from a twin still sending: it waits for the lease.
    await assert.rejects(extractShard(setup.deps, last, { id: 'owner', receiveCount: 2 }), ClaimBusyError);
    setup.deps.sendLeaseSeconds = 0.2;
    t.mock.timers.tick(250); // the lease runs out
    // Other shards' messages arriving again must not send: they do not hold the claim.
    for (const [i, m] of extracts.slice(0, -1).entries())
      assert.equal((await extractShard(setup.deps, m, { id: `x${i}`, receiveCount: 2 })).train, 'claimed-by-another');
    assert.equal(trainMessages(setup).length, 0);
    // Redriven from a DLQ, the owner's message has a new id; it still owns the claim (the shard is the owner).
    const redelivered = await extractShard(setup.deps, last, { id: 'owner-redriven', receiveCount: 1 });
    assert.deepEqual([redelivered.extracted, redelivered.train], [false, 'sent']);
    setup.deps.sendLeaseSeconds = 30;
    assert.equal(trainMessages(setup).length, 1);
    assert.equal((await extractShard(setup.deps, last, { id: 'owner', receiveCount: 3 })).train, 'already-sent');
    assert.equal(trainMessages(setup).length, 1);
  }));

test('a crash after the send but before the sent marker: a second train message refits nothing and sends no evaluate', () =>
  withTempDir(async (root) => {
    const { setup, extracts } = await planned(root);
    for (const [i, m] of extracts.slice(0, -1).entries())
      await extractShard(setup.deps, m, { id: `x${i}`, receiveCount: 1 });
    const workspace = setup.deps.openStore(`${root}/runs/r1`);
    const put = workspace.put;
    (workspace as { put: BlobStore['put'] }).put = async (key, body) => {
      if (key.endsWith('.sent')) throw new Error('killed after the send');
      return put.call(workspace, key, body);
    };
    await assert.rejects(extractShard(setup.deps, extracts.at(-1)!, { id: 'owner', receiveCount: 1 }));
    (workspace as { put: BlobStore['put'] }).put = put;
    setup.deps.sendLeaseSeconds = 0;
    await extractShard(setup.deps, extracts.at(-1)!, { id: 'owner', receiveCount: 2 });
    const sent = trainMessages(setup);
    assert.equal(sent.length, 2, 'the one window that can send twice');
    const outcomes = [];
    for (const [i, message] of sent.entries())
      outcomes.push(await trainRun(setup.deps, message, { id: `train${i}`, receiveCount: 1 }));
    assert.deepEqual(
      outcomes.map((o) => [o.reused, o.evaluate]),
      [
        [false, 'sent'],
        [true, 'already-sent'],
      ],
      'the copy refits nothing',
    );
    assert.equal(setup.queues.evaluate.size, 1, 'and still a single evaluate');
  }));

test('a worker killed mid-shard leaves no part; the redelivery completes it with identical codes', () =>
  withTempDir(async (root) => {
    const { setup, extracts } = await planned(root);
    const openEmbedder = setup.deps.openEmbedder!;
    let calls = 0;
    setup.deps.openEmbedder = async (model, cuts) => {
      const inner = await openEmbedder(model, cuts);
      return {
        ...inner,
        embedBatch: async (items) =>
          ++calls === 1 ? Promise.reject(new Error('worker killed')) : inner.embedBatch(items),
      };
    };
    await assert.rejects(extractShard(setup.deps, extracts[0]!, { id: 'x0', receiveCount: 1 }), /worker killed/);
    assert.equal(await setup.deps.openStore(`${root}/runs/r1`).exists('parts/000000.json'), false);
    for (const [i, m] of extracts.entries()) await extractShard(setup.deps, m, { id: `x${i}`, receiveCount: 2 });
    assert.equal(trainMessages(setup).length, 1);

    const clean = await withTempDir(async (other) => {
      const again = await planned(other);
      for (const [i, m] of again.extracts.entries())
        await extractShard(again.setup.deps, m, { id: `x${i}`, receiveCount: 1 });
      return partsWithoutTimings(path.join(other, 'runs/r1/parts'));
    });
    assert.deepEqual(await partsWithoutTimings(path.join(root, 'runs/r1/parts')), clean);
  }));

async function partsWithoutTimings(dir: string): Promise<unknown[]> {
  const files = (await readdir(dir)).sort();
  return Promise.all(
    files.map(async (f) => {
      const {
        seconds: _s,
        embedded: _e,
        cached: _c,
        worker: _w,
        entries,
        ...rest
      } = JSON.parse(await readFile(path.join(dir, f), 'utf8'));
      // Code locations name the cache shard that happened to hold each code first; the hashes are what must agree.
      return { ...rest, entries: entries.map(({ codes: _codes, ...e }: { codes: unknown }) => e) };
    }),
  );
}
