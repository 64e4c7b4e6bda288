/**
 * The issue-13 scenario with the real model: N small JPEGs (64–160 px, two classes) uploaded to moto with incremental
 * mode on and two `cnn-codes worker` processes (one thread each) running, then a run over them, against
 * `cnn-codes run` on the same files locally in the same script. Reports how often each image was embedded, upload
 * and run times, ingest throughput (while busy: the union of the intervals in which a worker was extracting notices,
 * since on upload ingest can go no faster than the upload), worker-side S3 requests per image by verb and by area
 * from moto's log, and LISTs against the issue's budget of 2 × shards + 10.
 *
 *   node dist/bench/serverless-emulator.js [--images 3000] [--workers 2] [--events FILE (the workers' log lines)] [--moto-log FILE]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { MESSAGE_VERSION } from '../core/messages/schema.js';
import type { Evaluation } from '../core/workspace/evaluation.js';
import { forEachConcurrent } from '../core/util/concurrency.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { startRun } from '../aws/step-functions.js';
import { motoEnv, startMoto } from '../test/helpers/moto.js';
import { SHARED } from '../test/helpers/paths.js';
import { BIN, cli, clients, spawnWorker, workerArgs } from '../test/helpers/serverless.js';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '3000' },
    workers: { type: 'string', default: '2' },
    events: { type: 'string' },
    'moto-log': { type: 'string' },
  },
});
const N = Number(values.images);
// Commit, CPU, load before: recorded now; the figures go to bench/results/serverless-emulator.json at the end.
const result = startResult('serverless-emulator');
const root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-emulator-'));
const data = path.join(root, 'data');
const files: string[] = [];
for (let i = 0; i < N; i++) {
  const cls = i % 2 ? 'bees' : 'ants';
  const rel = `${i % 5 === 0 ? 'val' : 'train'}/${cls}/${i}.jpg`;
  const size = 64 + ((i * 37) % 97);
  const tint = i % 2 ? { r: 40 + (i % 50), g: 60, b: 200 - (i % 60) } : { r: 200 - (i % 60), g: 120, b: 40 + (i % 50) };
  await mkdir(path.dirname(path.join(data, rel)), { recursive: true });
  await writeFile(
    path.join(data, rel),
    await sharp({ create: { width: size, height: Math.round(size * 0.75), channels: 3, background: tint } })
      .jpeg({ quality: 85 })
      .toBuffer(),
  );
  files.push(rel);
}
const env = { ...process.env, CNN_CODES_SHARED: SHARED };
const localStarted = performance.now();
const localRun = spawnSync(
  process.execPath,
  [BIN, 'run', '--data', data, '--out', path.join(root, 'local'), '--json'],
  { env, maxBuffer: 64 << 20 },
);
if (localRun.status !== 0) throw new Error(`local run failed: ${localRun.stderr.toString()}`);
const localOut = JSON.parse(localRun.stdout.toString()) as {
  extract?: { imagesPerSecond?: number; embedded?: number };
};
const localSeconds = (performance.now() - localStarted) / 1000;
const localCpuSeconds = childrenCpuSeconds();

const moto = await startMoto();
const c = clients(moto.endpoint);
const up = JSON.parse(await cli(moto.endpoint, ['up', '--bucket', 'emu', '--workers', values.workers, '--json'])) as {
  queues: Record<string, { url: string }>;
  stateMachineArn: string;
};
const workers = Array.from({ length: Number(values.workers) }, () =>
  spawnWorker(workerArgs({ endpoint: moto.endpoint, bucket: 'emu', idleExitSeconds: 900 }), {
    ...motoEnv(moto.endpoint),
  }),
);

/** CPU seconds a live process has used (utime + stime from /proc, 100 ticks/s). */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The moto_server process(es) serving `endpoint` (found by port in /proc): its CPU is the emulator's share. */
function motoPids(endpoint: string): number[] {
  const port = new URL(endpoint).port;
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return cmd.some((a) => /moto_(iam_)?server/.test(a)) && cmd.includes(port);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** CPU seconds of this process's waited-for children (the local run). */
function childrenCpuSeconds(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

function ingestBusySeconds(done: ReadonlyArray<Record<string, unknown>>): number {
  const spans = done
    .map((e) => [Date.parse(String(e.t)) - Number(e.seconds) * 1000, Date.parse(String(e.t))] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total / 1000;
}

try {
  await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'worker:started')));
  const before = moto.requests().length;
  const started = performance.now();
  const dataset = new S3BlobStore(c.s3, 'emu', 'datasets/d');
  await forEachConcurrent(files, 16, async (rel) => dataset.put(rel, await readFile(path.join(data, rel))));
  const uploadSeconds = (performance.now() - started) / 1000;
  const uploadEnded = Date.now();
  await startRun(c.sfn, up.stateMachineArn, 'emu', {
    v: MESSAGE_VERSION,
    type: 'run',
    runId: 'emu',
    dataset: 's3://emu/datasets/d',
    workspace: 's3://emu/runs/emu',
    cache: 's3://emu/cache',
    model: 'mobilenetv2-12-int8',
    cuts: ['final'],
  });
  // Waits on the workers' own log line, not by polling S3: a LIST every 250 ms makes moto scan the whole bucket (3,000+
  // keys) each time, which took more of its CPU than the pipeline's own requests.
  while (!workers.some((w) => w.events.some((e) => e.event === 'evaluate:done' && e.runId === 'emu')))
    await new Promise((r) => setTimeout(r, 250));
  const metrics = (await new S3BlobStore(c.s3, 'emu', 'runs/emu').getJson<Evaluation>('metrics.json'))!;
  const seconds = (performance.now() - started) / 1000;
  const workerCpuSeconds = workers.map((w) => cpuSeconds(w.child.pid));
  const motoCpuSeconds = motoPids(moto.endpoint)
    .map(cpuSeconds)
    .reduce<number>((n, s) => n + (s ?? 0), 0);
  const events = workers.flatMap((w) => w.events);
  if (values['moto-log']) await writeFile(values['moto-log'], moto.requests().slice(before).join('\n'));
  if (values.events) await writeFile(values.events, events.map((e) => JSON.stringify(e)).join('\n'));
  const ingested = events.filter((e) => e.event === 'ingest:done');
  const ingestEmbedded = ingested.reduce((n, e) => n + Number(e.embedded), 0);
  const shardEmbedded = events
    .filter((e) => e.event === 'extract:done' && e.runId === 'emu')
    .reduce((n, e) => n + Number(e.embedded), 0);
  // Busy time: the union of the intervals in which some worker was extracting a batch of notices.
  const busy = ingestBusySeconds(ingested);
  const times = ingested.map((e) => Date.parse(String(e.t)));
  const s3 = moto
    .requests()
    .slice(before)
    .filter((l) => l.includes(' /emu/') || l.includes(' /emu?'));
  // Worker-side: not the upload itself, not this script's polling for metrics.json and its own reads below.
  const pipeline = s3.filter(
    (l) =>
      !l.includes('"PUT /emu/datasets/') &&
      !l.includes('events%2Fevaluate') &&
      !l.includes('events/evaluate') &&
      !l.includes('metrics.json'),
  );
  const byVerb: Record<string, number> = {};
  const byArea: Record<string, Record<string, number>> = {};
  for (const l of pipeline) {
    const [, method, target] = /"(\w+) (\S+)/.exec(l)!;
    const verb = method === 'GET' && target!.includes('list-type') ? 'LIST' : method!;
    const where = decodeURIComponent(
      target!.includes('list-type') ? (/prefix=([^&]*)/.exec(target!)?.[1] ?? '') : target!.slice('/emu/'.length),
    );
    const area = where.split('/')[0] || '(root)';
    byVerb[verb] = (byVerb[verb] ?? 0) + 1;
    byArea[area] ??= {};
    byArea[area][verb] = (byArea[area][verb] ?? 0) + 1;
  }
  const plan = (await new S3BlobStore(c.s3, 'emu', 'runs/emu').getJson<{ shards: unknown[] }>('plan.json'))!;
  const localImagesPerSecond = localOut.extract?.imagesPerSecond ?? null;
  const distinct = localOut.extract?.embedded ?? N;
  const report = {
    cpu: `${cpus().length} × ${describeCpu()}`,
    images: N,
    distinctImages: distinct,
    load: loadavg(),
    embedded: {
      onUpload: ingestEmbedded,
      byRunShards: shardEmbedded,
      twice: ingestEmbedded + shardEmbedded - distinct,
    },
    s3PerImage: pipeline.length / N,
    s3PerImageByVerb: Object.fromEntries(Object.entries(byVerb).map(([k, v]) => [k, v / N])),
    s3ByArea: byArea,
    lists: { count: byVerb.LIST ?? 0, budget: 2 * plan.shards.length + 10, shards: plan.shards.length },
    ingest: {
      batches: ingested.length,
      imagesPerSecondWhileBusy: ingestEmbedded / (busy || 1),
      imagesPerSecondFirstToLast: ingestEmbedded / ((Math.max(...times) - Math.min(...times)) / 1000 || 1),
      vsLocalExtraction: localImagesPerSecond ? ingestEmbedded / (busy || 1) / localImagesPerSecond : null,
      lastDoneAfterUploadSeconds: (Math.max(...times) - uploadEnded) / 1000,
    },
    local: {
      runSeconds: localSeconds,
      runImagesPerSecond: N / localSeconds,
      extractImagesPerSecond: localImagesPerSecond,
      cpuSeconds: localCpuSeconds,
    },
    uploadSeconds,
    totalSeconds: seconds,
    targetSeconds: 2 * localSeconds + uploadSeconds,
    runAfterUploadSeconds: seconds - uploadSeconds,
    workerCpuSeconds,
    motoCpuSeconds,
    sqsRequests: moto
      .requests()
      .slice(before)
      .filter((l) => l.includes('"POST / ')).length,
    accuracy: metrics.metrics.accuracy,
  };
  console.log(JSON.stringify(report, null, 2));
  process.stderr.write(`written: ${result.save(report)}\n`);
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  await moto.stop();
  await rm(root, { recursive: true, force: true });
}
