import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeTime } from '../../helpers/fake-time.js';
import { InProcessQueue } from '../../helpers/in-process-queue.js';
import { ConfigError } from '../../../core/errors.js';
import { classifyFailure, type Outcome } from '../../../core/use-cases/distributed/router.js';
import { runWorkerLoop } from '../../../core/use-cases/distributed/worker-loop.js';

// Runs on the mocked clock (fakeTime): "work" that takes simulated time, not real time.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the heartbeat keeps long work invisible to other consumers; the message is acked once, afterwards', async (t) => {
  const clock = fakeTime(t);
  const queue = new InProcessQueue<unknown>('q', { visibilityTimeoutSeconds: 0.3 });
  await queue.send({ n: 1 });
  const controller = new AbortController();
  const seen: number[] = [];
  const loop = runWorkerLoop({
    queue,
    signal: controller.signal,
    waitSeconds: 0.05,
    visibilityTimeoutSeconds: 0.3,
    handle: async (messages) => {
      seen.push(messages[0]!.receiveCount);
      await sleep(1200); // four visibility timeouts
      return [{ kind: 'done' }];
    },
  });
  await clock.advance(700);
  const stolen = await queue.receive();
  await clock.advance(700);
  controller.abort();
  const stats = await clock.until(loop);
  assert.deepEqual(stolen, [], 'a second consumer sees nothing while the first works');
  assert.deepEqual(seen, [1]);
  assert.equal(stats.done, 1);
  assert.equal(queue.size, 0);
});

test('poison goes to the DLQ at once with its reason; retries come back and are redriven after maxReceiveCount', async (t) => {
  const clock = fakeTime(t);
  const dlq = new InProcessQueue<unknown>('dlq');
  const queue = new InProcessQueue<unknown>('q', {
    visibilityTimeoutSeconds: 5,
    deadLetterQueue: dlq,
    maxReceiveCount: 3,
  });
  await queue.send({ kind: 'poison' });
  await queue.send({ kind: 'flaky' });
  const controller = new AbortController();
  const attempts: Record<string, number> = {};
  const loop = runWorkerLoop({
    queue,
    signal: controller.signal,
    waitSeconds: 0.05,
    visibilityTimeoutSeconds: 5,
    idleExitSeconds: 0.3,
    handle: async (messages) =>
      messages.map((m): Outcome => {
        const kind = (m.body as { kind: string }).kind;
        attempts[kind] = (attempts[kind] ?? 0) + 1;
        return kind === 'poison'
          ? classifyFailure(new ConfigError('bad field'), m.receiveCount)
          : { kind: 'retry', reason: 'store down', delaySeconds: 0 };
      }),
  });
  const stats = await clock.until(loop);
  controller.abort();
  assert.deepEqual(attempts, { poison: 1, flaky: 3 });
  assert.deepEqual(stats, { received: 4, done: 0, poison: 1, retried: 3 });
  assert.deepEqual(
    dlq.peek().map((e) => [e.body, e.reason]),
    [
      [{ kind: 'poison' }, 'CONFIG: bad field'],
      [{ kind: 'flaky' }, 'received 3 times without success'],
    ],
  );
});

test('shutdown: the message in hand finishes and is acked; nothing new is taken', async (t) => {
  const clock = fakeTime(t);
  const queue = new InProcessQueue<unknown>('q');
  await queue.send({ n: 1 });
  await queue.send({ n: 2 });
  const controller = new AbortController();
  const handled: number[] = [];
  const loop = runWorkerLoop({
    queue,
    signal: controller.signal,
    visibilityTimeoutSeconds: 30,
    handle: async (messages) => {
      controller.abort(); // SIGTERM arrives mid-message
      await sleep(100);
      handled.push((messages[0]!.body as { n: number }).n);
      return [{ kind: 'done' }];
    },
  });
  const stats = await clock.until(loop);
  assert.deepEqual(handled, [1]);
  assert.equal(stats.done, 1);
  assert.deepEqual(
    queue.peek().map((e) => e.body),
    [{ n: 2 }],
    'the second message stays queued for another worker',
  );
});

test('errors are classified: wrong input is poison, everything else is retried with growing backoff', () => {
  assert.equal(classifyFailure(new ConfigError('x'), 1).kind, 'poison');
  const first = classifyFailure(new Error('ECONNRESET'), 1);
  const third = classifyFailure(new Error('ECONNRESET'), 3);
  assert.equal(first.kind, 'retry');
  assert.ok(first.kind === 'retry' && third.kind === 'retry' && third.delaySeconds > first.delaySeconds);
});
