/**
 * The serverless runtime at scale, without the model: moto on loopback, `up` as the CLI does it, N small objects
 * uploaded, real extract workers as child processes (bench/serverless-scale-worker.ts: the deployed runtime with a
 * stand-in embedder that derives codes from the content hash), one run submitted, then a second run over the same
 * objects. Counts every request from moto's own log.
 *
 *   node dist/bench/serverless-scale.js [--images 50000] [--workers 2] [--shard-size N] [--notify] [--json]
 *                                       [--heartbeat SECONDS] [--dump PREFIX]
 *
 * Prints S3 requests per image by verb, SQS requests, the join's latency (last part written → train message sent),
 * train's read time and GETs, wall times, and the cost of 1 M images per deployment option at list prices. The
 * baseline in the same run is the first run itself: the second run over the same objects must do less.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FeatureStore } from '../core/features/feature-store.js';
import { loadSplit } from '../core/features/training-data.js';
import { ENV } from '../contracts/cross-process.js';
import { MESSAGE_VERSION, type RunMessage } from '../core/messages/schema.js';
import { estimateCosts, PRICE_TABLE, REQUEST_PRICES } from '../core/report/pricing.js';
import type { RunPlan } from '../core/use-cases/distributed/plan-run.js';
import { rememberSources } from '../core/use-cases/distributed/source-identities.js';
import { assembleManifest } from '../core/use-cases/distributed/train-run.js';
import { measuredExtraction } from './results-file.js';
import { forEachConcurrent } from '../core/util/concurrency.js';
import { startRun } from '../aws/step-functions.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { motoEnv, startMoto } from '../test/helpers/moto.js';
import { MODELS_DIR, REPO_ROOT } from '../test/helpers/paths.js';
import { cli, clients, executionHistory, spawnWorker, type WorkerProcess } from '../test/helpers/serverless.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '50000' },
    workers: { type: 'string', default: '2' },
    'shard-size': { type: 'string' },
    notify: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    dump: { type: 'string' },
    heartbeat: { type: 'string' },
  },
});
const N = Number(values.images);
const WORKERS = Number(values.workers);
const BUCKET = 'scale-bench';
/** Local extraction on this machine, read from bench/results/extract.json: what compute costs are scaled from. */
const { imagesPerSecond: LOCAL_IMAGES_PER_SECOND, cpus: LOCAL_CPUS } = measuredExtraction();

const say = (line: string) => values.json || process.stderr.write(`${line}\n`);
// Commit, CPU, load before: recorded now; the figures go to bench/results/serverless-scale.json at the end.
const result = startResult('serverless-scale');

const moto = await startMoto();
const c = clients(moto.endpoint);
// The queues and the run's state machine, as `cnn-codes up` makes them (execution on).
const up = JSON.parse(
  await cli(moto.endpoint, [
    'up',
    '--bucket',
    BUCKET,
    '--queue-prefix',
    'scale',
    '--visibility-timeout',
    '60',
    '--workers',
    String(WORKERS),
    ...(values.heartbeat ? ['--heartbeat', values.heartbeat] : []),
    ...(values.notify ? ['--notify-prefix', 'datasets/'] : ['--no-notify']),
    '--json',
  ]),
) as { queues: Record<'run' | 'extract' | 'train' | 'evaluate', { url: string }>; stateMachineArn: string };
const dataset = new S3BlobStore(c.s3, BUCKET, 'datasets/scale');

// Small objects, distinct bytes: ImageFolder layout with train/val × two classes.
const keys = Array.from(
  { length: N },
  (_, i) => `${i % 5 === 0 ? 'val' : 'train'}/${i % 2 === 0 ? 'ants' : 'bees'}/${String(i).padStart(7, '0')}.jpg`,
);
const uploadStarted = performance.now();
const workers: WorkerProcess[] = [];
const env = {
  ...motoEnv(moto.endpoint),
  CNN_CODES_BUCKET: BUCKET,
  CNN_CODES_RUN_QUEUE_URL: up.queues.run.url,
  CNN_CODES_EXTRACT_QUEUE_URL: up.queues.extract.url,
  CNN_CODES_TRAIN_QUEUE_URL: up.queues.train.url,
  CNN_CODES_EVALUATE_QUEUE_URL: up.queues.evaluate.url,
  CNN_CODES_MODELS_DIR: MODELS_DIR,
  CNN_CODES_POLL_SECONDS: '2',
  ...(values['shard-size'] ? { [ENV.shardSize]: values['shard-size'] } : {}),
};
// With --notify the workers run during the upload: incremental mode ingests what lands.
if (values.notify) await startWorkers();
await forEachConcurrent(keys, 32, (key) => dataset.put(key, `image ${key} ${'x'.repeat(200)}`));
const uploadSeconds = (performance.now() - uploadStarted) / 1000;
say(`uploaded ${N} objects in ${uploadSeconds.toFixed(1)} s`);
if (!values.notify) await startWorkers();

try {
  const first = await measureRun('scale-1');
  const second = await measureRun('scale-2');
  const report = {
    images: N,
    workers: WORKERS,
    notify: values.notify,
    uploadSeconds,
    load: loadavg(),
    first,
    second,
    cost: costPerMillion(first),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report);
  say(`written: ${result.save(report)}`);
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  await moto.stop();
}

async function startWorkers(): Promise<void> {
  for (let i = 0; i < WORKERS; i++)
    workers.push(spawnWorker([path.join(REPO_ROOT, 'dist', 'bench', 'serverless-scale-worker.js')], env));
  await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'worker:started')));
}

interface RunFigures {
  runId: string;
  shards: number;
  shardSize: number;
  sizing: string;
  knownContent: number;
  seconds: number;
  joinLatencyMs: number;
  s3: Record<string, number>;
  s3PerImage: number;
  datasetGets: number;
  lists: number;
  sqsRequests: number;
  trainReadSeconds: number;
  trainGets: number;
  /** Shard extractions the workers started (extract:start), per shard: more than 1 means a shard was redone. */
  shardStarts: Record<string, number>;
  /** Worker log events other than the usual ones (late answers, failed tasks, heartbeats that failed). */
  oddEvents: Record<string, number>;
  /** The execution's history up to the train task, by event type: timed-out and failed tasks are retries. */
  engineEvents: Record<string, number>;
}

async function measureRun(runId: string): Promise<RunFigures> {
  const requestsBefore = moto.requests().length;
  const workspace = new S3BlobStore(c.s3, BUCKET, `runs/${runId}`);
  const message: RunMessage = {
    v: MESSAGE_VERSION,
    type: 'run',
    runId,
    dataset: `s3://${BUCKET}/datasets/scale`,
    workspace: workspace.location,
    cache: `s3://${BUCKET}/cache`,
    model: 'mobilenetv2-12-int8',
    cuts: ['final'],
    train: { C: 1 },
  };
  const started = performance.now();
  const { executionArn } = await startRun(c.sfn, up.stateMachineArn, runId, message);
  let sentAt = 0;
  while (!sentAt) {
    const got = await c.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: up.queues.train.url,
        WaitTimeSeconds: 20,
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    // The Train step's callback task: every shard extracted.
    for (const m of got.Messages ?? [])
      if ((JSON.parse(m.Body!) as { message?: { runId?: string } }).message?.runId === runId)
        sentAt = Number(m.Attributes!.SentTimestamp);
  }
  const seconds = (performance.now() - started) / 1000;
  const lastPart = Math.max(
    ...workers.flatMap((w) =>
      w.events.filter((e) => e.event === 'extract:done' && e.runId === runId).map((e) => Date.parse(String(e.t))),
    ),
  );
  const runRequests = moto.requests().slice(requestsBefore);
  const runEvents = workers.flatMap((w) =>
    w.events.filter((e) => e.runId === runId || e.event?.toString().startsWith('task:')),
  );
  const shardStarts: Record<string, number> = {};
  const oddEvents: Record<string, number> = {};
  for (const e of runEvents) {
    if (e.event === 'extract:start') shardStarts[String(e.shard)] = (shardStarts[String(e.shard)] ?? 0) + 1;
    else if (e.event !== 'extract:done') oddEvents[String(e.event)] = (oddEvents[String(e.event)] ?? 0) + 1;
  }
  // --dump PREFIX: every worker event and moto request of the run, to PREFIX-<runId>.json, for a closer look.
  if (values.dump)
    writeFileSync(
      `${values.dump}-${runId}.json`,
      JSON.stringify({ events: workers.map((w) => w.events), requests: runRequests }),
    );
  const engineEvents: Record<string, number> = {};
  for (const e of await executionHistory(c.sfn, executionArn))
    engineEvents[e.type ?? 'unknown'] = (engineEvents[e.type ?? 'unknown'] ?? 0) + 1;
  const plan = (await workspace.getJson<RunPlan>('plan.json'))!;

  // What train does before fitting: the manifest from the shards' parts, then every code of both splits.
  const readBefore = moto.requests().length;
  const readStarted = performance.now();
  const { manifest } = await assembleManifest(workspace);
  const features = new FeatureStore(new S3BlobStore(c.s3, BUCKET), 'cache');
  await Promise.all(['train', 'val'].map((split) => loadSplit(features, manifest, 'final', split)));
  const trainReadSeconds = (performance.now() - readStarted) / 1000;
  const trainGets = moto
    .requests()
    .slice(readBefore)
    .filter((l) => l.includes('"GET ')).length;
  // Train also records the objects' identities, which lets the next plan skip reading them.
  await rememberSources(new S3BlobStore(c.s3, BUCKET, 'cache'), plan.dataset, plan.shards.flat(), manifest);

  const s3 = s3Lines(runRequests);
  const byVerb: Record<string, number> = {};
  for (const line of s3) byVerb[verbOf(line)] = (byVerb[verbOf(line)] ?? 0) + 1;
  return {
    runId,
    shards: plan.shards.length,
    shardSize: plan.shardSize,
    sizing: plan.sizing?.reason ?? '',
    knownContent: plan.knownContent ?? 0,
    seconds,
    joinLatencyMs: sentAt - lastPart,
    s3: byVerb,
    s3PerImage: s3.length / N,
    datasetGets: s3.filter((l) => l.includes(`"GET /${BUCKET}/datasets/`)).length,
    lists: byVerb.LIST ?? 0,
    sqsRequests: runRequests.length - s3.length,
    trainReadSeconds,
    trainGets,
    shardStarts,
    oddEvents,
    engineEvents,
  };
}

function s3Lines(lines: string[]): string[] {
  return lines.filter((l) => l.includes(` /${BUCKET}/`) || l.includes(` /${BUCKET}?`) || l.includes(` /${BUCKET} `));
}

function verbOf(line: string): string {
  const m = /"(\w+) (\S+) HTTP/.exec(line);
  if (!m) return 'other';
  return m[1] === 'GET' && m[2]!.includes('list-type') ? 'LIST' : m[1]!;
}

function costPerMillion(run: RunFigures) {
  const writes = (run.s3.PUT ?? 0) + (run.s3.POST ?? 0) + (run.s3.LIST ?? 0);
  const reads = (run.s3.GET ?? 0) + (run.s3.HEAD ?? 0);
  const scale = 1e6 / N;
  const requestsUsd =
    scale * (writes * REQUEST_PRICES.s3Write + reads * REQUEST_PRICES.s3Read + run.sqsRequests * REQUEST_PRICES.sqs);
  const compute = estimateCosts(LOCAL_IMAGES_PER_SECOND, LOCAL_CPUS)!;
  return {
    requestsUsd,
    options: compute.rows.map((r) => ({
      name: r.name,
      computeUsd: r.usdPer1000 * 1000,
      totalUsd: r.usdPer1000 * 1000 + requestsUsd,
      hours: 1e6 / r.imagesPerSecond / 3600,
    })),
    assumption: `${compute.assumption} Requests: the counts measured here × 1e6/${N}, ${PRICE_TABLE.region} list prices (${REQUEST_PRICES.asOf}).`,
  };
}

function printReport(r: {
  images: number;
  workers: number;
  uploadSeconds: number;
  load: number[];
  first: RunFigures;
  second: RunFigures;
  cost: ReturnType<typeof costPerMillion>;
}): void {
  const row = (name: string, f: (x: RunFigures) => string) =>
    console.log(`| ${name} | ${f(r.first)} | ${f(r.second)} |`);
  console.log(
    `\n${r.images} objects, ${r.workers} worker processes, load ${r.load.map((l) => l.toFixed(2)).join(' ')}; upload ${r.uploadSeconds.toFixed(1)} s (not counted)\n`,
  );
  console.log('| | first run | second run, same objects |\n|---|---|---|');
  row('shards × size', (x) => `${x.shards} × ${x.shardSize}`);
  row('run sent → train message', (x) => `${x.seconds.toFixed(1)} s (${(r.images / x.seconds).toFixed(0)} images/s)`);
  row('S3 requests per image (workers)', (x) => x.s3PerImage.toFixed(3));
  row('S3 by verb', (x) =>
    Object.entries(x.s3)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  );
  row('items known from the listing (ETag/size)', (x) => String(x.knownContent));
  row('dataset GETs', (x) => String(x.datasetGets));
  row(`LIST (target ≤ 2 × shards + 10)`, (x) => `${x.lists} (≤ ${2 * x.shards + 10})`);
  row('SQS requests', (x) => String(x.sqsRequests));
  row('join latency (last part → train sent)', (x) => `${x.joinLatencyMs} ms`);
  row('shard extractions started (shards started twice)', (x) => {
    const starts = Object.values(x.shardStarts);
    return `${starts.reduce((a, b) => a + b, 0)} (${starts.filter((n) => n > 1).length})`;
  });
  row(
    'other worker events',
    (x) =>
      Object.entries(x.oddEvents)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none',
  );
  row('engine: tasks scheduled, timed out, failed', (x) =>
    ['TaskScheduled', 'TaskTimedOut', 'TaskFailed'].map((k) => x.engineEvents[k] ?? 0).join(', '),
  );
  row('train read: manifest + codes', (x) => `${x.trainReadSeconds.toFixed(2)} s, ${x.trainGets} GETs`);
  console.log(
    `\nsizing: ${r.first.sizing}\n\nCost per 1 M images (requests $${r.cost.requestsUsd.toFixed(2)} from the first run's counts):\n`,
  );
  console.log('| option | compute | requests | total | hours on one |\n|---|---|---|---|---|');
  for (const o of r.cost.options)
    console.log(
      `| ${o.name} | $${o.computeUsd.toFixed(2)} | $${r.cost.requestsUsd.toFixed(2)} | $${o.totalUsd.toFixed(2)} | ${o.hours.toFixed(1)} |`,
    );
  console.log(`\n${r.cost.assumption}`);
}
