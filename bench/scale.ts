/**
 * cnn-codes at scale, through the real binary: N distinct synthetic images (deterministic; JPEG and PNG, 64–400 px,
 * 10 classes) → extract → train → evaluate, with each process's peak RSS, the index's size, the re-run time on
 * unchanged data, and a kill test: SIGKILL at random points of one extraction, each followed by a re-run, then the
 * final codes compared byte for byte with the uninterrupted run's.
 *
 *   node dist/bench/scale.js [--n 2000] [--kills 5] [--seed 1] [--dir /tmp/cnn-codes-scale] [--keep] [--workers N] [--batch-size N]
 *
 * Images go to DIR/data-N (made once and reused while it holds N images; delete it or pass a new --dir); workspaces
 * to DIR/ws-*, removed at the end unless --keep. Prints a table; exits non-zero if a check fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { readLocalManifest } from '../core/adapters/sqlite-manifest-index.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { mulberry32 } from '../core/heads/prng.js';
import { forEachConcurrent } from '../core/use-cases/extract.js';
import { REPO_ROOT, SHARED } from '../test/helpers/paths.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    kills: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    dir: { type: 'string', default: path.join(tmpdir(), 'cnn-codes-scale') },
    keep: { type: 'boolean', default: false },
    workers: { type: 'string' },
    'batch-size': { type: 'string' },
  },
});
const N = Number(values.n);
const KILLS = Number(values.kills);
const DIR = path.resolve(values.dir!);
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
// Ten classes, fewer at a tiny N so that every class has enough training images for 5-fold CV.
const CLASSES = Math.min(10, Math.max(2, Math.floor(N / 20)));
const pool = [...(values.workers ? ['--workers', values.workers] : []), ...(values['batch-size'] ? ['--batch-size', values['batch-size']] : [])];
const failures: string[] = [];
const check = (ok: boolean, what: string): void => void (ok || failures.push(what));

/** Class k: a hue and a stripe frequency, plus per-image noise, position and size, so every file is distinct. */
async function generate(dataDir: string): Promise<void> {
  const marker = path.join(dataDir, '.generated');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === String(N)) return;
  await rm(dataDir, { recursive: true, force: true });
  const started = performance.now();
  await forEachConcurrent(Array.from({ length: N }, (_, i) => i), availableParallelism() * 2, async (i) => {
    const random = mulberry32(Number(values.seed) * 1_000_003 + i);
    const label = i % CLASSES;
    const split = random() < 0.8 ? 'train' : 'val';
    const width = 64 + Math.floor(random() * 337);
    const height = 64 + Math.floor(random() * 337);
    const pixels = Buffer.alloc(width * height * 3);
    const hue = [(label * 97) % 256, (label * 53 + 80) % 256, (label * 31 + 160) % 256];
    const frequency = 2 + label;
    const phase = random() * Math.PI * 2;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const stripe = Math.sin(((x + y) / width) * frequency * Math.PI + phase) > 0 ? 1 : 0.45;
        for (let c = 0; c < 3; c++) pixels[(y * width + x) * 3 + c] = Math.min(255, hue[c]! * stripe + random() * 60);
      }
    }
    const image = sharp(pixels, { raw: { width, height, channels: 3 } });
    const png = i % 4 === 0;
    const file = path.join(dataDir, split, `class${label}`, `img${String(i).padStart(7, '0')}.${png ? 'png' : 'jpg'}`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await (png ? image.png({ compressionLevel: 1 }) : image.jpeg({ quality: 85 })).toBuffer());
  });
  await writeFile(marker, String(N));
  console.log(`generated ${N} images in ${((performance.now() - started) / 1000).toFixed(0)} s into ${dataDir}`);
}

interface Timed {
  status: number | null;
  seconds: number;
  rssMiB: number;
  // The CLI's --json document: a different shape per command, read field by field below.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  stderr: string;
}

/** One CLI process under /usr/bin/time: wall seconds and peak RSS (worker threads included: one process). */
function cli(args: string[]): Timed {
  const timeFile = path.join(DIR, `time-${process.pid}.txt`);
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, BIN, ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CNN_CODES_SHARED: SHARED },
  });
  const seconds = (performance.now() - started) / 1000;
  const rssKiB = Number(spawnSync('tail', ['-n1', timeFile], { encoding: 'utf8' }).stdout.trim());
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, seconds, rssMiB: rssKiB / 1024, json, stderr: r.stderr };
}

function mustSucceed(what: string, r: Timed): Timed {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r;
}

/** Starts an extract and SIGKILLs it `extraSeconds` after its progress first reaches `atLeast` images. */
function killDuring(ws: string, data: string, atLeast: number, extraSeconds: number): Promise<{ lastDone: number; killed: boolean; exit: string }> {
  const child = spawn(process.execPath, [BIN, 'extract', '--data', data, '--out', ws, ...pool], { env: { ...process.env, CNN_CODES_SHARED: SHARED } });
  let lastDone = 0;
  let armed = false;
  let buffered = '';
  let tail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buffered += chunk;
    tail = (tail + chunk).slice(-1000);
    for (const match of buffered.matchAll(/extract (\d+)\/\d+/g)) lastDone = Math.max(lastDone, Number(match[1]));
    buffered = buffered.slice(-200);
    if (!armed && lastDone >= atLeast) {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), extraSeconds * 1000);
    }
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ lastDone, killed: signal === 'SIGKILL', exit: signal ?? `exit ${code}: ${tail}` })));
}

const manifestOf = readLocalManifest;

/** Rows in sound shards (those whose .json exists), per the shard files: what survived a kill. */
async function durableRows(ws: string): Promise<number> {
  let rows = 0;
  const codes = path.join(ws, 'codes');
  if (!existsSync(codes)) return 0;
  for (const entry of await readdir(codes, { recursive: true })) {
    if (entry.endsWith('.json') && entry.includes('/shards/')) rows += (JSON.parse(await readFile(path.join(codes, entry), 'utf8')) as { rows: string[] }).rows.length;
  }
  return rows;
}

async function codesOf(ws: string): Promise<Buffer> {
  const manifest = await manifestOf(ws);
  const ns = manifest.namespaces.final!;
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut: 'final' };
  const codes = await new FeatureStore(new FsBlobStore(ws)).readCodes(info, manifest.entries.map((e) => e.codes.final!));
  return Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength);
}

async function bytesUnder(dir: string, filter: (name: string) => boolean): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true })) if (filter(entry)) total += (await stat(path.join(dir, entry))).size;
  return total;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

await mkdir(DIR, { recursive: true });
const data = path.join(DIR, `data-${N}`);
const ws = path.join(DIR, 'ws-reference');
const wsKilled = path.join(DIR, 'ws-killed');
try {
  await generate(data);
  await rm(ws, { recursive: true, force: true });
  await rm(wsKilled, { recursive: true, force: true });
  const load = loadavg()[0]!.toFixed(1);

  const extract = mustSucceed('extract', cli(['extract', '--data', data, '--out', ws, ...pool]));
  const reExtract = [0, 1, 2].map(() => mustSucceed('re-extract', cli(['extract', '--data', data, '--out', ws])));
  check(reExtract.every((r) => r.json.extract.embedded === 0), 're-extract embedded something');
  const train = mustSucceed('train', cli(['train', '--out', ws]));
  const evaluate = mustSucceed('evaluate', cli(['evaluate', '--out', ws]));
  const reRun = [0, 1, 2].map(() => mustSucceed('re-run', cli(['run', '--data', data, '--out', ws])));
  check(reRun.every((r) => r.json.extract.embedded === 0 && r.json.head.reused && r.json.evaluation.reused), 're-run redid work');

  const resumes: Array<{ lastDone: number; durable: number; embedded: number; missed?: boolean }> = [];
  if (KILLS > 0) {
    const random = mulberry32(Number(values.seed) + 7);
    let reached = 0;
    for (let k = 0; k < KILLS; k++) {
      // Kill points spread over the extraction: after progress passes a random share of what is left, plus up to 1 s.
      const atLeast = Math.min(N - 1, reached + Math.floor(random() * ((N - reached) / (KILLS - k + 1))) + 1);
      const killed = await killDuring(wsKilled, data, atLeast, random());
      const durable = await durableRows(wsKilled);
      // Finishing before the kill landed (a small N) is a missed kill, not a fault; any other end is.
      check(killed.killed || killed.exit.startsWith('exit 0'), `kill ${k}: the extraction failed (${killed.exit})`);
      check(durable >= killed.lastDone - 0, `kill ${k}: ${durable} durable rows < ${killed.lastDone} reported done`);
      reached = durable;
      resumes.push({ lastDone: killed.lastDone, durable, embedded: -1, missed: !killed.killed });
    }
    const final = mustSucceed('final extract', cli(['extract', '--data', data, '--out', wsKilled, ...pool]));
    resumes.push({ lastDone: N, durable: N, embedded: final.json.extract.embedded });
    check(final.json.extract.embedded === N - resumes.at(-2)!.durable, 'the resume re-embedded saved images');
    check((await codesOf(wsKilled)).equals(await codesOf(ws)), 'codes after kills differ from the uninterrupted run');
  }

  const manifestBytes = (await stat(path.join(ws, 'manifest.json'))).size;
  const indexBytes = (await stat(path.join(ws, 'index.sqlite'))).size;
  const shardJsonBytes = await bytesUnder(path.join(ws, 'codes'), (f) => f.endsWith('.json'));
  const npyBytes = await bytesUnder(path.join(ws, 'codes'), (f) => f.endsWith('.npy'));
  const shards = (await readdir(path.join(ws, 'codes'), { recursive: true })).filter((f) => f.endsWith('.npy')).length;
  const e = extract.json.extract;
  console.log(`\n${N} images (${e.rejected} rejected), ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${load} at start`);
  console.log('| step | wall (s) | peak RSS (MiB) | notes |');
  console.log('|---|---:|---:|---|');
  console.log(`| extract (cold) | ${extract.seconds.toFixed(1)} | ${extract.rssMiB.toFixed(0)} | ${e.imagesPerSecond.toFixed(1)} images/s whole process |`);
  console.log(`| extract again, unchanged (median of 3) | ${median(reExtract.map((r) => r.seconds)).toFixed(2)} | ${median(reExtract.map((r) => r.rssMiB)).toFixed(0)} | 0 embedded, no image read |`);
  console.log(`| train (C by 5-fold CV) | ${train.seconds.toFixed(1)} | ${train.rssMiB.toFixed(0)} | CV accuracy ${(train.json.head.cv?.meanAccuracy * 100).toFixed(1)} % |`);
  console.log(`| evaluate | ${evaluate.seconds.toFixed(1)} | ${evaluate.rssMiB.toFixed(0)} | val accuracy ${(evaluate.json.evaluation.metrics.accuracy * 100).toFixed(1)} % |`);
  console.log(`| run again, unchanged (median of 3) | ${median(reRun.map((r) => r.seconds)).toFixed(2)} | ${median(reRun.map((r) => r.rssMiB)).toFixed(0)} | head and evaluation kept |`);
  console.log(`\nindex: index.sqlite ${mib(indexBytes)} MiB, manifest.json ${mib(manifestBytes)} MiB, shard .json ${mib(shardJsonBytes)} MiB; codes ${mib(npyBytes)} MiB in ${shards} shards`);
  if (KILLS > 0) {
    console.log('\n| kill | progress seen (images) | rows saved after SIGKILL | re-run embeds |');
    console.log('|---:|---:|---:|---:|');
    resumes.slice(0, -1).forEach((r, k) => console.log(`| ${k + 1}${r.missed ? ' (finished before the kill)' : ''} | ${r.lastDone} | ${r.durable} | ${N - r.durable} |`));
    console.log(`final codes byte-identical to the uninterrupted run: ${failures.some((f) => f.startsWith('codes')) ? 'NO' : 'yes'}`);
  }
  if (failures.length > 0) {
    console.error(`FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
} finally {
  await rm(path.join(DIR, `time-${process.pid}.txt`), { force: true });
  if (!values.keep) {
    await rm(ws, { recursive: true, force: true });
    await rm(wsKilled, { recursive: true, force: true });
  }
}
