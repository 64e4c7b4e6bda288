/**
 * cnn-codes at scale, through the real binary: N distinct synthetic images (deterministic; JPEG and PNG, 48–176 px,
 * 10 classes) → extract → train → evaluate, with each phase's peak RSS, the index's size, the re-run time on unchanged
 * data, and a kill test inside the one extraction: SIGKILL at K points of its first half, each followed by a resume;
 * every process logs the content hashes it sends to the backbone (CNN_CODES_EMBED_LOG), so what each resume embeds
 * again is counted directly and held to 2 × workers × batch. The final codes are compared byte for byte with an
 * uninterrupted extraction of a seeded sample of the images. Beside it, bench/extract's ×4 hymenoptera set is
 * extracted in the same run (before and after), for the images/s ratio.
 *
 *   node dist/bench/scale.js [--n 2000] [--kills 5] [--seed 1] [--dir /tmp/cnn-codes-scale] [--keep]
 *                            [--workers N] [--batch-size N] [--reference-sample 2000] [--skip-compare]
 *
 * Images go to DIR/data-N (made once and reused while its marker matches N, the seed and the generator: a second
 * bench run does not regenerate them), the ×4 set to DIR/hymenoptera-x4; workspaces to DIR/ws-*, removed at the end
 * unless --keep. Prints tables and, from N = 1,000 up (CI's N = 40 check writes none), bench/results/scale-<N>.json
 * (bench/results-file.ts's envelope); exits non-zero if a check fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { readLocalManifest } from '../core/adapters/sqlite-manifest-index.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { mulberry32 } from '../core/heads/prng.js';
import { forEachConcurrent } from '../core/util/concurrency.js';
import { ENV } from '../contracts/cross-process.js';
import { HYMENOPTERA, REPO_ROOT, SHARED } from '../test/helpers/paths.js';
import { imageFiles, repeatedDataset } from './datasets.js';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    kills: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    dir: { type: 'string', default: path.join(tmpdir(), 'cnn-codes-scale') },
    keep: { type: 'boolean', default: false },
    workers: { type: 'string' },
    'batch-size': { type: 'string' },
    'reference-sample': { type: 'string', default: '2000' },
    'skip-compare': { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const KILLS = Number(values.kills);
const SEED = Number(values.seed);
const DIR = path.resolve(values.dir!);
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
// Ten classes, fewer at a tiny N so that every class has enough training images for 5-fold CV.
const CLASSES = Math.min(10, Math.max(2, Math.floor(N / 20)));
const pool = [
  ...(values.workers ? ['--workers', values.workers] : []),
  ...(values['batch-size'] ? ['--batch-size', values['batch-size']] : []),
];
const failures: string[] = [];
const check = (ok: boolean, what: string): void => void (ok || failures.push(what));

/** Bump when the images change, so a cached set made by another generator is made again. */
const GENERATOR = 2;
/** Per-pixel noise from one seeded table (a window at a random offset per image): no PRNG call per pixel. */
const NOISE = (() => {
  const random = mulberry32(0x5eed);
  return Uint8Array.from({ length: 1 << 16 }, () => Math.floor(random() * 60));
})();

/** Class k: a hue and a stripe frequency, plus per-image noise window, phase and size, so every file is distinct. */
async function generate(dataDir: string): Promise<void> {
  const marker = path.join(dataDir, '.generated');
  const stamp = `generator ${GENERATOR} seed ${SEED} n ${N}`;
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === stamp) return;
  await rm(dataDir, { recursive: true, force: true });
  const started = performance.now();
  await forEachConcurrent(
    Array.from({ length: N }, (_, i) => i),
    availableParallelism() * 2,
    async (i) => {
      const random = mulberry32(SEED * 1_000_003 + i);
      const label = i % CLASSES;
      const split = random() < 0.8 ? 'train' : 'val';
      const width = 48 + Math.floor(random() * 129);
      const height = 48 + Math.floor(random() * 129);
      const noise = Math.floor(random() * NOISE.length);
      const phase = random() * Math.PI * 2;
      const hue = [(label * 97) % 256, (label * 53 + 80) % 256, (label * 31 + 160) % 256];
      const frequency = (2 + label) * Math.PI;
      const pixels = Buffer.alloc(width * height * 3);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const stripe = Math.sin(((x + y) / width) * frequency + phase) > 0 ? 1 : 0.45;
          const at = (y * width + x) * 3;
          for (let c = 0; c < 3; c++)
            pixels[at + c] = Math.min(255, hue[c]! * stripe + NOISE[(noise + at + c) & 0xffff]!);
        }
      }
      const image = sharp(pixels, { raw: { width, height, channels: 3 } });
      const png = i % 4 === 0;
      const file = path.join(
        dataDir,
        split,
        `class${label}`,
        `img${String(i).padStart(7, '0')}.${png ? 'png' : 'jpg'}`,
      );
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await (png ? image.png({ compressionLevel: 1 }) : image.jpeg({ quality: 85 })).toBuffer());
    },
  );
  await writeFile(marker, stamp);
  console.log(`generated ${N} images in ${((performance.now() - started) / 1000).toFixed(0)} s into ${dataDir}`);
}

interface Timed {
  status: number | null;
  seconds: number;
  cpuSeconds: number;
  rssMiB: number;
  // The CLI's --json document: a different shape per command, read field by field below.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  stderr: string;
}

/** One CLI process under /usr/bin/time: wall and CPU seconds, peak RSS (worker threads included: one process). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Timed {
  const timeFile = path.join(DIR, `time-${process.pid}.txt`);
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, process.execPath, BIN, ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CNN_CODES_SHARED: SHARED, ...env },
  });
  const seconds = (performance.now() - started) / 1000;
  const [rssKiB, user, system] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, seconds, cpuSeconds: user! + system!, rssMiB: rssKiB! / 1024, json, stderr: r.stderr };
}

function mustSucceed(what: string, r: Timed): Timed {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r;
}

/** Peak RSS of a live process, from the kernel (VmHWM): read just before it is killed, when /usr/bin/time cannot say. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

interface Killed {
  lastDone: number;
  killed: boolean;
  exit: string;
  seconds: number;
  rssMiB: number;
}

/** Starts an extract and SIGKILLs it `extraSeconds` after its progress first reaches `atLeast` images. */
function killDuring(
  ws: string,
  data: string,
  atLeast: number,
  extraSeconds: number,
  embedLog: string,
): Promise<Killed> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'extract', '--data', data, '--out', ws, ...pool], {
    env: { ...process.env, CNN_CODES_SHARED: SHARED, [ENV.embedLog]: embedLog },
  });
  let lastDone = 0;
  let armed = false;
  let buffered = '';
  let tail = '';
  let rssMiB = 0;
  child.stderr.on('data', (chunk: Buffer) => {
    buffered += chunk;
    tail = (tail + chunk).slice(-1000);
    for (const match of buffered.matchAll(/extract (\d+)\/\d+/g)) lastDone = Math.max(lastDone, Number(match[1]));
    buffered = buffered.slice(-200);
    if (!armed && lastDone >= atLeast) {
      armed = true;
      setTimeout(() => {
        rssMiB = child.exitCode === null ? peakRssMiB(child.pid!) : 0;
        child.kill('SIGKILL');
      }, extraSeconds * 1000);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({
        lastDone,
        killed: signal === 'SIGKILL',
        exit: signal ?? `exit ${code}: ${tail}`,
        seconds: (performance.now() - started) / 1000,
        rssMiB,
      }),
    ),
  );
}

/** Rows in sound shards (those whose .json exists), per the shard files: what survived a kill. */
async function durableRows(ws: string): Promise<number> {
  let rows = 0;
  const codes = path.join(ws, 'codes');
  if (!existsSync(codes)) return 0;
  for (const entry of await readdir(codes, { recursive: true })) {
    if (entry.endsWith('.json') && entry.includes('/shards/'))
      rows += (JSON.parse(await readFile(path.join(codes, entry), 'utf8')) as { rows: string[] }).rows.length;
  }
  return rows;
}

/** An embed log: the pool's shape (its header) and the content hashes sent to the backbone, in order. */
function readEmbedLog(file: string): { inFlightBound: number; hashes: string[] } {
  if (!existsSync(file)) return { inFlightBound: 0, hashes: [] };
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const header = /# parallelism (\d+) batch (\d+)/.exec(lines.find((l) => l.startsWith('#')) ?? '');
  return {
    inFlightBound: header ? 2 * Number(header[1]) * Number(header[2]) : 0,
    hashes: lines.filter((l) => !l.startsWith('#')),
  };
}

/** The final-layer codes of the images `sample` names (content hashes), in that order, from a workspace. */
async function codesOf(ws: string, sample?: readonly string[]): Promise<Buffer> {
  const manifest = await readLocalManifest(ws);
  const ns = manifest.namespaces.final!;
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut: 'final' };
  const byHash = new Map(manifest.entries.map((e) => [e.contentHash, e.codes.final!]));
  const locations = (sample ?? manifest.entries.map((e) => e.contentHash)).map((h) => byHash.get(h)!);
  const codes = await new FeatureStore(new FsBlobStore(ws)).readCodes(info, locations);
  return Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength);
}

/** A seeded sample of the images, hard-linked into their own ImageFolder (same bytes, no copy). */
async function sampleOf(data: string, size: number, into: string): Promise<string> {
  const marker = path.join(into, '.sampled');
  const stamp = `generator ${GENERATOR} seed ${SEED} n ${N} sample ${size}`;
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === stamp) return into;
  await rm(into, { recursive: true, force: true });
  const files = imageFiles(data);
  const random = mulberry32(SEED + 99);
  const chosen = files.filter(() => random() < size / files.length);
  for (const rel of chosen) {
    await mkdir(path.join(into, path.dirname(rel)), { recursive: true });
    await link(path.join(data, rel), path.join(into, rel));
  }
  await writeFile(marker, stamp);
  return into;
}

/** bench/extract's ×4 set (hymenoptera, copy k with k zero bytes appended), made once under DIR. */
function hymenopteraTimesFour(): string {
  const into = path.join(DIR, 'hymenoptera-x4');
  if (!existsSync(path.join(into, '.made'))) {
    repeatedDataset(HYMENOPTERA, imageFiles(HYMENOPTERA), 4, into);
    spawnSync('touch', [path.join(into, '.made')]);
  }
  return into;
}

/** One cold extract of the ×4 set into a fresh workspace: images/s over the whole process, as bench/extract counts. */
async function extractTimesFour(data: string): Promise<{ images: number; seconds: number; cpuSeconds: number }> {
  const out = path.join(DIR, 'ws-x4');
  await rm(out, { recursive: true, force: true });
  const r = mustSucceed('×4 extract', cli(['extract', '--data', data, '--out', out, ...pool]));
  await rm(out, { recursive: true, force: true });
  return { images: r.json.extract.embedded, seconds: r.seconds, cpuSeconds: r.cpuSeconds };
}

async function bytesUnder(dir: string, filter: (name: string) => boolean): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true }))
    if (filter(entry)) total += (await stat(path.join(dir, entry))).size;
  return total;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const rate = (images: number, seconds: number): string => (images / seconds).toFixed(1);

await mkdir(DIR, { recursive: true });
const data = path.join(DIR, `data-${N}`);
const ws = path.join(DIR, 'ws-main');
const wsReference = path.join(DIR, 'ws-reference');
const logOf = (k: number) => path.join(DIR, `embed-log-${k}.txt`);
const benchStarted = performance.now();
const result = startResult(`scale-${N}`, { command: `node dist/bench/scale.js ${process.argv.slice(2).join(' ')}` });
try {
  await generate(data);
  for (const dir of [ws, wsReference]) await rm(dir, { recursive: true, force: true });
  for (let k = 0; k <= KILLS; k++) await rm(logOf(k), { force: true });
  const load = loadavg()[0]!.toFixed(1);
  const x4 = values['skip-compare'] ? undefined : hymenopteraTimesFour();
  const x4Before = x4 ? await extractTimesFour(x4) : undefined;

  // One extraction, killed K times in its first half and resumed each time; the last resume runs to the end.
  const segments: Killed[] = [];
  const durable: number[] = [];
  const random = mulberry32(SEED + 7);
  for (let k = 0; k < KILLS; k++) {
    // Kill k lands after progress passes (k + 1)/(2K) of the images (a plain progress line comes every 10 %), plus 0–3 s.
    const atLeast = Math.min(N - 1, Math.ceil(((k + 1) / (2 * KILLS)) * N));
    const killed = await killDuring(ws, data, atLeast, random() * 3, logOf(k));
    // Finishing before the kill landed (a small N) is a missed kill, not a fault; any other end is.
    check(killed.killed || killed.exit.startsWith('exit 0'), `kill ${k + 1}: the extraction failed (${killed.exit})`);
    segments.push(killed);
    durable.push(await durableRows(ws));
    check(
      durable.at(-1)! >= killed.lastDone,
      `kill ${k + 1}: ${durable.at(-1)} durable rows < ${killed.lastDone} reported done`,
    );
  }
  const final = mustSucceed(
    'extract (final resume)',
    cli(['extract', '--data', data, '--out', ws, ...pool], { [ENV.embedLog]: logOf(KILLS) }),
  );
  const logs = Array.from({ length: KILLS + 1 }, (_, k) => readEmbedLog(logOf(k)));
  const sent = new Set<string>();
  const resumes = logs.map((log, k) => {
    const again = k === 0 ? 0 : log.hashes.filter((h) => sent.has(h)).length;
    for (const h of log.hashes) sent.add(h);
    return { embeddedAgain: again, bound: logs[k - 1]?.inFlightBound ?? 0 };
  });
  resumes
    .slice(1)
    .forEach((r, k) =>
      check(
        r.embeddedAgain <= r.bound,
        `resume after kill ${k + 1} embedded ${r.embeddedAgain} images again (> ${r.bound})`,
      ),
    );
  check(
    sent.size === N - final.json.extract.rejected,
    `${sent.size} distinct images embedded, ${N - final.json.extract.rejected} expected`,
  );

  // Byte-identical to an uninterrupted run, on a seeded sample (all of it at a small N).
  const sampleSize = Math.min(N, Number(values['reference-sample']));
  const referenceData =
    sampleSize >= N ? data : await sampleOf(data, sampleSize, path.join(DIR, `sample-${sampleSize}-of-${N}`));
  const reference = mustSucceed(
    'reference extract',
    cli(['extract', '--data', referenceData, '--out', wsReference, ...pool]),
  );
  const referenceHashes = (await readLocalManifest(wsReference)).entries.map((e) => e.contentHash);
  const identical = (await codesOf(ws, referenceHashes)).equals(await codesOf(wsReference, referenceHashes));
  check(identical, 'codes after kills differ from the uninterrupted run');
  const x4After = x4 ? await extractTimesFour(x4) : undefined;

  const reExtract = [0, 1, 2].map(() => mustSucceed('re-extract', cli(['extract', '--data', data, '--out', ws])));
  check(
    reExtract.every((r) => r.json.extract.embedded === 0),
    're-extract embedded something',
  );
  const train = mustSucceed('train', cli(['train', '--out', ws]));
  const evaluate = mustSucceed('evaluate', cli(['evaluate', '--out', ws]));
  const reRun = [0, 1, 2].map(() => mustSucceed('re-run', cli(['run', '--data', data, '--out', ws])));
  check(
    reRun.every((r) => r.json.extract.embedded === 0 && r.json.head.reused && r.json.evaluation.reused),
    're-run redid work',
  );

  const manifestBytes = (await stat(path.join(ws, 'manifest.json'))).size;
  const indexBytes =
    (await stat(path.join(ws, 'index.sqlite'))).size +
    ((await stat(path.join(ws, 'index.sqlite-wal')).catch(() => undefined))?.size ?? 0);
  const shardJsonBytes = await bytesUnder(path.join(ws, 'codes'), (f) => f.endsWith('.json'));
  const npyBytes = await bytesUnder(path.join(ws, 'codes'), (f) => f.endsWith('.npy'));
  const shards = (await readdir(path.join(ws, 'codes'), { recursive: true })).filter((f) => f.endsWith('.npy')).length;
  const e = final.json.extract;
  const extractRss = Math.max(final.rssMiB, ...segments.map((k) => k.rssMiB));
  const extractSeconds = final.seconds + segments.reduce((sum, k) => sum + k.seconds, 0);
  const finalRate = e.embedded / final.seconds;
  console.log(
    `\n${N} images (${e.rejected} rejected), ${cpus().length} × ${describeCpu()}, load average ${load} at start`,
  );
  console.log('| step | wall (s) | CPU (s) | peak RSS (MiB) | notes |');
  console.log('|---|---:|---:|---:|---|');
  console.log(
    `| extract, ${KILLS} kills + resumes | ${extractSeconds.toFixed(1)} | – | ${extractRss.toFixed(0)} | ${rate(N, extractSeconds)} images/s over all ${KILLS + 1} processes |`,
  );
  console.log(
    `| extract, last resume alone | ${final.seconds.toFixed(1)} | ${final.cpuSeconds.toFixed(1)} | ${final.rssMiB.toFixed(0)} | ${e.embedded} embedded: ${finalRate.toFixed(1)} images/s whole process |`,
  );
  console.log(
    `| extract again, unchanged (median of 3) | ${median(reExtract.map((r) => r.seconds)).toFixed(2)} | ${median(reExtract.map((r) => r.cpuSeconds)).toFixed(2)} | ${median(reExtract.map((r) => r.rssMiB)).toFixed(0)} | 0 embedded, no image read |`,
  );
  console.log(
    `| train (C by 5-fold CV) | ${train.seconds.toFixed(1)} | ${train.cpuSeconds.toFixed(1)} | ${train.rssMiB.toFixed(0)} | CV accuracy ${(train.json.head.cv?.meanAccuracy * 100).toFixed(1)} % |`,
  );
  console.log(
    `| evaluate | ${evaluate.seconds.toFixed(1)} | ${evaluate.cpuSeconds.toFixed(1)} | ${evaluate.rssMiB.toFixed(0)} | val accuracy ${(evaluate.json.evaluation.metrics.accuracy * 100).toFixed(1)} % |`,
  );
  const reRunWall = median(reRun.map((r) => r.seconds));
  console.log(
    `| run again, unchanged (median of 3) | ${reRunWall.toFixed(2)} | ${median(reRun.map((r) => r.cpuSeconds)).toFixed(2)} | ${median(reRun.map((r) => r.rssMiB)).toFixed(0)} | head and evaluation kept (target ≤ 2 s) |`,
  );
  console.log(
    `\nindex: index.sqlite ${mib(indexBytes)} MiB (stamps + manifest entries), manifest.json ${(manifestBytes / 1024).toFixed(1)} KiB, shard .json ${mib(shardJsonBytes)} MiB; codes ${mib(npyBytes)} MiB in ${shards} shards`,
  );
  console.log(
    `peak RSS per phase (target ≤ 1024 MiB): extract ${extractRss.toFixed(0)}, train ${train.rssMiB.toFixed(0)}, evaluate ${evaluate.rssMiB.toFixed(0)} MiB`,
  );
  if (x4Before && x4After) {
    const x4Rate = (x4Before.images + x4After.images) / (x4Before.seconds + x4After.seconds);
    console.log(
      `\nextraction speed beside bench/extract's ×4 set (hymenoptera ×4, ${x4Before.images} images, cold extract, mean of a run before and after): ` +
        `${x4Rate.toFixed(1)} images/s (${rate(x4Before.images, x4Before.seconds)} / ${rate(x4After.images, x4After.seconds)}; CPU ${x4Before.cpuSeconds.toFixed(0)} / ${x4After.cpuSeconds.toFixed(0)} s); ` +
        `scale, last resume: ${finalRate.toFixed(1)} images/s = ${((finalRate / x4Rate) * 100).toFixed(0)} % of it (target ≥ 90 %)`,
    );
    // Wall time follows whatever else the machine runs; images per CPU second is the pair's cost, load or not.
    const x4PerCpu = (x4Before.images + x4After.images) / (x4Before.cpuSeconds + x4After.cpuSeconds);
    const finalPerCpu = e.embedded / final.cpuSeconds;
    console.log(
      `per CPU second: ×4 set ${x4PerCpu.toFixed(1)}, scale ${finalPerCpu.toFixed(1)} images = ${((finalPerCpu / x4PerCpu) * 100).toFixed(0)} %`,
    );
  }
  if (KILLS > 0) {
    console.log(
      '\n| kill | progress seen (images) | rows saved after SIGKILL | peak RSS (MiB) | embedded again by the resume | bound 2 × workers × batch |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|');
    segments.forEach((k, i) =>
      console.log(
        `| ${i + 1}${k.killed ? '' : ' (finished before the kill)'} | ${k.lastDone} | ${durable[i]} | ${k.killed ? k.rssMiB.toFixed(0) : '–'} | ${resumes[i + 1]!.embeddedAgain} | ${resumes[i + 1]!.bound} |`,
      ),
    );
  }
  console.log(
    `final codes byte-identical to an uninterrupted run (${referenceHashes.length} images${sampleSize < N ? ', seeded sample' : ''}): ${identical ? 'yes' : 'NO'}`,
  );
  console.log(
    `bench wall time ${((performance.now() - benchStarted) / 1000).toFixed(0)} s (reference extract ${reference.seconds.toFixed(0)} s)`,
  );
  const phase = (r: { seconds: number; cpuSeconds: number; rssMiB: number }) => ({
    seconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    rssMiB: r.rssMiB,
  });
  const medianOf = (runs: Array<{ seconds: number; cpuSeconds: number; rssMiB: number }>) => ({
    repeats: runs.length,
    medianSeconds: median(runs.map((r) => r.seconds)),
    medianCpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    medianRssMiB: median(runs.map((r) => r.rssMiB)),
  });
  if (N >= 1000)
    console.log(
      `written: ${result.save({
        n: N,
        rejected: e.rejected,
        kills: KILLS,
        extractWithKills: { seconds: extractSeconds, rssMiB: extractRss, processes: KILLS + 1 },
        lastResume: { ...phase(final), embedded: e.embedded },
        extractAgain: medianOf(reExtract),
        train: { ...phase(train), cvAccuracy: train.json.head.cv?.meanAccuracy as number | undefined },
        evaluate: { ...phase(evaluate), valAccuracy: evaluate.json.evaluation.metrics.accuracy as number },
        runAgain: medianOf(reRun),
        index: { indexBytes, manifestBytes, shardJsonBytes, npyBytes, shards },
        ...(x4Before && x4After
          ? {
              x4: {
                imagesPerSecond: (x4Before.images + x4After.images) / (x4Before.seconds + x4After.seconds),
                imagesPerCpuSecond: (x4Before.images + x4After.images) / (x4Before.cpuSeconds + x4After.cpuSeconds),
              },
            }
          : {}),
        killTest: {
          embeddedAgain: resumes.slice(1).map((r) => r.embeddedAgain),
          bound: resumes[1]?.bound,
          identical,
          referenceImages: referenceHashes.length,
        },
        benchSeconds: (performance.now() - benchStarted) / 1000,
      })}`,
    );
  if (failures.length > 0) {
    console.error(`FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
} finally {
  await rm(path.join(DIR, `time-${process.pid}.txt`), { force: true });
  if (!values.keep) {
    await rm(ws, { recursive: true, force: true });
    await rm(wsReference, { recursive: true, force: true });
  }
}
