/**
 * Extraction speed, side by side with the PyTorch tutorial's own pipeline (PIL + torchvision transforms +
 * DataLoader(batch 4, 2 workers) + torchvision MobileNetV2 on CPU), both over the same images on the same machine in
 * one script.
 *
 * 1. Whole process: the real `cnn-codes extract` binary and the tutorial script, each timed from process start to
 *    exit (imports, model load, reading, hashing, decoding, inference, writing), on 8 images, on the 398 hymenoptera
 *    images and on N× them (copies with k zero bytes appended: new content hashes, same pixels). Our prepared graph is
 *    cached (a first run fills the cache; its time is shown too).
 * 2. Stages, in process: where the workers' time went (decode+preprocess, inference, idle), time to sessions loaded and
 *    time to first result, and the per-stage bound cores ÷ (decode ms + inference ms per image) that a pipeline with
 *    no idle stage would reach; the naive batch-1 loop for reference.
 * 3. With --split: worker count × batch size × intra-op threads, the measurement behind the pool's defaults.
 *
 *   node dist/bench/extract.js [--data DIR] [--scale N] [--split] [--skip-baseline]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { ExtractionPool, type PoolStats } from '../core/backbone/extraction-pool.js';
import { OnnxBackbone } from '../core/backbone/onnx-backbone.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { decodeToRgb } from '../core/image/preprocess.js';
import { ModelRegistry, resolveModelFile } from '../core/models/registry.js';
import { extract } from '../core/use-cases/extract.js';
import { HYMENOPTERA, MODELS_DIR, PYTHON, REPO_ROOT } from '../test/helpers/paths.js';
import { imageFiles, repeatedDataset } from './datasets.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: HYMENOPTERA },
    model: { type: 'string', default: 'mobilenetv2-12-int8' },
    scale: { type: 'string', default: '4' },
    split: { type: 'boolean', default: false },
    'skip-baseline': { type: 'boolean', default: false },
  },
});
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const CORES = availableParallelism();

/** The first `n` files of each training class: a small job where start-up is everything. */
function smallDataset(root: string, files: string[], perClass: number, into: string): string {
  const taken = new Map<string, number>();
  for (const rel of files.filter((f) => f.startsWith('train/'))) {
    const cls = path.dirname(rel);
    if ((taken.get(cls) ?? 0) >= perClass) continue;
    taken.set(cls, (taken.get(cls) ?? 0) + 1);
    mkdirSync(path.join(into, cls), { recursive: true });
    cpSync(path.join(root, rel), path.join(into, rel));
  }
  return into;
}

interface WholeProcess {
  label: string;
  images: number;
  seconds: number;
  cpuSeconds: number;
  inLoopSeconds?: number;
}

/**
 * Wall seconds, and CPU seconds (user + system, the process and every child it waited for, from GNU time): on a
 * shared machine wall time moves with everyone else's load, CPU time per image hardly does.
 */
function timeProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { seconds: number; cpuSeconds: number; stdout: string } {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', command, ...args], {
    encoding: 'utf8',
    env,
    maxBuffer: 64 * 2 ** 20,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { seconds, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN, stdout: r.stdout };
}

async function ours(label: string, data: string, env: NodeJS.ProcessEnv): Promise<WholeProcess> {
  const out = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-out-'));
  try {
    const { seconds, cpuSeconds, stdout } = timeProcess(
      process.execPath,
      [BIN, 'extract', '--data', data, '--out', out, '--json'],
      env,
    );
    const summary = (JSON.parse(stdout) as { extract: { embedded: number } }).extract;
    return { label, images: summary.embedded, seconds, cpuSeconds };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

function tutorial(label: string, data: string): WholeProcess {
  const { seconds, cpuSeconds, stdout } = timeProcess(
    PYTHON,
    [path.join(REPO_ROOT, 'bench', 'tutorial_baseline.py'), '--data', data, '--arch', 'mobilenet_v2'],
    process.env,
  );
  const line = JSON.parse(stdout.trim().split('\n').pop()!) as { images: number; seconds: number };
  return { label, images: line.images, seconds, cpuSeconds, inLoopSeconds: line.seconds };
}

interface StageRow {
  label: string;
  images: number;
  seconds: number;
  stats: PoolStats;
  peakRssMiB: number;
}

/** In-process extract with the pool's stage times; `openEmbedder` keeps the pool so its stats can be read. */
async function staged(
  label: string,
  data: string,
  pool: { workers?: number; batchSize?: number; threadsPerWorker?: number } = {},
): Promise<StageRow> {
  const work = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-'));
  try {
    const model = await new ModelRegistry().lookup(values.model!, [MODELS_DIR]);
    let embedder: ExtractionPool | undefined;
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const workspace = new FsBlobStore(work);
    const result = await extract({
      data: new FsBlobStore(data),
      workspace,
      features: new FeatureStore(workspace),
      model,
      openEmbedder: async (m, cuts) => {
        const resolved = await resolveModelFile(m, { modelsDirs: [MODELS_DIR], allowDownload: false });
        embedder = await ExtractionPool.start({
          modelPath: resolved.path,
          descriptor: m.descriptor,
          cuts,
          preparedGraphCacheDir: path.join(work, 'prepared'),
          ...pool,
        });
        return embedder;
      },
    });
    clearInterval(sampler);
    return {
      label,
      images: result.summary.embedded,
      seconds: result.summary.seconds,
      stats: embedder!.stats,
      peakRssMiB: peakRss / 2 ** 20,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The obvious single-threaded loop: read, decode, infer one image at a time (start-up not counted). */
async function naiveLoop(root: string, files: string[]) {
  const model = await new ModelRegistry().lookup(values.model!, [MODELS_DIR]);
  const resolved = await resolveModelFile(model, { modelsDirs: [MODELS_DIR], allowDownload: false });
  const backbone = await OnnxBackbone.create(await readFile(resolved.path), model.descriptor, ['final']);
  const started = performance.now();
  for (const f of files)
    await backbone.embed([await decodeToRgb(await readFile(path.join(root, f)), model.descriptor.preprocess)]);
  const seconds = (performance.now() - started) / 1000;
  await backbone.dispose();
  return { images: files.length, seconds };
}

const perImage = (ms: number, images: number) => ms / Math.max(images, 1);

async function main(): Promise<void> {
  const root = values.data!;
  const files = imageFiles(root);
  const scale = Number(values.scale);
  const scratch = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-data-'));
  const xdg = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-cache-'));
  const env = { ...process.env, XDG_CACHE_HOME: xdg };
  try {
    const small = smallDataset(root, files, 4, path.join(scratch, 'small'));
    const scaled = repeatedDataset(root, files, scale, path.join(scratch, `x${scale}`));
    console.log(`\nExtraction, ${values.model}, ${cpus()[0]?.model} (${CORES} vCPU, AVX2, AVX-512 incl. VNNI)`);
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );

    // Ours and the tutorial's alternate, so a change in the shared machine's load falls on both sides alike.
    const skip = values['skip-baseline'];
    const cold = await ours('cnn-codes extract, 8 images, first run (prepares and caches the graph)', small, env);
    const cached = await ours('cnn-codes extract, 8 images (prepared graph cached)', small, env);
    const full = await ours(`cnn-codes extract, ${files.length} images`, root, env);
    const tutorialFull = skip ? undefined : tutorial('PyTorch tutorial pipeline, 398 images', root);
    const scaledRun = await ours(`cnn-codes extract, ×${scale} (${files.length * scale} images)`, scaled, env);
    const tutorialScaled = skip ? undefined : tutorial(`PyTorch tutorial pipeline, ×${scale}`, scaled);
    const whole: WholeProcess[] = [cold, cached, full, scaledRun];
    const tutorials = tutorialFull && tutorialScaled ? [tutorialFull, tutorialScaled] : [];
    console.log('\n### Whole process (start to exit), side by side\n');
    console.log(
      '| run | images | wall s | images/s | × tutorial, wall | CPU s | images per CPU-second | × tutorial, CPU |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    const baselineOf = (r: WholeProcess) =>
      r.images >= 100 ? (r.images > 1000 ? tutorials[1] : tutorials[0]) : undefined;
    const times = (ours: number, theirs: number | undefined) => (theirs ? (ours / theirs).toFixed(2) : '–');
    const row = (label: string, r: WholeProcess, t: WholeProcess | undefined) =>
      console.log(
        `| ${label} | ${r.images} | ${r.seconds.toFixed(2)} | ${(r.images / r.seconds).toFixed(1)} | ${times(r.images / r.seconds, t && t.images / t.seconds)} | ` +
          `${r.cpuSeconds.toFixed(2)} | ${(r.images / r.cpuSeconds).toFixed(1)} | ${times(r.images / r.cpuSeconds, t && t.images / t.cpuSeconds)} |`,
      );
    for (const r of whole) row(r.label, r, baselineOf(r));
    for (const t of tutorials) row(`${t.label} (in its loop: ${t.inLoopSeconds!.toFixed(2)} s)`, t, t);

    const stageRows = [await staged(`${files.length} images`, root), await staged(`×${scale}`, scaled)];
    const naive = await naiveLoop(root, files);
    console.log('\n### Stages, in process (extract() with the worker pool; stage times measured inside the workers)\n');
    console.log(
      '| data | images/s | decode+preprocess ms/image | inference ms/image | bound: cores ÷ (decode + inference) | % of bound | workers busy decoding / inferring / idle | first result after | peak RSS MiB |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of stageRows) {
      const s = r.stats;
      const decode = perImage(s.decodeMs, s.images);
      const infer = perImage(s.inferMs, s.images);
      const bound = (CORES * 1000) / (decode + infer);
      const rate = r.images / r.seconds;
      const capacity = s.workers * r.seconds * 1000;
      const share = (ms: number) => `${((100 * ms) / capacity).toFixed(0)} %`;
      const idle = capacity - s.decodeMs - s.inferMs;
      console.log(
        `| ${r.label} | ${rate.toFixed(1)} | ${decode.toFixed(2)} | ${infer.toFixed(2)} | ${bound.toFixed(1)} | ${((100 * rate) / bound).toFixed(0)} % | ` +
          `${share(s.decodeMs)} / ${share(s.inferMs)} / ${share(idle)} | ${s.firstResultMs?.toFixed(0)} ms (graph ${s.prepareMs.toFixed(0)} ms${s.preparedFromCache ? ', cached' : ', prepared'}, sessions ${s.readyMs.toFixed(0)} ms) | ${r.peakRssMiB.toFixed(0)} |`,
      );
    }
    console.log(
      `| naive loop, ${naive.images} images (batch 1, one thread, no overlap, start-up not counted) | ${(naive.images / naive.seconds).toFixed(1)} | | | | | | | |`,
    );

    if (values.split) {
      console.log('\n### Worker split (in process, 398 images, start-up included)\n');
      console.log('| workers | threads per session | batch | images/s | decode ms/image | inference ms/image |');
      console.log('|---|---|---|---|---|---|');
      const splits: Array<[number, number, number]> = [
        [CORES, 1, 4],
        [CORES, 1, 8],
        [CORES, 1, 16],
        [1, CORES, 8],
        [CORES + 1, 1, 8],
        [CORES * 2, 1, 8],
      ];
      for (const [workers, threads, batch] of splits) {
        const r = await staged('split', root, { workers, threadsPerWorker: threads, batchSize: batch });
        const s = r.stats;
        console.log(
          `| ${workers} | ${threads} | ${batch} | ${(r.images / r.seconds).toFixed(1)} | ${perImage(s.decodeMs, s.images).toFixed(2)} | ${perImage(s.inferMs, s.images).toFixed(2)} |`,
        );
      }
    }
    console.log(
      `\nload average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(xdg, { recursive: true, force: true });
  }
}

await main();
