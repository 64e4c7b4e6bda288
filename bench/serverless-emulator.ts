/**
 * The issue-13 scenario with the real model: N small JPEGs (64–160 px, two classes) uploaded to moto with incremental
 * mode on and two `cnn-codes worker` processes (one thread each) running, then a run over them, against
 * `cnn-codes run` on the same files locally in the same script. Reports how often each image was embedded, upload
 * and run times, ingest throughput, and worker-side S3 requests per image from moto's log.
 *
 *   node dist/bench/serverless-emulator.js [--images 3000] [--workers 2]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { MESSAGE_VERSION } from '../core/messages/schema.js';
import type { Evaluation } from '../core/workspace/evaluation.js';
import { forEachConcurrent } from '../core/use-cases/extract.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { SqsQueue } from '../aws/sqs-queue.js';
import { motoEnv, startMoto } from '../test/helpers/moto.js';
import { SHARED } from '../test/helpers/paths.js';
import { BIN, cli, clients, spawnWorker, waitForEvaluated } from '../test/helpers/serverless.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '3000' }, workers: { type: 'string', default: '2' } } });
const N = Number(values.images);
const root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-emulator-'));
const data = path.join(root, 'data');
const files: string[] = [];
for (let i = 0; i < N; i++) {
  const cls = i % 2 ? 'bees' : 'ants';
  const rel = `${i % 5 === 0 ? 'val' : 'train'}/${cls}/${i}.jpg`;
  const size = 64 + ((i * 37) % 97);
  const tint = i % 2 ? { r: 40 + (i % 50), g: 60, b: 200 - (i % 60) } : { r: 200 - (i % 60), g: 120, b: 40 + (i % 50) };
  await mkdir(path.dirname(path.join(data, rel)), { recursive: true });
  await writeFile(path.join(data, rel), await sharp({ create: { width: size, height: Math.round(size * 0.75), channels: 3, background: tint } }).jpeg({ quality: 85 }).toBuffer());
  files.push(rel);
}
const env = { ...process.env, CNN_CODES_SHARED: SHARED };
const localStarted = performance.now();
const localOut = JSON.parse(execFileSync(process.execPath, [BIN, 'run', '--data', data, '--out', path.join(root, 'local'), '--json'], { env, maxBuffer: 64 << 20 }).toString()) as { extract?: { imagesPerSecond?: number } };
const localSeconds = (performance.now() - localStarted) / 1000;

const moto = await startMoto();
const c = clients(moto.endpoint);
const up = JSON.parse(await cli(moto.endpoint, ['up', '--bucket', 'emu', '--json'])) as { queues: Record<string, { url: string }> };
const workers = Array.from({ length: Number(values.workers) }, () =>
  spawnWorker([BIN, 'worker', '--endpoint', moto.endpoint, '--bucket', 'emu', '--threads', '1', '--poll', '2', '--idle-exit', '900'], { ...motoEnv(moto.endpoint) }),
);
try {
  await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'worker:started')));
  const before = moto.requests().length;
  const started = performance.now();
  const dataset = new S3BlobStore(c.s3, 'emu', 'datasets/d');
  await forEachConcurrent(files, 16, async (rel) => dataset.put(rel, await readFile(path.join(data, rel))));
  const uploadSeconds = (performance.now() - started) / 1000;
  await new SqsQueue(c.sqs, up.queues.run!.url).send({
    v: MESSAGE_VERSION, type: 'run', runId: 'emu', dataset: 's3://emu/datasets/d', workspace: 's3://emu/runs/emu', cache: 's3://emu/cache', model: 'mobilenetv2-12-int8', cuts: ['final'],
  });
  const metrics = await waitForEvaluated<Evaluation>(new S3BlobStore(c.s3, 'emu', 'runs/emu'), 3_600_000);
  const seconds = (performance.now() - started) / 1000;
  const events = workers.flatMap((w) => w.events);
  const ingested = events.filter((e) => e.event === 'ingest:done');
  const ingestEmbedded = ingested.reduce((n, e) => n + Number(e.embedded), 0);
  const times = ingested.map((e) => Date.parse(String(e.t)));
  const shardEmbedded = events.filter((e) => e.event === 'extract:part' && e.runId === 'emu').reduce((n, e) => n + Number(e.embedded), 0);
  const s3 = moto.requests().slice(before).filter((l) => l.includes(' /emu/') || l.includes(' /emu?'));
  const pipeline = s3.filter((l) => !l.includes('"PUT /emu/datasets/') && !l.includes('events%2Fevaluate') && !l.includes('events/evaluate') && !l.includes('metrics.json'));
  const counts: Record<string, number> = {};
  for (const l of pipeline) {
    const verb = /"(\w+) (\S+)/.exec(l)!;
    const k = verb[1] === 'GET' && verb[2]!.includes('list-type') ? 'LIST' : verb[1]!;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  const plan = (await new S3BlobStore(c.s3, 'emu', 'runs/emu').getJson<{ shards: unknown[] }>('plan.json'))!;
  const report = {
    images: N, load: loadavg(), localRunSeconds: localSeconds, uploadSeconds, uploadToMetricsSeconds: seconds, targetSeconds: 2 * localSeconds + uploadSeconds,
    embedded: { onUpload: ingestEmbedded, byShards: shardEmbedded }, ingestBatches: ingested.length,
    ingestImagesPerSecond: ingestEmbedded / ((Math.max(...times) - Math.min(...times)) / 1000 || 1), localExtractImagesPerSecond: localOut.extract?.imagesPerSecond ?? null,
    shards: plan.shards.length, s3: counts, s3PerImage: pipeline.length / N, accuracy: metrics.metrics.accuracy,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  await moto.stop();
  await rm(root, { recursive: true, force: true });
}
