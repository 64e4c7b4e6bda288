import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { ExtractMessage } from '../../core/messages/schema.js';
import type { ReceivedMessage, WorkQueue } from '../../core/ports/work-queue.js';
import { handleBatch, type Outcome } from '../../core/use-cases/distributed/router.js';
import { runWorkerLoop } from '../../core/use-cases/distributed/worker-loop.js';
import { provision, type Provisioned } from '../../aws/provision.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import type { SqsQueue } from '../../aws/sqs-queue.js';
import { buildRuntime, type Runtime } from '../../functions/shared/runtime.js';
import { settingsFromEnv } from '../../functions/shared/settings.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { HYMENOPTERA, MODELS_DIR, requireShared } from '../helpers/paths.js';
import { clients } from '../helpers/serverless.js';
import { testRunPlan } from '../helpers/run-plan.js';

/** What one message costs end to end over HTTP: send → received (long poll) → handled → acknowledged. */
const BUCKET = 'latency-bucket';
let moto: MotoServer;
let made: Provisioned;
let runtime: Runtime;

before(async () => {
  requireShared();
  moto = await startMoto();
  const c = clients(moto.endpoint);
  made = await provision(c.s3, c.sqs, {
    bucket: BUCKET,
    queuePrefix: 'lat',
    region: 'us-east-1',
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3,
    notifyPrefix: null,
  });
  const env = {
    AWS_ENDPOINT_URL: moto.endpoint,
    CNN_CODES_BUCKET: BUCKET,
    CNN_CODES_MODELS_DIR: MODELS_DIR,
    CNN_CODES_THREADS: '1',
  };
  runtime = buildRuntime(
    { ...settingsFromEnv(env), queueUrls: { extract: made.queues.extract.url, train: made.queues.train.url } },
    { withBackbone: true },
  );
  const dataset = new S3BlobStore(c.s3, BUCKET, 'datasets/lat');
  for (const cls of ['ants', 'bees']) {
    const dir = path.join(HYMENOPTERA, 'train', cls);
    for (const name of (await readdir(dir)).sort().slice(0, 12))
      await dataset.put(`train/${cls}/${name}`, await readFile(path.join(dir, name)));
  }
});
after(async () => {
  await runtime?.close();
  await moto?.stop();
});

interface Marks {
  sent: number;
  received?: number;
  handled?: number;
  acked?: number;
}

/** Sends one body at a time to a warm, long-polling worker loop and times each message's life. */
async function measure(
  queue: SqsQueue,
  bodies: unknown[],
  handle: (m: ReadonlyArray<ReceivedMessage<unknown>>) => Promise<Outcome[]>,
): Promise<Marks[]> {
  const controller = new AbortController();
  let marks: Marks = { sent: 0 };
  let settled: (failure?: Error) => void = () => {};
  const timed: WorkQueue<unknown> = {
    name: queue.name,
    send: (b, o) => queue.send(b, o),
    receive: (o) => queue.receive(o),
    ack: (m) => queue.ack(m),
    ackAll: async (ms) => {
      await queue.ackAll(ms);
      if (ms.length > 0) {
        marks.acked = performance.now();
        settled();
      }
    },
    release: async (m, d) => {
      await queue.release(m, d);
      settled(new Error(`message released for retry`));
    },
    extendVisibility: (m, s) => queue.extendVisibility(m, s),
    extendVisibilityAll: (ms, s) => queue.extendVisibilityAll(ms, s),
    deadLetter: async (m, r) => {
      await queue.deadLetter(m, r);
      settled(new Error(`message dead-lettered: ${r}`));
    },
  };
  const loop = runWorkerLoop({
    queue: timed,
    signal: controller.signal,
    visibilityTimeoutSeconds: 30,
    handle: async (messages) => {
      marks.received = performance.now();
      const outcomes = await handle(messages);
      marks.handled = performance.now();
      return outcomes;
    },
  });
  const out: Marks[] = [];
  try {
    for (const body of bodies) {
      marks = { sent: performance.now() };
      const done = new Promise<void>(
        (resolve, reject) => (settled = (failure) => (failure ? reject(failure) : resolve())),
      );
      await queue.send(body);
      await done;
      out.push(marks);
    }
  } finally {
    controller.abort();
    await loop;
  }
  return out;
}

function describe(label: string, marks: Marks[]): string {
  const pick = (f: (m: Marks) => number) => {
    const values = marks.map(f).sort((a, b) => a - b);
    return `${values[Math.floor(values.length / 2)]!.toFixed(0)} ms (p90 ${values[Math.floor(values.length * 0.9)]!.toFixed(0)})`;
  };
  return `${label}: send→received ${pick((m) => m.received! - m.sent)}, handling ${pick((m) => m.handled! - m.received!)}, ack ${pick((m) => m.acked! - m.handled!)}, total ${pick((m) => m.acked! - m.sent)}`;
}

test('one message end to end through the emulator: transport, an idempotent redelivery, and a warm shard of 4 images', async (t) => {
  const queue = runtime.queues.extract!;
  const noop = await measure(
    queue,
    Array.from({ length: 15 }, (_, i) => ({ ping: i })),
    async (ms) => ms.map(() => ({ kind: 'done' })),
  );

  const shard = (index: number, items: ExtractMessage['shard']['items'], runId: string): ExtractMessage => ({
    v: 1,
    type: 'extract',
    runId,
    dataset: `s3://${BUCKET}/datasets/lat`,
    workspace: `s3://${BUCKET}/runs/${runId}`,
    cache: `s3://${BUCKET}/cache`,
    model: 'mobilenetv2-12-int8',
    cuts: ['final'],
    shard: { index, count: 6, items },
  });
  await runtime.deps
    .openStore(`s3://${BUCKET}/runs/latency`)
    .put('plan.json', JSON.stringify(testRunPlan({ runId: 'latency', train: {}, split: 'val' })));
  const keys: ExtractMessage['shard']['items'] = [];
  for await (const blob of runtime.deps.openStore(`s3://${BUCKET}/datasets/lat`).list(''))
    keys.push({ key: blob.key, split: 'train', label: blob.key.includes('bees') ? 1 : 0 });
  // A shard as the state machine's Map hands it out; the token is no running execution's, so the answer is late (moto:
  // InvalidToken) and the message is done, as a redelivery after the execution moved on would be.
  const asTask = (message: ExtractMessage) => ({ task: 'latency-test-token', message });
  const handle = (ms: ReadonlyArray<ReceivedMessage<unknown>>) => handleBatch(runtime.deps, ms);
  // The first shard loads the backbone; the five after it are the steady state of a warm worker.
  const warm = await measure(
    queue,
    [0, 1, 2, 3, 4, 5].map((i) => asTask(shard(i, keys.slice(i * 4, i * 4 + 4), 'latency'))),
    handle,
  );
  const redelivered = await measure(
    queue,
    Array.from({ length: 10 }, () => asTask(shard(0, keys.slice(0, 4), 'latency'))),
    handle,
  );

  t.diagnostic(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  t.diagnostic(describe('transport only (no-op handler)', noop));
  t.diagnostic(describe('first shard, backbone load included', warm.slice(0, 1)));
  t.diagnostic(describe('warm shard of 4 new images (extract + part + task answer)', warm.slice(1)));
  t.diagnostic(describe('redelivered finished shard (idempotent path)', redelivered));
  const median = (marks: Marks[]) =>
    marks.map((m) => m.acked! - m.sent).sort((a, b) => a - b)[Math.floor(marks.length / 2)]!;
  assert.ok(median(noop) < 2000, 'a long-polling worker picks a message up well within a second or two');
  assert.ok(median(redelivered) < median(warm.slice(1)), 'a finished shard costs less than extracting it');
});
