/**
 * Extraction speed, side by side with the fastest Python peer we know and the PyTorch tutorial's own pipeline, all
 * over the same images on the same machine in one script.
 *
 * The peer (bench/extract_peer.py) runs the same mobilenetv2-12-int8 file with onnxruntime (its tensor `627` added as
 * an output, averaged over H and W) and PIL + torchvision Resize(256) + CenterCrop(224), one process per core with a
 * single-threaded session each, batches of 16. The tutorial pipeline (PIL + torchvision transforms +
 * DataLoader(batch 4, 2 workers) + torchvision MobileNetV2 on CPU) is the second row.
 *
 * 1. Inference: the model as shipped against our prepared graph (both int8 weight encodings), one thread, batch 16,
 *    in the peer's onnxruntime, rounds alternated, median; onnxruntime's profiler by op type for the added nodes.
 * 2. Whole process: the real `cnn-codes extract` binary and the peer alternate, `--pairs` times each on the 398
 *    hymenoptera images and on N× them (copies with k zero bytes appended: new content hashes, same pixels), medians;
 *    `cnn-codes extract --decode fast` (near-exact JPEG decode) takes its turn in each round too; also 8 images
 *    (first run, then with the prepared graph cached) and a re-run over the cached 398.
 * 3. Stages, in process: where the workers' time went (decode+preprocess, inference, idle), beside the peer's own.
 * 4. With --split: worker count × batch size × intra-op threads, the measurement behind the pool's defaults (run it
 *    under `taskset -c 0` for one core); --split-only skips 1–3. The splits take turns, --split-rounds times each;
 *    the best and the median round are kept (on a shared machine the best is the nearest to a quiet one), with the
 *    process's CPU time per image (all threads).
 *
 * Writes bench/results/extract.json (or extract-split-<cores>core.json with --split-only).
 *
 *   node dist/bench/extract.js [--data DIR] [--scale N] [--pairs 3] [--split | --split-only] [--split-rounds 3]
 *                              [--skip-baseline] [--tutorial-scaled]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { ExtractionPool, type PoolStats } from '../core/backbone/extraction-pool.js';
import { OnnxBackbone } from '../core/backbone/onnx-backbone.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { decodeToRgb } from '../core/image/preprocess.js';
import { chooseInt8Weights, describeCpu } from '../core/models/int8-weights-choice.js';
import { prepareGraph } from '../core/models/onnx-graph.js';
import { ModelRegistry, resolveModelFile } from '../core/models/registry.js';
import { extract } from '../core/use-cases/extract.js';
import { HYMENOPTERA, MODELS_DIR, PYTHON, REPO_ROOT } from '../test/helpers/paths.js';
import { ENV } from '../contracts/cross-process.js';
import { imageFiles, repeatedDataset } from './datasets.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: HYMENOPTERA },
    model: { type: 'string', default: 'mobilenetv2-12-int8' },
    scale: { type: 'string', default: '4' },
    pairs: { type: 'string', default: '3' },
    split: { type: 'boolean', default: false },
    'split-rounds': { type: 'string', default: '3' },
    'split-only': { type: 'boolean', default: false },
    'tutorial-scaled': { type: 'boolean', default: false },
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

async function ours(label: string, data: string, env: NodeJS.ProcessEnv, into?: string): Promise<WholeProcess> {
  const out = into ?? (await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-out-')));
  try {
    const { seconds, cpuSeconds, stdout } = timeProcess(
      process.execPath,
      [BIN, 'extract', '--data', data, '--out', out, '--json'],
      env,
    );
    const summary = (JSON.parse(stdout) as { extract: { embedded: number; cached?: number } }).extract;
    return { label, images: summary.embedded + (summary.cached ?? 0), seconds, cpuSeconds };
  } finally {
    if (!into) await rm(out, { recursive: true, force: true });
  }
}

interface PeerRun extends WholeProcess {
  decodeMsPerImage: number;
  inferMsPerImage: number;
  versions: Record<string, string>;
}

function peer(label: string, data: string, modelPath: string): PeerRun {
  const { seconds, cpuSeconds, stdout } = timeProcess(
    PYTHON,
    [path.join(REPO_ROOT, 'bench', 'extract_peer.py'), '--data', data, '--model', modelPath],
    process.env,
  );
  const line = JSON.parse(stdout.trim().split('\n').pop()!) as {
    images: number;
    seconds: number;
    decode_ms_per_image: number;
    infer_ms_per_image: number;
    versions: Record<string, string>;
  };
  return {
    label,
    images: line.images,
    seconds,
    cpuSeconds,
    inLoopSeconds: line.seconds,
    decodeMsPerImage: line.decode_ms_per_image,
    inferMsPerImage: line.infer_ms_per_image,
    versions: line.versions,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => loadavg().map((l) => Number(l.toFixed(2)));

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

interface InferenceFigures {
  msPerImage: Record<string, number>;
  ops: Record<string, Record<string, number>>;
}

/** The model as shipped against our prepared graph in each int8 weight encoding, in the peer's onnxruntime. */
async function inference(modelPath: string, scratch: string): Promise<InferenceFigures> {
  const model = await new ModelRegistry().lookup(values.model!, [MODELS_DIR]);
  const bytes = await readFile(modelPath);
  const graphs: Record<string, string> = { 'model as shipped (float NCHW input)': modelPath };
  for (const int8Weights of ['as-shipped', 'uint8'] as const) {
    const file = path.join(scratch, `prepared-${int8Weights}.onnx`);
    writeFileSync(file, prepareGraph(bytes, model.descriptor, ['final'], { int8Weights }).bytes);
    graphs[`prepared graph, int8 weights ${int8Weights} (uint8 NHWC input)`] = file;
  }
  const out = execFileSync(
    PYTHON,
    [path.join(REPO_ROOT, 'bench', 'extract_peer.py'), '--infer', ...Object.values(graphs), '--profile'],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as { ms_per_image: number[]; ops: Array<Record<string, number>> };
  const names = Object.keys(graphs);
  return {
    msPerImage: Object.fromEntries(names.map((n, i) => [n, r.ms_per_image[i]!])),
    ops: Object.fromEntries(names.map((n, i) => [n, r.ops[i]!])),
  };
}

async function splitTable(root: string): Promise<Array<Record<string, number>>> {
  const rounds = Math.max(1, Number(values['split-rounds']));
  console.log(
    `\n### Worker split (in process, ${imageFiles(root).length} images, start-up included, ${CORES} core(s), best and median of ${rounds} alternated rounds)\n`,
  );
  const splits: Array<[number, number, number]> = [
    [CORES, 1, 4],
    [CORES, 1, 8],
    [CORES, 1, 16],
    [CORES, 1, 32],
    [1, CORES, 8],
    [1, CORES, 16],
    [CORES + 1, 1, 8],
    [CORES * 2, 1, 8],
  ];
  // On one core some splits coincide.
  const distinct = [...new Map(splits.map((s) => [s.join('/'), s])).values()];
  const runs = distinct.map(() => [] as Array<{ rate: number; cpuMs: number; decodeMs: number; inferMs: number }>);
  for (let round = 0; round < rounds; round++) {
    for (const [i, [workers, threads, batch]] of distinct.entries()) {
      const cpu = process.cpuUsage();
      const r = await staged('split', root, { workers, threadsPerWorker: threads, batchSize: batch });
      const used = process.cpuUsage(cpu);
      const s = r.stats;
      runs[i]!.push({
        rate: r.images / r.seconds,
        cpuMs: (used.user + used.system) / 1000 / r.images,
        decodeMs: perImage(s.decodeMs, s.images),
        inferMs: perImage(s.inferMs, s.images),
      });
    }
  }
  console.log(
    '| workers | threads per session | batch | images/s, best | images/s, median | CPU ms/image (process) | decode ms/image | inference ms/image |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  return distinct.map(([workers, threads, batch], i) => {
    const rates = runs[i]!.map((r) => r.rate);
    const best = runs[i]!.reduce((a, b) => (b.rate > a.rate ? b : a));
    const row = {
      workers,
      threads,
      batch,
      imagesPerSecond: best.rate,
      imagesPerSecondMedian: median(rates),
      cpuMsPerImage: best.cpuMs,
      decodeMs: best.decodeMs,
      inferMs: best.inferMs,
    };
    console.log(
      `| ${workers} | ${threads} | ${batch} | ${row.imagesPerSecond.toFixed(1)} | ${row.imagesPerSecondMedian.toFixed(1)} | ${row.cpuMsPerImage.toFixed(2)} | ${row.decodeMs.toFixed(2)} | ${row.inferMs.toFixed(2)} |`,
    );
    return row;
  });
}

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const root = values.data!;
  const files = imageFiles(root);
  const scale = Number(values.scale);
  const pairs = Number(values.pairs);
  const cpu = describeCpu();
  const int8Weights = chooseInt8Weights('auto');
  const result: Record<string, unknown> = {
    commit: commitOf(),
    date: new Date().toISOString(),
    cpu,
    cores: CORES,
    int8Weights,
    loadBefore: load(),
    versions: { node: process.version },
  };
  console.log(`\nExtraction, ${values.model}, ${cpu}, ${CORES} core(s) usable`);
  console.log(`int8 weights in the prepared graph (auto): ${int8Weights}`);
  console.log(`load average before: ${load().join(' ')}`);
  const resultsFile = path.join(
    REPO_ROOT,
    'bench',
    'results',
    values['split-only'] ? `extract-split-${CORES}core.json` : 'extract.json',
  );
  const save = () => {
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify({ ...result, loadAfter: load() }, null, 2)}\n`);
  };
  if (values['split-only']) {
    result.split = await splitTable(root);
    save();
    console.log(`\nload average after: ${load().join(' ')}`);
    return;
  }

  const scratch = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-data-'));
  const xdg = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-cache-'));
  const env = { ...process.env, XDG_CACHE_HOME: xdg };
  try {
    const model = await new ModelRegistry().lookup(values.model!, [MODELS_DIR]);
    const modelPath = (await resolveModelFile(model, { modelsDirs: [MODELS_DIR], allowDownload: false })).path;

    const infer = await inference(modelPath, scratch);
    result.inference = infer;
    const stock = Object.values(infer.msPerImage)[0]!;
    console.log('\n### Inference: one thread, batch 16, Python onnxruntime, median of alternated rounds\n');
    console.log('| graph | ms/image | × model as shipped |');
    console.log('|---|---|---|');
    for (const [name, ms] of Object.entries(infer.msPerImage))
      console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / stock).toFixed(3)} |`);
    const ops = [...new Set(Object.values(infer.ops).flatMap((o) => Object.keys(o)))];
    console.log("\nonnxruntime's profiler, ms/image by op type (summed over nodes):\n");
    console.log(`| op | ${Object.keys(infer.ops).join(' | ')} |`);
    console.log(
      `|---|${Object.keys(infer.ops)
        .map(() => '---')
        .join('|')}|`,
    );
    for (const op of ops)
      console.log(
        `| ${op} | ${Object.values(infer.ops)
          .map((o) => (o[op] === undefined ? '–' : o[op].toFixed(3)))
          .join(' | ')} |`,
      );

    const small = smallDataset(root, files, 4, path.join(scratch, 'small'));
    const scaled = repeatedDataset(root, files, scale, path.join(scratch, `x${scale}`));
    const skip = values['skip-baseline'];
    const cold = await ours('cnn-codes extract, 8 images, first run (prepares and caches the graph)', small, env);
    const cached = await ours('cnn-codes extract, 8 images (prepared graph cached)', small, env);
    const rerunOut = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-out-'));
    await ours('fill', root, env, rerunOut);
    const rerun = await ours(`cnn-codes extract again, ${files.length} images all cached`, root, env, rerunOut);
    await rm(rerunOut, { recursive: true, force: true });

    // Ours and the peer alternate, so a change in the shared machine's load falls on both sides alike.
    const runs: Record<string, { ours: WholeProcess[]; fast: WholeProcess[]; peer: PeerRun[] }> = {};
    const fastEnv = { ...env, [ENV.decode]: 'fast' };
    for (const [label, data] of [
      [`${files.length} images`, root],
      [`×${scale} (${files.length * scale} images)`, scaled],
    ] as const) {
      const entry: { ours: WholeProcess[]; fast: WholeProcess[]; peer: PeerRun[] } = { ours: [], fast: [], peer: [] };
      for (let i = 0; i < pairs; i++) {
        entry.ours.push(await ours(`cnn-codes extract, ${label}`, data, env));
        if (!skip) entry.peer.push(peer(`Python peer, ${label}`, data, modelPath));
        entry.fast.push(await ours(`cnn-codes extract --decode fast, ${label}`, data, fastEnv));
      }
      runs[label] = entry;
    }
    // The tutorial is ~5× slower than either: once, on the 398 images (×N only with --tutorial-scaled).
    const tutorials = skip
      ? []
      : [
          tutorial(`PyTorch tutorial pipeline, ${files.length} images`, root),
          ...(values['tutorial-scaled'] ? [tutorial(`PyTorch tutorial pipeline, ×${scale}`, scaled)] : []),
        ];

    console.log(`\n### Whole process (start to exit), median of ${pairs} alternated pairs\n`);
    console.log('| run | images | wall s | images/s | × peer | CPU s | images per CPU-second | × peer, CPU |');
    console.log('|---|---|---|---|---|---|---|---|');
    const summary = (rs: WholeProcess[]) => {
      const seconds = median(rs.map((r) => r.seconds));
      const cpuSeconds = median(rs.map((r) => r.cpuSeconds));
      return {
        images: rs[0]!.images,
        seconds,
        cpuSeconds,
        rate: rs[0]!.images / seconds,
        cpuRate: rs[0]!.images / cpuSeconds,
      };
    };
    const whole: Record<string, unknown> = {};
    const row = (label: string, r: ReturnType<typeof summary>, base?: ReturnType<typeof summary>) =>
      console.log(
        `| ${label} | ${r.images} | ${r.seconds.toFixed(2)} | ${r.rate.toFixed(1)} | ${base ? (r.rate / base.rate).toFixed(2) : '–'} | ` +
          `${r.cpuSeconds.toFixed(2)} | ${r.cpuRate.toFixed(1)} | ${base ? (r.cpuRate / base.cpuRate).toFixed(2) : '–'} |`,
      );
    for (const r of [cold, cached, rerun]) row(r.label, summary([r]));
    for (const [label, entry] of Object.entries(runs)) {
      const o = summary(entry.ours);
      const f = summary(entry.fast);
      const p = entry.peer.length ? summary(entry.peer) : undefined;
      row(`cnn-codes extract, ${label}`, o, p);
      row(`cnn-codes extract --decode fast (near-exact), ${label}`, f, p);
      if (p) row(`Python peer (onnxruntime + PIL, ${CORES} processes, batch 16), ${label}`, p, p);
      whole[label] = {
        ours: entry.ours,
        peer: entry.peer,
        oursMedian: o,
        peerMedian: p,
        timesPeer: p && o.rate / p.rate,
        decodeFast: entry.fast,
        decodeFastMedian: f,
        decodeFastTimesPeer: p && f.rate / p.rate,
      };
    }
    for (const t of tutorials) {
      const base = Object.values(runs)[t === tutorials[0] ? 0 : 1]!.peer;
      row(
        `${t.label} (in its loop: ${t.inLoopSeconds!.toFixed(2)} s)`,
        summary([t]),
        base.length ? summary(base) : undefined,
      );
    }
    result.wholeProcess = { small: { cold, cached }, rerun, runs: whole, tutorials };
    if (!skip) result.versions = { node: process.version, ...Object.values(runs)[0]!.peer[0]!.versions };

    const stageRows = [await staged(`${files.length} images`, root), await staged(`×${scale}`, scaled)];
    console.log('\n### Stages, in process (extract() with the worker pool; stage times measured inside the workers)\n');
    console.log(
      '| data | images/s | decode+preprocess ms/image | inference ms/image | workers busy decoding / inferring / idle | first result after | peak RSS MiB |',
    );
    console.log('|---|---|---|---|---|---|---|');
    const stages: Array<Record<string, unknown>> = [];
    for (const r of stageRows) {
      const s = r.stats;
      const decode = perImage(s.decodeMs, s.images);
      const inferMs = perImage(s.inferMs, s.images);
      const rate = r.images / r.seconds;
      const capacity = s.workers * r.seconds * 1000;
      const share = (ms: number) => `${((100 * ms) / capacity).toFixed(0)} %`;
      const idle = capacity - s.decodeMs - s.inferMs;
      stages.push({
        label: r.label,
        imagesPerSecond: rate,
        decodeMs: decode,
        inferMs,
        stats: s,
        peakRssMiB: r.peakRssMiB,
      });
      console.log(
        `| ${r.label} | ${rate.toFixed(1)} | ${decode.toFixed(2)} | ${inferMs.toFixed(2)} | ` +
          `${share(s.decodeMs)} / ${share(s.inferMs)} / ${share(idle)} | ${s.firstResultMs?.toFixed(0)} ms (graph ${s.prepareMs.toFixed(0)} ms${s.preparedFromCache ? ', cached' : ', prepared'}, sessions ${s.readyMs.toFixed(0)} ms) | ${r.peakRssMiB.toFixed(0)} |`,
      );
    }
    for (const [label, entry] of Object.entries(runs)) {
      if (!entry.peer.length) continue;
      const decode = median(entry.peer.map((p) => p.decodeMsPerImage));
      const inferMs = median(entry.peer.map((p) => p.inferMsPerImage));
      console.log(
        `| Python peer, ${label} (wall ms in its workers) | ${(entry.peer[0]!.images / median(entry.peer.map((p) => p.inLoopSeconds!))).toFixed(1)} | ${decode.toFixed(2)} | ${inferMs.toFixed(2)} | | | |`,
      );
      stages.push({ label: `Python peer, ${label}`, decodeMs: decode, inferMs });
    }
    result.stages = stages;
    const naive = await naiveLoop(root, files);
    console.log(
      `| naive loop, ${naive.images} images (batch 1, one thread, no overlap, start-up not counted) | ${(naive.images / naive.seconds).toFixed(1)} | | | | | |`,
    );

    if (values.split) result.split = await splitTable(root);
    save();
    console.log(`\nload average after: ${load().join(' ')}`);
    console.log(`written: ${path.relative(REPO_ROOT, resultsFile)}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(xdg, { recursive: true, force: true });
  }
}

await main();
