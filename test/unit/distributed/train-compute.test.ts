import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ExtractMessage, TrainMessage } from '../../../core/messages/schema.js';
import { handleWork } from '../../../core/use-cases/distributed/router.js';
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
  const plan = await planRun(setup.deps, setup.runMessage('r1'));
  const extracts = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as ExtractMessage[];
  for (const m of extracts) await handleWork(setup.deps, m);
  return { setup, message: plan.train };
}

test("a Lambda answers that a set too large for it belongs on Batch (the state machine's Choice); the Batch job fits it and says so in head.json", () =>
  withTempDir(async (root) => {
    const { setup, message } = await readyToTrain(root);
    // An envelope too small for even this tiny set stands in for a large set in a real Lambda.
    setup.deps.trainCompute = {
      runsOn: 'lambda',
      envelope: { memoryBytes: 1024, timeoutSeconds: 900 },
      batchJob: true,
    };
    const handed = await trainRun(setup.deps, message);
    assert.equal(handed.compute, 'batch');
    assert.equal(handed.cacheKey, undefined, 'no head fitted in the Lambda');
    assert.match(handed.why, /over 60 % of the Lambda's/);
    assert.equal((await trainRun(setup.deps, message)).compute, 'batch', 'a retried train step answers the same');
    const workspace = setup.deps.openStore(`${root}/runs/r1`);
    assert.equal(await workspace.exists('head.json'), false);

    setup.deps.trainCompute = { runsOn: 'batch' };
    const trained = await trainRun(setup.deps, message);
    assert.match(trained.cacheKey ?? '', /^[0-9a-f]{24}$/);
    const head = await workspace.getJson<HeadArtefact>('head.json');
    assert.deepEqual(head?.compute?.where, 'batch');
    assert.match(head!.compute!.why, /handed over by the train-head Lambda/);
  }));

test('within its envelope the Lambda fits the head itself and records why', () =>
  withTempDir(async (root) => {
    const { setup, message } = await readyToTrain(root);
    setup.deps.trainCompute = { runsOn: 'lambda', envelope: LAMBDA, batchJob: true };
    const outcome = await trainRun(setup.deps, message);
    assert.equal(outcome.compute, 'lambda');
    assert.match(outcome.cacheKey ?? '', /^[0-9a-f]{24}$/);
    const head = await setup.deps.openStore(`${root}/runs/r1`).getJson<HeadArtefact>('head.json');
    assert.equal(head?.compute?.where, 'lambda');
    assert.match(head!.compute!.why, /within the Lambda's envelope/);
  }));
