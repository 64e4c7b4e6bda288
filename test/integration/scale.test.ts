import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MESSAGE_VERSION } from '../../core/messages/schema.js';
import type { Evaluation } from '../../core/workspace/evaluation.js';
import type { RunPlan } from '../../core/use-cases/distributed/plan-run.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { buildRuntime } from '../../functions/shared/runtime.js';
import { settingsFromEnv } from '../../functions/shared/settings.js';
import { runWorkers } from '../../functions/shared/workers.js';
import { fakeEmbedder } from '../helpers/distributed.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { MODELS_DIR } from '../helpers/paths.js';
import { cli, clients, waitForExecution } from '../helpers/serverless.js';
import { startRun } from '../../aws/step-functions.js';

/**
 * What the runtime costs in requests, counted from moto's own log over HTTP: the join lists nothing, a run's LISTs are
 * the dataset's pages, and a second run over unchanged objects reads none of them (their ETags identify them).
 */
let moto: MotoServer;
let c: ReturnType<typeof clients>;

before(async () => {
  moto = await startMoto();
  c = clients(moto.endpoint);
});
after(() => moto?.stop());

test('two runs over 160 objects: no LIST beyond the dataset listing, no dataset GET the second time', async () => {
  const up = JSON.parse(
    await cli(moto.endpoint, [
      'up',
      '--bucket',
      'scale-it',
      '--queue-prefix',
      'scale',
      '--visibility-timeout',
      '30',
      '--no-notify',
      '--json',
    ]),
  ) as { queues: Record<string, { url: string }>; stateMachineArn: string };
  const dataset = new S3BlobStore(c.s3, 'scale-it', 'datasets/d');
  const keys = Array.from(
    { length: 160 },
    (_, i) => `${i % 4 === 0 ? 'val' : 'train'}/${i % 2 ? 'ants' : 'bees'}/${i}.jpg`,
  );
  await Promise.all(keys.map((key) => dataset.put(key, `image ${key}`)));
  const queueUrls = Object.fromEntries(Object.entries(up.queues).map(([stage, q]) => [stage, q.url]));
  const runtime = buildRuntime(
    {
      ...settingsFromEnv({
        AWS_ENDPOINT_URL: moto.endpoint,
        CNN_CODES_BUCKET: 'scale-it',
        CNN_CODES_MODELS_DIR: MODELS_DIR,
        CNN_CODES_POLL_SECONDS: '1',
      }),
      queueUrls,
    },
    { withBackbone: false },
  );
  const counter = { embedded: 0 };
  runtime.deps.openEmbedder = async (model, cuts) => fakeEmbedder(model, cuts, counter);
  const stop = new AbortController();
  const workers = runWorkers(runtime, {
    stages: ['run', 'extract', 'train', 'evaluate'],
    signal: stop.signal,
  });
  const runOnce = async (runId: string) => {
    const before = moto.requests().length;
    await startRun(c.sfn, up.stateMachineArn, runId, {
      v: MESSAGE_VERSION,
      type: 'run',
      runId,
      dataset: 's3://scale-it/datasets/d',
      workspace: `s3://scale-it/runs/${runId}`,
      cache: 's3://scale-it/cache',
      model: 'mobilenetv2-12-int8',
      cuts: ['final'],
      shardSize: 8,
      train: { C: 1 },
    });
    const workspace = new S3BlobStore(c.s3, 'scale-it', `runs/${runId}`);
    const execution = await waitForExecution(c.sfn, runId, 120_000, 'scale');
    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    const metrics = (await workspace.getJson<Evaluation>('metrics.json'))!;
    const all = moto
      .requests()
      .slice(before)
      .filter((l) => l.includes(' /scale-it/') || l.includes(' /scale-it?'));
    // Up to the last shard's part (train reads the parts after it): evaluate reads the misclassified images again for
    // report.html, which is not extraction.
    const s3 = all.slice(0, all.map((l) => l.includes(`PUT /scale-it/runs/${runId}/parts/`)).lastIndexOf(true) + 1);
    const plan = (await workspace.getJson<RunPlan>('plan.json'))!;
    return {
      metrics,
      plan,
      lists: s3.filter((l) => l.includes('list-type')).length,
      datasetGets: s3.filter((l) => l.includes('"GET /scale-it/datasets/')).length,
      s3,
    };
  };
  try {
    const first = await runOnce('first');
    assert.equal(first.plan.shards.length, 20);
    assert.equal(first.datasetGets, 160, 'each object read once');
    assert.equal(counter.embedded, 160);
    const second = await runOnce('second');
    assert.equal(second.plan.knownContent, 160, 'every identity unchanged');
    assert.equal(second.datasetGets, 0, 'nothing read again');
    assert.equal(counter.embedded, 160, 'nothing embedded again');
    assert.equal(second.metrics.metrics.accuracy, first.metrics.metrics.accuracy);
    for (const [i, run] of [first, second].entries()) {
      // The only listings: the dataset (one page).
      const pipelineLists = run.s3.filter((l) => l.includes('list-type'));
      assert.ok(pipelineLists.length <= 2 * run.plan.shards.length + 10, `${pipelineLists.length} LISTs`);
      // A cache without its shard list (here: a new one) is listed by the planner, which may only read the cache,
      // and once more by the first extract worker, which creates the list; never again.
      assert.equal(
        pipelineLists.filter((l) => !l.includes('datasets')).length,
        i === 0 ? 2 : 0,
        `no LIST of parts or the cache: ${pipelineLists.join('\n')}`,
      );
    }
  } finally {
    stop.abort();
    await workers;
    await runtime.close();
  }
});
