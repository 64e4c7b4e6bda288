import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InProcessQueue } from '../../helpers/in-process-queue.js';
import { NOTICE_BATCH, withNoticeTopUp } from '../../../functions/shared/workers.js';

const notice = (key: string) => ({
  Records: [
    { eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key, size: 10 } } },
  ],
});

test('S3 notices are taken NOTICE_BATCH at a time; shards one at a time', async () => {
  const queue = new InProcessQueue<unknown>('extract');
  for (let i = 0; i < 2.5 * NOTICE_BATCH; i++) await queue.send(notice(`datasets/d/train/a/${i}.jpg`));
  const extract = withNoticeTopUp(queue, 20);
  assert.deepEqual(
    [
      (await extract.receive({ max: 1 })).length,
      (await extract.receive({ max: 1 })).length,
      (await extract.receive({ max: 1 })).length,
    ],
    [NOTICE_BATCH, NOTICE_BATCH, NOTICE_BATCH / 2],
  );
  await queue.send({ v: 1, type: 'extract' });
  await queue.send({ v: 1, type: 'extract' });
  assert.equal((await extract.receive({ max: 1 })).length, 1);
});

test('gathering notices stops at its time limit with what it has', async () => {
  const queue = new InProcessQueue<unknown>('extract');
  for (let i = 0; i < NOTICE_BATCH; i++) await queue.send(notice(`datasets/d/train/a/${i}.jpg`));
  const slow: typeof queue = Object.create(queue);
  slow.receive = async (options) => {
    await new Promise((r) => setTimeout(r, 20));
    return queue.receive(options);
  };
  const batch = await withNoticeTopUp(slow, 0.1).receive({ max: 1 });
  assert.ok(batch.length > 1 && batch.length < NOTICE_BATCH, `${batch.length} notices within 0.1 s`);
});
