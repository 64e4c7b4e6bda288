import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeTime } from '../../helpers/fake-time.js';
import { InProcessQueue } from '../../helpers/in-process-queue.js';

test('a received message is invisible until its visibility timeout, then redelivered with a higher count', async (t) => {
  const clock = fakeTime(t);
  const queue = new InProcessQueue<{ n: number }>('q', { visibilityTimeoutSeconds: 0.05 });
  await queue.send({ n: 1 });
  const [first] = await queue.receive();
  assert.equal(first?.receiveCount, 1);
  assert.deepEqual(await queue.receive(), []);
  await clock.advance(80);
  const [again] = await queue.receive();
  assert.equal(again?.receiveCount, 2);
  assert.deepEqual(again?.body, { n: 1 });
  await queue.ack(first!); // stale handle: must not delete the redelivered message
  assert.equal(queue.size, 1);
  await queue.ack(again!);
  assert.equal(queue.size, 0);
});

test('receive long-polls until a message arrives, and bodies are copies', async (t) => {
  const clock = fakeTime(t);
  const queue = new InProcessQueue<{ list: number[] }>('q');
  const body = { list: [1] };
  setTimeout(() => void queue.send(body), 20);
  const started = Date.now();
  const [msg] = await clock.until(queue.receive({ waitSeconds: 2 }));
  assert.equal(Date.now() - started, 20, 'returned as the message arrived, not at the end of the wait');
  body.list.push(2);
  assert.deepEqual(msg?.body, { list: [1] });
  await queue.release(msg!);
  const [back] = await queue.receive();
  assert.equal(back?.receiveCount, 2);
});
