import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { InProcessQueue } from '../../helpers/in-process-queue.js';
import type { ExtractMessage, TrainMessage } from '../../../core/messages/schema.js';
import { extractShard } from '../../../core/use-cases/distributed/extract-shard.js';
import { planRun } from '../../../core/use-cases/distributed/plan-run.js';
import { chooseTrainCompute } from '../../../core/use-cases/distributed/train-compute.js';
import { trainRun } from '../../../core/use-cases/distributed/train-run.js';
import type { HeadArtefact } from '../../../core/workspace/head-artefact.js';
import { inProcessSetup, writeFakeDataset } from '../../helpers/distributed.js';
import { withTempDir } from '../../helpers/paths.js';

const LAMBDA = { memoryBytes: 4096 * 2 ** 20, timeoutSeconds: 900 };
const CV_FITS = 8 * 5 + 1;

test('the Lambda takes hymenoptera-sized CV and mid-sized sets; time or memory past the margins goes to Batch, saying which', () => {
  const hymenoptera = chooseTrainCompute({ rows: 245, dim: 1280, classes: 2, fits: CV_FITS }, LAMBDA);
  assert.equal(hymenoptera.where, 'lambda');
  assert.ok(hymenoptera.estimatedSeconds < 5, `${hymenoptera.estimatedSeconds} s`);
  assert.equal(chooseTrainCompute({ rows: 10_000, dim: 1280, classes: 10, fits: CV_FITS }, LAMBDA).where, 'lambda');
  const large = chooseTrainCompute({ rows: 100_000, dim: 512, classes: 10, fits: CV_FITS }, LAMBDA);
  assert.equal(large.where, 'batch');
  assert.match(
    large.why,
    /100000 × 512 codes, 10 classes, 41 fits: about \d+ s .*over half the Lambda's 900 s timeout/,
  );
  const wide = chooseTrainCompute({ rows: 200_000, dim: 1280, classes: 2, fits: 1 }, LAMBDA);
  assert.equal(wide.where, 'batch');
  assert.match(wide.why, /over 60 % of the Lambda's 4.0 GiB/);
});

async function readyToTrain(
  root: string,
): Promise<{ setup: ReturnType<typeof inProcessSetup>; message: TrainMessage }> {
  await writeFakeDataset(path.join(root, 'data'), 4);
  const setup = inProcessSetup(root);
  await planRun(setup.deps, setup.runMessage('r1'), { id: 'run-msg', receiveCount: 1 });
  const extracts = await setup.queues.extract.receive({ max: 100 });
  await setup.queues.extract.ackAll(extracts);
  for (const [i, m] of extracts.entries())
    await extractShard(setup.deps, m.body as ExtractMessage, { id: `x${i}`, receiveCount: 1 });
  const [train] = setup.queues.train.peek();
  return { setup, message: train!.body as TrainMessage };
}

test('a Lambda forwards a set too large for it to the Batch queue once; the Batch job fits it and says so in head.json', () =>
  withTempDir(async (root) => {
    const { setup, message } = await readyToTrain(root);
    const batchQueue = new InProcessQueue<unknown>('train-batch');
    // An envelope too small for even this tiny set stands in for a large set in a real Lambda.
    setup.deps.trainCompute = { runsOn: 'lambda', envelope: { memoryBytes: 1024, timeoutSeconds: 900 }, batchQueue };
    const forwarded = await trainRun(setup.deps, message, { id: 't1', receiveCount: 1 });
    assert.equal(forwarded.forwarded?.send, 'sent');
    assert.match(forwarded.forwarded!.why, /over 60 % of the Lambda's/);
    assert.equal(
      (await trainRun(setup.deps, message, { id: 't1', receiveCount: 2 })).forwarded?.send,
      'already-sent',
      'a redelivery forwards nothing new',
    );
    assert.equal(batchQueue.size, 1);
    assert.equal(setup.queues.evaluate.size, 0, 'no evaluate before a head exists');
    const workspace = setup.deps.openStore(`${root}/runs/r1`);
    assert.equal(await workspace.exists('head.json'), false);

    setup.deps.trainCompute = { runsOn: 'batch' };
    const [job] = await batchQueue.receive({ max: 1 });
    const trained = await trainRun(setup.deps, job!.body as TrainMessage, { id: 'b1', receiveCount: 1 });
    assert.equal(trained.evaluate, 'sent');
    const head = await workspace.getJson<HeadArtefact>('head.json');
    assert.deepEqual(head?.compute?.where, 'batch');
    assert.match(head!.compute!.why, /forwarded by the train-head Lambda/);
  }));

test('within its envelope the Lambda fits the head itself and records why', () =>
  withTempDir(async (root) => {
    const { setup, message } = await readyToTrain(root);
    const batchQueue = new InProcessQueue<unknown>('train-batch');
    setup.deps.trainCompute = { runsOn: 'lambda', envelope: LAMBDA, batchQueue };
    const outcome = await trainRun(setup.deps, message, { id: 't1', receiveCount: 1 });
    assert.equal(outcome.forwarded, undefined);
    assert.equal(batchQueue.size, 0);
    const head = await setup.deps.openStore(`${root}/runs/r1`).getJson<HeadArtefact>('head.json');
    assert.equal(head?.compute?.where, 'lambda');
    assert.match(head!.compute!.why, /within the Lambda's envelope/);
  }));
