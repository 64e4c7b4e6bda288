import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Credentials } from '../../aws/endpoints.js';
import { ENV } from '../../contracts/cross-process.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { namespaceOf } from '../../core/features/feature-store.js';
import type { Manifest } from '../../core/features/manifest.js';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../../core/models/builtin.js';
import type { Evaluation } from '../../core/workspace/evaluation.js';
import { credentialsEnv, roleCredentials, upUnderIam, type UpUnderIam } from '../helpers/iam.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { HYMENOPTERA, MODELS_DIR, REPO_ROOT, requireShared } from '../helpers/paths.js';
import {
  EVALUATE_HANDLER,
  EXTRACT_WORKER,
  LAMBDA_HOST,
  TRAIN_HEAD_HANDLER,
  cli,
  clients,
  executionHistory,
  spawnWorker,
  statesSucceeded,
  waitForExecution,
  type WorkerProcess,
} from '../helpers/serverless.js';
import * as path from 'node:path';

/**
 * The default (GPU) deployment without a GPU, under its IAM: two workers configured as the Batch GPU extract worker
 * (CUDA execution provider, so the CUDA target's graph and namespaces, its session on the CPU provider), the
 * train-head Lambda planning with the deployment's extract compute and forwarding the head to the Batch CPU train job
 * (a Lambda envelope too small for it), that job, and evaluate; each process a session of its function's role.
 */
const BUCKET = 'cnn-codes-gpu';
const TRAIN_BATCH_WORKER = path.join(REPO_ROOT, 'dist', 'functions', 'train-head', 'worker.js');
/** hymenoptera val with the int8 codes (README): the GPU graph's codes must score within one image of it. */
const INT8_CORRECT = 146;
let moto: MotoServer;
let admin: Credentials;
let up: UpUnderIam;

before(async () => {
  requireShared();
  moto = await startMoto({ iam: true });
  up = await upUnderIam(moto.endpoint, BUCKET);
  admin = up.iam.admin;
});
after(() => moto?.stop());

test('the GPU path on CPU: plan → CUDA-graph extract → Batch train → evaluate, codes in the CUDA namespace, val within one image', async (t) => {
  const urls = Object.fromEntries(Object.entries(up.queues).map(([stage, q]) => [stage, q.url]));
  const trainBatchQueue = urls.run!.replace(/-run$/, '-train-batch');
  const env: NodeJS.ProcessEnv = {
    ...motoEnv(moto.endpoint),
    CNN_CODES_BUCKET: BUCKET,
    CNN_CODES_EXTRACT_QUEUE_URL: urls.extract,
    CNN_CODES_TRAIN_QUEUE_URL: urls.train,
    CNN_CODES_EVALUATE_QUEUE_URL: urls.evaluate,
    CNN_CODES_EXTRACT_COMPUTE: 'gpu',
    CNN_CODES_MODELS_DIR: MODELS_DIR,
    CNN_CODES_THREADS: '1',
    CNN_CODES_POLL_SECONDS: '2',
    CNN_CODES_IDLE_EXIT_SECONDS: '60',
  };
  const as = async (role: string, vars: NodeJS.ProcessEnv, session: string) => ({
    ...env,
    ...vars,
    ...credentialsEnv(await roleCredentials(moto.endpoint, admin, role, session)),
  });
  const gpuWorker = { CNN_CODES_EXECUTION_PROVIDER: 'cuda', CNN_CODES_SESSION_PROVIDER: 'cpu' };
  const workers: WorkerProcess[] = [
    spawnWorker([EXTRACT_WORKER], await as('ExtractWorkersJobRole', gpuWorker, 'gpu-1')),
    spawnWorker([EXTRACT_WORKER], await as('ExtractWorkersJobRole', gpuWorker, 'gpu-2')),
    spawnWorker(
      [LAMBDA_HOST, TRAIN_HEAD_HANDLER, urls.run!, urls.train!],
      await as(
        'HeadsTrainHeadFunctionServiceRole',
        {
          CNN_CODES_RUN_QUEUE_URL: urls.run,
          CNN_CODES_TRAIN_COMPUTE: 'lambda',
          CNN_CODES_TRAIN_BATCH_QUEUE_URL: trainBatchQueue,
          // An envelope no head fits: the Lambda answers "batch" and the state machine runs the Batch CPU job.
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1',
          CNN_CODES_TRAIN_TIMEOUT_SECONDS: '1',
        },
        'train-head',
      ),
    ),
    spawnWorker(
      [TRAIN_BATCH_WORKER],
      await as(
        'TrainBatchJobJobRole',
        { CNN_CODES_TRAIN_QUEUE_URL: trainBatchQueue, CNN_CODES_TRAIN_COMPUTE: 'batch' },
        'train-batch',
      ),
    ),
    spawnWorker(
      [LAMBDA_HOST, EVALUATE_HANDLER, urls.evaluate!],
      await as('HeadsEvaluateFunctionServiceRole', {}, 'evaluate'),
    ),
  ];
  try {
    await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'worker:started')));
    const started = performance.now();
    await cli(
      moto.endpoint,
      ['submit', '--bucket', BUCKET, '--data', HYMENOPTERA, '--run-id', 'gpu', '--shard-size', '64', '--json'],
      credentialsEnv(admin),
    );
    const c = clients(moto.endpoint, admin);
    const workspace = new S3BlobStore(c.s3, BUCKET, 'runs/gpu');
    const execution = await waitForExecution(c.sfn, 'gpu', 300_000);
    assert.equal(
      execution.status,
      'SUCCEEDED',
      `${execution.error}: ${execution.cause}; process logs: ${JSON.stringify(workers.map((w) => w.events.slice(-3)))}`,
    );
    const metrics = (await workspace.getJson<Evaluation>('metrics.json'))!;
    t.diagnostic(`submitted → SUCCEEDED ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const descriptor = BUILTIN_MODELS.find((d) => d.name === DEFAULT_MODEL)!;
    const cuda = namespaceOf(descriptor, 'final', 'cuda');
    const manifest = (await workspace.getJson<Manifest>('manifest.json'))!;
    assert.equal(manifest.namespaces.final!.id, cuda.id, 'codes of the CUDA graph, in its namespace');
    assert.notEqual(cuda.id, namespaceOf(descriptor, 'final').id);
    const cache = new S3BlobStore(c.s3, BUCKET, 'cache');
    let shards = 0;
    for await (const blob of cache.list(`${cuda.id}/shards/`)) if (blob.key.endsWith('.npy')) shards += 1;
    assert.ok(shards > 0, 'cache shards under the CUDA namespace');
    for await (const blob of cache.list(`${namespaceOf(descriptor, 'final').id}/`))
      assert.fail(`a CPU-namespace object in a GPU deployment: ${blob.key}`);

    assert.equal(metrics.metrics.n, 153);
    const correct = metrics.predictions.filter((p) => p.predicted === p.label).length;
    t.diagnostic(`val: ${correct}/153 with the GPU graph's codes (int8: ${INT8_CORRECT}/153)`);
    assert.ok(Math.abs(correct - INT8_CORRECT) <= 1, `${correct} vs ${INT8_CORRECT}`);

    const steps = await statesSucceeded(c.sfn, execution.executionArn);
    assert.deepEqual([steps.Train, steps.TrainBatch, steps.Evaluate], [1, 1, 1], 'the Batch train route (the Choice)');

    // On AWS the state machine runs that job `.sync`, the Plan's train message in its environment: it fits (here it
    // finds the head the emulator's route fitted) and exits 0; a message it cannot read fails the job, so the step.
    const planned = (await executionHistory(c.sfn, execution.executionArn)).find(
      (e) => e.stateExitedEventDetails?.name === 'Plan',
    )!;
    const { train } = (JSON.parse(planned.stateExitedEventDetails!.output!) as { plan: { train: unknown } }).plan;
    const batchJob = async (message: string) => {
      const job = spawnWorker(
        [TRAIN_BATCH_WORKER],
        await as('TrainBatchJobJobRole', { CNN_CODES_TRAIN_COMPUTE: 'batch', [ENV.trainMessage]: message }, 'sync'),
      );
      const code = await new Promise<number | null>((resolve) => job.child.once('close', resolve));
      return { code, events: job.events };
    };
    const fitted = await batchJob(JSON.stringify(train));
    assert.equal(fitted.code, 0, JSON.stringify(fitted.events.slice(-3)));
    assert.deepEqual(
      fitted.events.filter((e) => e.event === 'train:fitted').map((e) => [e.compute, e.reused]),
      [['batch', true]],
    );
    const refused = await batchJob(JSON.stringify({ v: 1, type: 'train', runId: 'gpu' }));
    assert.notEqual(refused.code, 0, 'a train message without its workspace fails the job');
    c.s3.destroy();
    c.sqs.destroy();
    c.sfn.destroy();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});
