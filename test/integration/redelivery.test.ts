import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import type { Manifest } from '../../core/features/manifest.js';
import type { ReceivedMessage } from '../../core/ports/work-queue.js';
import { handleBatch } from '../../core/use-cases/distributed/router.js';
import type { Evaluation } from '../../core/workspace/evaluation.js';
import { run, type RunResult } from '../../core/use-cases/run.js';
import type { HeadArtefact } from '../../core/workspace/head-artefact.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { STAGES } from '../../aws/names.js';
import { buildRuntime, type Runtime } from '../../functions/shared/runtime.js';
import { settingsFromEnv } from '../../functions/shared/settings.js';
import { copyHymenopteraSubset, localPipeline } from '../helpers/local-pipeline.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { MODELS_DIR, requireShared } from '../helpers/paths.js';
import {
  cli,
  clients,
  codesByHash,
  comparableManifest,
  spawnWorker,
  statesSucceeded,
  waitForExecution,
  workerArgs,
} from '../helpers/serverless.js';

/**
 * Idempotence over real SQS and the run's state machine executed by moto: every task message delivered three times
 * (and every shard sent twice), and a worker killed mid-shard, both end in one SUCCEEDED execution with the local run's
 * codes, manifest, head and accuracy, and a single train and evaluate step.
 */
let moto: MotoServer;
let c: ReturnType<typeof clients>;
let root: string;
let data: string;
let local: RunResult;
let localManifest: Manifest;

before(async () => {
  requireShared();
  moto = await startMoto();
  c = clients(moto.endpoint);
  root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-redelivery-'));
  data = path.join(root, 'data');
  await copyHymenopteraSubset(data, 5); // 20 images
  const { deps } = await localPipeline(data, path.join(root, 'local'));
  local = await run(deps);
  localManifest = (await new FsBlobStore(path.join(root, 'local')).getJson<Manifest>('manifest.json'))!;
});
after(async () => {
  await moto?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

async function assertSameAsLocal(bucket: string, runId: string, prefix: string): Promise<void> {
  const workspace = new S3BlobStore(c.s3, bucket, `runs/${runId}`);
  const manifest = (await workspace.getJson<Manifest>('manifest.json'))!;
  assert.deepEqual(comparableManifest(manifest), comparableManifest(localManifest));
  const remote = await codesByHash(new FeatureStore(new S3BlobStore(c.s3, bucket), 'cache'), manifest);
  const reference = await codesByHash(
    new FeatureStore(new FsBlobStore(path.join(root, 'local')), 'codes'),
    localManifest,
  );
  for (const [hash, code] of reference) assert.ok(remote.get(hash)?.equals(code), `code of ${hash} differs`);
  assert.deepEqual((await workspace.getJson<HeadArtefact>('head.json'))!.head, local.head.head);
  assert.equal(
    (await workspace.getJson<Evaluation>('metrics.json'))!.metrics.accuracy,
    local.evaluation.metrics.accuracy,
  );
  const execution = await waitForExecution(c.sfn, runId, 10_000, prefix);
  assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
  assert.equal((execution.output as { accuracy: number }).accuracy, local.evaluation.metrics.accuracy);
  const steps = await statesSucceeded(c.sfn, execution.executionArn);
  assert.equal(steps.Train, 1, 'one train step');
  assert.equal(steps.TrainBatch, undefined, 'fitted in the train step');
  assert.equal(steps.Evaluate, 1, 'one evaluate step');
}

async function upAndSubmit(
  bucket: string,
  prefix: string,
  runId: string,
  visibility: number,
  heartbeat = 60,
): Promise<Record<string, string>> {
  const up = JSON.parse(
    await cli(moto.endpoint, [
      'up',
      '--bucket',
      bucket,
      '--queue-prefix',
      prefix,
      '--no-notify',
      '--visibility-timeout',
      String(visibility),
      '--heartbeat',
      String(heartbeat),
      '--json',
    ]),
  ) as { queues: Record<string, { url: string }> };
  await cli(moto.endpoint, [
    'submit',
    '--bucket',
    bucket,
    '--queue-prefix',
    prefix,
    '--data',
    data,
    '--run-id',
    runId,
    '--shard-size',
    '5',
    '--json',
  ]);
  return Object.fromEntries(Object.entries(up.queues).map(([stage, q]) => [stage, q.url]));
}

/**
 * A consumer that handles each message (answering its task), then gives it back until its third delivery, and sends
 * every shard twice: the engine gets the same answer up to six times; all but the first are late and harmless.
 */
async function stutter(
  runtime: Runtime,
  stage: (typeof STAGES)[number],
  copied: Set<number>,
  signal: AbortSignal,
): Promise<void> {
  const queue = runtime.queues[stage]!;
  while (!signal.aborted) {
    const messages = await queue.receive({ max: 1, waitSeconds: 1, signal });
    for (const m of messages as Array<ReceivedMessage<unknown>>) {
      const shard = (m.body as { message?: { shard?: { index: number } } }).message?.shard?.index;
      if (shard !== undefined && !copied.has(shard)) {
        copied.add(shard);
        await queue.sendRaw(m.raw!);
      }
      const [outcome] = await handleBatch(runtime.deps, [m]);
      if (m.receiveCount < 3) await queue.release(m, 0);
      else if (outcome!.kind === 'done') await queue.ack(m);
      else throw new Error(`${stage} message failed: ${JSON.stringify(outcome)}`);
    }
  }
}

test('every message delivered three times and every shard sent twice: the local run’s results, one train, one evaluate', async () => {
  const urls = await upAndSubmit('dup-bucket', 'dup', 'dup', 30);
  const built = buildRuntime(
    {
      ...settingsFromEnv({
        AWS_ENDPOINT_URL: moto.endpoint,
        CNN_CODES_BUCKET: 'dup-bucket',
        CNN_CODES_MODELS_DIR: MODELS_DIR,
        CNN_CODES_THREADS: '1',
      }),
      queueUrls: urls,
    },
    { withBackbone: true },
  );
  const tasks = built.deps.tasks!;
  let answers = 0;
  const counting = async (answer: Promise<'answered' | 'late'>) => {
    answers += 1;
    return answer;
  };
  const runtime = {
    ...built,
    deps: {
      ...built.deps,
      tasks: {
        ...tasks,
        succeed: (token: string, output: unknown) => counting(tasks.succeed(token, output)),
        fail: (token: string, error: string, cause: string) => counting(tasks.fail(token, error, cause)),
      },
    },
  };
  const controller = new AbortController();
  const copied = new Set<number>();
  const consumers = STAGES.flatMap((stage) => [
    stutter(runtime, stage, copied, controller.signal),
    stutter(runtime, stage, copied, controller.signal),
  ]);
  try {
    await waitForExecution(c.sfn, 'dup', 180_000, 'dup');
    // Let the remaining redeliveries (of evaluate, of late shard copies) play out before judging.
    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    controller.abort();
    await Promise.allSettled(consumers);
    await built.close();
  }
  await assertSameAsLocal('dup-bucket', 'dup', 'dup');
  assert.equal(copied.size, 4, 'four shards, each sent twice');
  const parts: string[] = [];
  for await (const blob of new S3BlobStore(c.s3, 'dup-bucket', 'runs/dup').list('parts/')) parts.push(blob.key);
  assert.equal(parts.length, 4, 'one part per shard, however often it was done');
  // Every task came three times and every shard was sent twice: the engine took the repeated answers (late ones, or
  // moto's acceptance of a second SendTaskSuccess) without a second train or evaluate, as asserted above.
  assert.ok(answers >= 3 * (4 * 2 + 3), `answers: ${answers}`);
});

test('a worker killed mid-shard: its shard comes back (heartbeat lapse or visibility timeout) and the run ends as the local one', async () => {
  const urls = await upAndSubmit('kill-bucket', 'kill', 'kill', 4, 6);
  const env = { ...motoEnv(moto.endpoint), CNN_CODES_SHARED: path.dirname(MODELS_DIR) };
  const target = { endpoint: moto.endpoint, bucket: 'kill-bucket', queuePrefix: 'kill' };
  const victim = spawnWorker(workerArgs({ ...target, queues: 'run,extract' }), env);
  const started = await victim.waitFor((e) => e.event === 'extract:start');
  victim.child.kill('SIGKILL');
  await victim.stop();
  const survivor = spawnWorker(workerArgs(target), env);
  try {
    await waitForExecution(c.sfn, 'kill', 180_000, 'kill');
  } finally {
    await survivor.stop();
  }
  await assertSameAsLocal('kill-bucket', 'kill', 'kill');
  const done = survivor.events.filter((e) => e.event === 'extract:done');
  assert.ok(
    done.some((e) => e.shard === started.shard && e.extracted === true),
    'the killed shard was done again, by the survivor',
  );
  assert.ok(urls.extract);
});

test('submit --wait on a run that cannot succeed: the plan fails for good, and submit exits non-zero with the cause and the execution', async () => {
  await cli(moto.endpoint, ['up', '--bucket', 'doomed-bucket', '--queue-prefix', 'doomed', '--no-notify', '--json']);
  const env = { ...motoEnv(moto.endpoint), CNN_CODES_SHARED: path.dirname(MODELS_DIR) };
  const planner = spawnWorker(
    workerArgs({ endpoint: moto.endpoint, bucket: 'doomed-bucket', queuePrefix: 'doomed', queues: 'run' }),
    env,
  );
  const submit = (...more: string[]) =>
    cli(moto.endpoint, [
      'submit',
      '--bucket',
      'doomed-bucket',
      '--queue-prefix',
      'doomed',
      // Nothing was uploaded there: the plan finds no images, a DataError, so the task fails as permanent.
      '--data',
      's3://doomed-bucket/datasets/empty',
      '--run-id',
      'doomed',
      '--wait',
      '--timeout',
      '120',
      ...more,
    ]);
  let failure: Error | undefined;
  try {
    await submit().catch((err: Error) => (failure = err));
  } finally {
    await planner.stop();
  }
  const execution = await waitForExecution(c.sfn, 'doomed', 1000, 'doomed');
  assert.equal(execution.status, 'FAILED');
  assert.ok(failure, 'submit --wait exited non-zero');
  // The data error's exit code, the engine's error and cause, and which execution it was.
  assert.match(
    failure.message,
    /exited 3: cnn-codes: error: run doomed FAILED: CnnCodes\.Permanent: no images found at s3:\/\/doomed-bucket\/datasets\/empty/s,
  );
  assert.ok(failure.message.includes(`(${execution.executionArn})`), failure.message);
  assert.equal(execution.error, 'CnnCodes.Permanent');
  // The plan's task was tried twice (the permanent error's one retry), then the run stopped: no shard, no train.
  const steps = await statesSucceeded(c.sfn, execution.executionArn);
  assert.deepEqual(steps, {});
  assert.equal(planner.events.filter((e) => e.event === 'task:failed' && e.type === 'run').length, 2);
  // Waiting again on the ended run says the same, in --json too.
  const again = await submit('--json').then(
    () => assert.fail('submit --wait --json of a failed run exited 0'),
    (err: Error) =>
      JSON.parse((err.cause as { stdout: string }).stdout) as { error: { code: string; message: string } },
  );
  assert.equal(again.error.code, 'DATA');
  assert.match(again.error.message, /^run doomed FAILED: CnnCodes\.Permanent: no images found/);
});
