import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import type { Manifest } from '../../core/features/manifest.js';
import type { DataQuality } from '../../core/quality/data-quality.js';
import type { Evaluation } from '../../core/workspace/evaluation.js';
import { run, type RunResult } from '../../core/use-cases/run.js';
import type { HeadArtefact } from '../../core/workspace/head-artefact.js';
import { SqsQueue } from '../../aws/sqs-queue.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import type { Credentials } from '../../aws/endpoints.js';
import type { RunExecution } from '../../aws/step-functions.js';
import { STAGES } from '../../contracts/cross-process.js';
import { credentialsEnv, roleCredentials, upUnderIam, type UpUnderIam } from '../helpers/iam.js';
import { localPipeline } from '../helpers/local-pipeline.js';
import { motoEnv, startMoto, type MotoServer } from '../helpers/moto.js';
import { HYMENOPTERA, MODELS_DIR, requireShared } from '../helpers/paths.js';
import {
  EVALUATE_HANDLER,
  EXTRACT_WORKER,
  LAMBDA_HOST,
  TRAIN_HEAD_HANDLER,
  cli,
  clients,
  codesByHash,
  comparableManifest,
  drainQueue,
  spawnWorker,
  statesSucceeded,
  waitForExecution,
  type WorkerProcess,
} from '../helpers/serverless.js';

/**
 * The whole job through an S3/SQS/Step Functions emulator over HTTP, as deployed and under the deployment's IAM:
 * `up --iam` creates the synthesized template's roles and the run's state machine (the emulator variant of the stack's,
 * with the stack's state machine role), moto executes it and checks every request, and each process runs with
 * credentials of its function's role (its own STS session): the train-head and evaluate Lambda handlers (answering the
 * plan, train and evaluate tasks from their queues), two extract processes as the CPU deployment's extract Lambda role.
 * `submit` and the test's own reads run as the admin `up --iam` makes. Compared with the local run of the same data.
 */
const BUCKET = 'cnn-codes-it';
let moto: MotoServer;
let localDir: string;
let local: RunResult;
let c: ReturnType<typeof clients>;
let admin: Credentials;
let up: UpUnderIam;

before(async () => {
  requireShared();
  moto = await startMoto({ iam: true });
  localDir = await mkdtemp(path.join(tmpdir(), 'cnn-codes-local-'));
  const { deps } = await localPipeline(HYMENOPTERA, localDir);
  // The local run confirms near duplicates by the images' signatures; the serverless one by the same signatures, taken
  // by its extract workers from the bytes they read (the train step's envelope holds no image): the same rule.
  local = await run(deps);
  up = await upUnderIam(moto.endpoint, BUCKET, { extractCompute: 'cpu' });
  admin = up.iam.admin;
  c = clients(moto.endpoint, admin);
});
after(async () => {
  await moto?.stop();
  if (localDir) await rm(localDir, { recursive: true, force: true });
});

/** What the stack gives every function (pipeline-stack.ts), here with the emulator's names. */
function stackEnv(queues: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...motoEnv(moto.endpoint),
    CNN_CODES_BUCKET: BUCKET,
    CNN_CODES_EXTRACT_QUEUE_URL: queues.extract,
    CNN_CODES_TRAIN_QUEUE_URL: queues.train,
    CNN_CODES_EVALUATE_QUEUE_URL: queues.evaluate,
    CNN_CODES_EXTRACT_COMPUTE: 'lambda',
    CNN_CODES_MODELS_DIR: MODELS_DIR,
    CNN_CODES_THREADS: '1',
    // Short polls: a stopping worker lets its poll finish, so this bounds how long stop() takes.
    CNN_CODES_POLL_SECONDS: '2',
    // A safety net: workers outlive a test process that is killed, but not for long.
    CNN_CODES_IDLE_EXIT_SECONDS: '60',
  };
}

/** One process of a deployed function: the stack's environment and a session of the function's role. */
async function asRole(role: string, env: NodeJS.ProcessEnv, session: string): Promise<NodeJS.ProcessEnv> {
  return { ...env, ...credentialsEnv(await roleCredentials(moto.endpoint, admin, role, session)) };
}

const ROLES = {
  trainHead: 'HeadsTrainHeadFunctionServiceRole',
  evaluate: 'HeadsEvaluateFunctionServiceRole',
  extractLambda: 'ExtractLambdaFunctionServiceRole',
} as const;

test('hymenoptera under IAM, each function as its role: one SUCCEEDED execution, codes bit for bit, accuracy, one train, one evaluate, poison in the DLQs', async (t) => {
  const urls = Object.fromEntries(Object.entries(up.queues).map(([stage, q]) => [stage, q.url]));
  const env = stackEnv(urls);
  const workers: WorkerProcess[] = [
    spawnWorker([EXTRACT_WORKER], await asRole(ROLES.extractLambda, env, 'extract-1')),
    spawnWorker([EXTRACT_WORKER], await asRole(ROLES.extractLambda, env, 'extract-2')),
    // The run queue's URL goes to train-head only: it plans runs.
    spawnWorker(
      [LAMBDA_HOST, TRAIN_HEAD_HANDLER, urls.run!, urls.train!],
      await asRole(ROLES.trainHead, { ...env, CNN_CODES_RUN_QUEUE_URL: urls.run }, 'train-head'),
    ),
    spawnWorker([LAMBDA_HOST, EVALUATE_HANDLER, urls.evaluate!], await asRole(ROLES.evaluate, env, 'evaluate')),
  ];
  try {
    const poison: Record<string, string> = {
      run: 'run everything please',
      extract: JSON.stringify({
        v: 1,
        type: 'extract',
        runId: 'p',
        workspace: 's3://elsewhere/x',
        cache: 's3://elsewhere/c',
        dataset: '/etc',
        model: 'm',
        cuts: ['final'],
        shard: { index: 0, count: 1, items: [] },
      }),
      train: JSON.stringify({ v: 2, type: 'train' }),
      evaluate: JSON.stringify({
        v: 1,
        type: 'evaluate',
        runId: 'p',
        workspace: 's3://cnn-codes-it/runs/p',
        cache: 's3://cnn-codes-it/cache',
        head: 'f'.repeat(24),
        split: 'val',
        colour: 'red',
      }),
    };
    for (const [stage, body] of Object.entries(poison)) await new SqsQueue(c.sqs, urls[stage]!).sendRaw(body);

    await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'worker:started')));
    const requestsBefore = moto.requests().length;
    const started = performance.now();
    // `submit --wait` uploads, starts the execution and waits on it (DescribeExecution, DescribeMapRun) until it ends.
    const submitted = JSON.parse(
      await cli(
        moto.endpoint,
        submitArgs(HYMENOPTERA, 'hym', '--wait', '--timeout', '240', '--json'),
        credentialsEnv(admin),
      ).catch((err: Error) => {
        throw new Error(`${err.message}; process logs: ${JSON.stringify(workers.map((w) => w.events.slice(-4)))}`);
      }),
    ) as { executionArn: string; uploaded: number; status: RunExecution };
    const finished = performance.now();
    const workspace = new S3BlobStore(c.s3, BUCKET, 'runs/hym');
    const execution = submitted.status;
    // Every file of the folder: 398 images, SHA256SUMS and PROVENANCE.md.
    assert.equal(submitted.uploaded, 400);
    assert.equal(execution.executionArn, submitted.executionArn, 'submit waited on the execution it started');
    assert.deepEqual(await waitForExecution(c.sfn, 'hym', 1000), execution, 'and returned it as it ended');
    assert.equal(
      execution.status,
      'SUCCEEDED',
      `${execution.error}: ${execution.cause}; process logs: ${JSON.stringify(workers.map((w) => w.events.filter((e) => String(e.event).includes('fail') || String(e.error ?? '').length > 0).slice(-3)))}`,
    );
    const metrics = (await workspace.getJson<Evaluation>('metrics.json'))!;
    const requests = moto.requests().slice(requestsBefore);

    // Bit for bit: every image's code in the emulated bucket equals the local run's.
    const manifest = (await workspace.getJson<Manifest>('manifest.json'))!;
    const localManifest = (await new FsBlobStore(localDir).getJson<Manifest>('manifest.json'))!;
    assert.deepEqual(comparableManifest(manifest), comparableManifest(localManifest));
    const remote = await codesByHash(new FeatureStore(new S3BlobStore(c.s3, BUCKET), 'cache'), manifest);
    const reference = await codesByHash(new FeatureStore(new FsBlobStore(localDir), 'codes'), localManifest);
    assert.equal(remote.size, reference.size);
    for (const [hash, code] of reference) assert.ok(remote.get(hash)?.equals(code), `code of ${hash} differs`);

    assert.equal(metrics.metrics.accuracy, local.evaluation.metrics.accuracy);
    assert.equal(metrics.metrics.n, 153);
    const wrong = metrics.predictions.filter((p) => p.predicted !== p.label).length;
    const html = Buffer.from(await workspace.get('report.html')).toString('utf8');
    const misclassified = html.slice(
      html.indexOf('<section id="misclassified">'),
      html.indexOf('</section>', html.indexOf('<section id="misclassified">')),
    );
    assert.equal(
      misclassified.match(/<div class="thumb"[^>]*><img src="data:image\/jpeg;base64,/g)?.length,
      wrong,
      'report.html shows every misclassified image, read from the bucket',
    );
    // The evaluate step's data-quality analysis, in the run's output: the placeholder GIF flagged, with its thumbnail.
    const quality = (await workspace.getJson<DataQuality>('data-quality.json'))!;
    assert.deepEqual(
      quality.labelIssues
        .map((l) => l.key)
        .slice(0, 5)
        .includes('train/ants/imageNotFound.gif'),
      true,
    );
    assert.match(
      html,
      /<div class="thumb" data-key="train\/ants\/imageNotFound.gif"><img src="data:image\/jpeg;base64,/,
    );
    assert.match(html, /<svg class="chart" id="code-map-svg"/);
    // Both reports name the run's execution, which the state machine passed to the evaluate step.
    assert.ok(
      html.includes(`<code id="execution">${execution.executionArn}</code>`),
      'report.html names the execution',
    );
    const markdown = Buffer.from(await workspace.get('report.md')).toString('utf8');
    assert.ok(markdown.includes(`Step Functions execution \`${execution.executionArn}\``), 'report.md names it');
    assert.equal(metrics.run?.execution, execution.executionArn);
    const head = (await workspace.getJson<HeadArtefact>('head.json'))!;
    assert.equal(head.cacheKey, local.head.cacheKey, 'same manifest, same options, same rule: the same head');
    assert.deepEqual(head.head, local.head.head);
    assert.equal(local.head.quality?.confirmedByImage, true, 'the local run confirmed duplicates by the images');
    assert.equal(head.quality?.confirmedByImage, true, 'and so did the serverless train step, without them');
    assert.deepEqual(head.quality?.duplicates, local.head.quality?.duplicates);
    // Evaluate follows the train step's rule: the same groups and leaks as the local run's.
    const localQuality = (await new FsBlobStore(localDir).getJson<DataQuality>('data-quality.json'))!;
    assert.deepEqual(quality.duplicates, localQuality.duplicates);
    assert.deepEqual(quality.leakage, localQuality.leakage);
    // Every image's signature, as the extract workers took it, equal to the one the local run decoded.
    const signaturesIn = async (store: S3BlobStore | FsBlobStore) =>
      (await store.getJson<{ signatures: Record<string, string> }>('image-signatures.json'))!.signatures;
    const signatures = await signaturesIn(workspace);
    assert.equal(Object.keys(signatures).length, new Set(manifest.entries.map((e) => e.contentHash)).size);
    assert.deepEqual(signatures, await signaturesIn(new FsBlobStore(localDir)));

    // One execution: plan once, 13 shards through the Distributed Map, one train, one evaluate.
    assert.deepEqual(execution.shards, { total: 13, succeeded: 13, failed: 0, running: 0, pending: 0, timedOut: 0 });
    const steps = await statesSucceeded(c.sfn, execution.executionArn);
    assert.deepEqual([steps.Plan, steps.Train, steps.TrainBatch, steps.Evaluate], [1, 1, undefined, 1]);
    // `status` finds the run by its plan and names its execution: in --json beside the Map Run's counts, and in words.
    const status = JSON.parse(await cli(moto.endpoint, ['status', '--bucket', BUCKET, '--json'], credentialsEnv(admin)))
      .runs as Array<RunExecution & { runId: string }>;
    assert.deepEqual(
      status.map((r) => [r.runId, r.executionArn, r.status, r.mapRunArn, r.shards]),
      [['hym', execution.executionArn, 'SUCCEEDED', execution.mapRunArn, execution.shards]],
    );
    const said = await cli(moto.endpoint, ['status', '--bucket', BUCKET, '--run', 'hym'], credentialsEnv(admin));
    assert.ok(
      said.includes(
        `run hym: SUCCEEDED, shards 13/13 (0 failed), accuracy ${(metrics.metrics.accuracy * 100).toFixed(1)} % on 153\n  execution ${execution.executionArn}\n`,
      ),
      said,
    );
    assert.equal((execution.output as { accuracy: number }).accuracy, metrics.metrics.accuracy);
    const parts = await partsOf(workspace);
    assert.equal(parts.length, 13);
    const workersUsed = new Set(parts.map((p) => p.worker));
    assert.equal(workersUsed.size, 2, 'both workers took shards');

    for (const stage of STAGES) {
      const q = up.queues[stage]!;
      const dead = await drainQueue(c.sqs, q.deadLetterUrl);
      assert.deepEqual(
        dead.map((m) => m.body),
        [poison[stage]],
        `${stage} DLQ holds exactly the poison message`,
      );
      assert.match(dead[0]!.reason ?? '', /^CONFIG: /);
    }

    const s3Requests = requests.filter((line) => line.includes(` /${BUCKET}/`) || line.includes(` /${BUCKET}?`));
    const uploads = s3Requests.filter((line) => line.includes(`"PUT /${BUCKET}/datasets/`)).length;
    assert.equal(uploads, submitted.uploaded, 'one PUT per file submit said it uploaded');
    const seconds = (Date.parse(execution.stopDate!) - Date.parse(execution.startDate!)) / 1000;
    t.diagnostic(`execution ${execution.executionArn}: ${execution.startDate} → ${execution.stopDate}`);
    t.diagnostic(
      `uptime: ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    t.diagnostic(
      `local run: extract ${local.extract.seconds.toFixed(1)} s = ${local.extract.imagesPerSecond.toFixed(1)} img/s (2 threads), whole run ${local.seconds.toFixed(1)} s`,
    );
    t.diagnostic(
      `emulator, 2 workers × 1 thread: submit --wait (upload and run) ${((finished - started) / 1000).toFixed(1)} s, execution start → stop ${seconds.toFixed(1)} s = ${(398 / seconds).toFixed(1)} img/s end to end`,
    );
    t.diagnostic(
      `S3 requests: ${s3Requests.length} total, ${uploads} dataset uploads, ${((s3Requests.length - uploads) / 398).toFixed(2)} per image for the pipeline (${summarize(s3Requests)})`,
    );

    if (process.env.CNN_CODES_SERVERLESS_BENCH === '1') {
      // Opt-in figure for the closing note: the same data through one fresh worker into a fresh cache (emptied: the
      // roles' grants name the deployment's one cache, cache/).
      await Promise.all(workers.splice(0, 2).map((w) => w.stop()));
      const cache = new S3BlobStore(c.s3, BUCKET, 'cache');
      for await (const blob of cache.list('')) await cache.delete(blob.key);
      workers.push(spawnWorker([EXTRACT_WORKER], await asRole(ROLES.extractLambda, env, 'extract-one')));
      await workers.at(-1)!.waitFor((e) => e.event === 'worker:started');
      const oneStarted = performance.now();
      await cli(
        moto.endpoint,
        submitArgs(`s3://${BUCKET}/datasets/hymenoptera_data`, 'hym-one'),
        credentialsEnv(admin),
      );
      const one = await waitForExecution(c.sfn, 'hym-one', 300_000);
      const oneSeconds = (performance.now() - oneStarted) / 1000;
      assert.equal((one.output as { accuracy: number }).accuracy, metrics.metrics.accuracy);
      t.diagnostic(
        `emulator, 1 worker × 1 thread: run started → SUCCEEDED ${oneSeconds.toFixed(1)} s = ${(398 / oneSeconds).toFixed(1)} img/s end to end`,
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});

/** `cnn-codes submit` of a dataset as this test's run, in shards of 32. */
function submitArgs(data: string, runId: string, ...more: string[]): string[] {
  return ['submit', '--bucket', BUCKET, '--data', data, '--run-id', runId, '--shard-size', '32', ...more];
}

async function partsOf(workspace: S3BlobStore): Promise<Array<{ worker: string | null }>> {
  const out: Array<{ worker: string | null }> = [];
  for await (const blob of workspace.list('parts/'))
    out.push((await workspace.getJson<{ worker: string | null }>(blob.key))!);
  return out;
}

function summarize(lines: string[]): string {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    const m = /"(\w+) \/[^ ?]*(\?[^ ]*)? HTTP/.exec(line);
    const kind = m ? `${m[1]}${m[2]?.includes('list-type') ? ' (list)' : ''}` : 'other';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
