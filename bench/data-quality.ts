/**
 * The data-quality views at scale, through the real binary with real extraction: N synthetic images with planted
 * problems → extract → train → evaluate, then what was found against what was planted.
 *
 *   node dist/bench/data-quality.js [--images 6000] [--dir /tmp/cnn-codes-dq] [--seed 1] [--keep]
 *   node dist/bench/data-quality.js --synthetic-codes --images 100000     # train + evaluate only, codes synthetic
 *   node dist/bench/data-quality.js --images 100000 --sides 128-256 --one-process   # one `cnn-codes run`
 *   node dist/bench/data-quality.js --data ../shared/data/hymenoptera_data --one-process   # a real set, nothing planted
 *   node dist/bench/data-quality.js --views-only --workspace WS --data DIR [--codes-only] --images N --sides 128-256
 *
 * --views-only reruns only the near-duplicate views on a workspace a run left (its codes and head.json; nothing is
 * extracted or trained): the train step's duplicate groups (core/use-cases/train-streamed.ts) and evaluate's
 * duplicates and leakage across splits with the map (core/use-cases/data-quality.ts), scored against DIR/.planted.json,
 * with the image signatures read afresh from DIR (--codes-only: without them, as where only codes exist). It writes
 * nothing into WS (its outputs go to a scratch folder) and records its seconds per view and its peak RSS under
 * "<row>: views" (or "<row>: views, codes only").
 *
 * Images (10 classes, 80 % train / 20 % val, 224–448 px, JPEG and PNG): a 2 × 2 mosaic of random crops of random
 * hymenoptera photos (mirrored half the time) with its class's motif on a square patch at a random place (a hue, a
 * stripe frequency and direction, at 90 % opacity), so distinct images have distinct codes (their own backgrounds)
 * while the class stays learnable (the motif). Planted:
 * - label flips: 3 % of train images are filed under another class than their motif's;
 * - leaks: 100 train images re-encoded (JPEG q60 at 80 % size) into val: leakage to flag;
 * - duplicates: 100 more train images re-encoded the same way beside their original: groups to keep in one fold.
 * Figures: flips among the top-k label issues (k = flips), planted leaks flagged with their original, planted groups
 * found (and so kept in one fold when CV is grouped), unplanted leakage, the temperature and ECE; each phase's wall,
 * CPU and peak RSS (one process each), the data-quality views' own seconds. Merges its figures into
 * bench/results/data-quality.json under the image count.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../core/features/feature-store.js';
import type { ManifestEntry } from '../core/features/manifest.js';
import { mulberry32 } from '../core/heads/prng.js';
import { forEachConcurrent } from '../core/util/concurrency.js';
import { HYMENOPTERA, REPO_ROOT, SHARED } from '../test/helpers/paths.js';
import { REENCODINGS } from '../test/helpers/planted-duplicates.js';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { readLocalManifest } from '../core/adapters/sqlite-manifest-index.js';
import {
  CANDIDATE_COSINE,
  NEAR_DUPLICATE_COSINE,
  nearDuplicateRule,
  SAME_PICTURE_BITS,
  type NearDuplicateRule,
} from '../core/quality/duplicates.js';
import { hammingDistance, imageSignaturesOf, signatureCount } from '../core/quality/image-signature.js';
import { qualityLayer } from '../core/quality/data-quality.js';
import { analyzeDataQuality } from '../core/use-cases/data-quality.js';
import { searchCachedDuplicates } from '../core/use-cases/train-streamed.js';
import { readHeadArtefact } from '../core/workspace/head-artefact.js';
import type { BlobStore } from '../core/ports/blob-store.js';
import { gaussian, putSyntheticManifest, syntheticNamespace } from './synthetic-codes.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '6000' },
    dir: { type: 'string', default: path.join(tmpdir(), 'cnn-codes-dq') },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    flips: { type: 'string', default: '0.03' },
    leaks: { type: 'string', default: '100' },
    duplicates: { type: 'string', default: '100' },
    'synthetic-codes': { type: 'boolean', default: false },
    dim: { type: 'string', default: '1280' },
    sides: { type: 'string', default: '224-448' },
    'one-process': { type: 'boolean', default: false },
    data: { type: 'string' },
    'views-only': { type: 'boolean', default: false },
    workspace: { type: 'string' },
    'codes-only': { type: 'boolean', default: false },
  },
});
const SYNTHETIC = values['synthetic-codes'] === true;
const N = Number(values.images);
const SEED = Number(values.seed);
const DIR = path.resolve(values.dir!);
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const CLASSES = 10;
const FLIP_RATE = Number(values.flips);
const LEAKS = Number(values.leaks);
const DUPLICATES = Number(values.duplicates);
/** Bump when the images change, so a set made by another generator is made again. */
const GENERATOR = 5;
/** Image sides drawn uniformly from this range (--sides MIN-MAX): small images make 100 k feasible to generate. */
const [MIN_SIDE, MAX_SIDE] = values.sides!.split('-').map(Number) as [number, number];
if (!(MIN_SIDE >= 32 && MAX_SIDE >= MIN_SIDE)) throw new Error(`--sides MIN-MAX, got ${values.sides}`);
/** --one-process: one `cnn-codes run` (extract → train → evaluate → data quality → report), its whole peak RSS. */
const ONE_PROCESS = values['one-process'] === true;
/** --data DIR: an ImageFolder as it is, nothing planted (the calibration and time figures of a real set). */
const REAL = values.data === undefined ? undefined : path.resolve(values.data);
/** The row of bench/results/data-quality.json this run writes. */
const ROW = REAL
  ? path.basename(REAL)
  : (SYNTHETIC ? `codes-${N}` : String(N)) + (values.sides === '224-448' ? '' : `-${values.sides}px`);
const SOURCE_SIDE = 256;
const resultsFile = path.join(REPO_ROOT, 'bench', 'results', 'data-quality.json');

interface Planted {
  flips: string[];
  /** val key → its train original. */
  leaks: Record<string, string>;
  /** train copy → its train original. */
  duplicates: Record<string, string>;
}

async function sourcePhotos(): Promise<Buffer[]> {
  const files: string[] = [];
  for (const split of ['train', 'val'])
    for (const cls of await readdir(path.join(HYMENOPTERA, split)))
      for (const f of await readdir(path.join(HYMENOPTERA, split, cls)))
        files.push(path.join(HYMENOPTERA, split, cls, f));
  const out: Buffer[] = [];
  for (const f of files.sort()) {
    const raw = await sharp(f, { pages: 1 })
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(SOURCE_SIDE, SOURCE_SIDE, { fit: 'cover' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer()
      .catch(() => undefined);
    if (raw && raw.length === SOURCE_SIDE * SOURCE_SIDE * 3) out.push(raw);
  }
  return out;
}

async function generate(dataDir: string): Promise<Planted> {
  const marker = path.join(dataDir, '.generated');
  const sides = MIN_SIDE === 224 && MAX_SIDE === 448 ? '' : ` sides ${MIN_SIDE}-${MAX_SIDE}`;
  const stamp = `generator ${GENERATOR} seed ${SEED} n ${N} flips ${FLIP_RATE} leaks ${LEAKS} duplicates ${DUPLICATES}${sides}`;
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === stamp)
    return JSON.parse(await readFile(path.join(dataDir, '.planted.json'), 'utf8')) as Planted;
  await rm(dataDir, { recursive: true, force: true });
  const started = performance.now();
  const photos = await sourcePhotos();
  const planted: Planted = { flips: [], leaks: {}, duplicates: {} };
  const trainKeys: Array<{ key: string; file: string; flipped: boolean }> = [];
  await forEachConcurrent(
    Array.from({ length: N }, (_, i) => i),
    availableParallelism() * 2,
    async (i) => {
      const random = mulberry32(SEED * 1_000_003 + i);
      const label = i % CLASSES;
      const split = random() < 0.8 ? 'train' : 'val';
      const flipped = split === 'train' && random() < FLIP_RATE;
      const filed = flipped ? (label + 1 + Math.floor(random() * (CLASSES - 1))) % CLASSES : label;
      const side = MIN_SIDE + Math.floor(random() * (MAX_SIDE - MIN_SIDE + 1));
      // A 2 × 2 mosaic of crops of four random photos: distinct images share no background.
      const tiles = Array.from({ length: 4 }, () => {
        const crop = Math.floor(SOURCE_SIDE * (0.3 + 0.4 * random()));
        return {
          photo: photos[Math.floor(random() * photos.length)]!,
          crop,
          x: Math.floor(random() * (SOURCE_SIDE - crop + 1)),
          y: Math.floor(random() * (SOURCE_SIDE - crop + 1)),
          mirror: random() < 0.5,
        };
      });
      const phase = random() * Math.PI * 2;
      const hue = [(label * 97) % 256, (label * 53 + 80) % 256, (label * 31 + 160) % 256];
      const frequency = (3 + label) * Math.PI;
      const half = side / 2;
      const patchSide = Math.floor(side * (0.55 + 0.25 * random()));
      const patch = {
        side: patchSide,
        x: Math.floor(random() * (side - patchSide)),
        y: Math.floor(random() * (side - patchSide)),
      };
      const pixels = Buffer.alloc(side * side * 3);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const tile = tiles[(y < half ? 0 : 2) + (x < half ? 0 : 1)]!;
          const [u, v] = [(x % half) / half, (y % half) / half];
          const sx = tile.x + Math.floor((tile.mirror ? 1 - u : u) * (tile.crop - 1));
          const sy = tile.y + Math.floor(v * (tile.crop - 1));
          // The motif, on a square patch only: the class's hue in stripes, diagonal for even classes, anti-diagonal
          // for odd ones; the rest of the image is background.
          const inPatch = x >= patch.x && x < patch.x + patch.side && y >= patch.y && y < patch.y + patch.side;
          const along = label % 2 === 0 ? x + y : x - y + side;
          const stripe = Math.sin((along / side) * frequency + phase) > 0 ? 1 : 0.3;
          const alpha = inPatch ? 0.9 : 0;
          const at = (y * side + x) * 3;
          const from = (sy * SOURCE_SIDE + sx) * 3;
          for (let c = 0; c < 3; c++)
            pixels[at + c] = Math.round((1 - alpha) * tile.photo[from + c]! + alpha * hue[c]! * stripe);
        }
      }
      const image = sharp(pixels, { raw: { width: side, height: side, channels: 3 } });
      const png = i % 4 === 0;
      const name = `img${String(i).padStart(7, '0')}.${png ? 'png' : 'jpg'}`;
      const file = path.join(dataDir, split, `class${filed}`, name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await (png ? image.png({ compressionLevel: 1 }) : image.jpeg({ quality: 85 })).toBuffer());
      const key = `${split}/class${filed}/${name}`;
      if (flipped) planted.flips.push(key);
      if (split === 'train') trainKeys.push({ key, file, flipped });
    },
  );
  // Leaks and duplicates: seeded picks among the train images whose label is right, the first LEAKS leak to val.
  const random = mulberry32(SEED);
  const candidates = trainKeys.filter((t) => !t.flipped).sort((a, b) => a.key.localeCompare(b.key));
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  const reencode = async (source: string, encoding: (typeof REENCODINGS)[number], target: string) => {
    const width = (await sharp(source).metadata()).width!;
    await mkdir(path.dirname(target), { recursive: true });
    await encoding.apply(sharp(source), width).toFile(target);
  };
  for (const [n, t] of candidates.slice(0, LEAKS + DUPLICATES).entries()) {
    const leak = n < LEAKS;
    const cls = t.key.split('/')[1]!;
    const base = path.basename(t.file);
    const copy = leak
      ? { key: `val/${cls}/${base}.leak.jpg`, encoding: REENCODINGS[0]! }
      : { key: `train/${cls}/${base}.dup.jpg`, encoding: REENCODINGS[0]! };
    await reencode(t.file, copy.encoding, path.join(dataDir, copy.key));
    (leak ? planted.leaks : planted.duplicates)[copy.key] = t.key;
  }
  planted.flips.sort();
  await writeFile(path.join(dataDir, '.planted.json'), JSON.stringify(planted));
  await writeFile(marker, stamp);
  console.log(`generated ${N} images in ${((performance.now() - started) / 1000).toFixed(0)} s into ${dataDir}`);
  return planted;
}

/**
 * --synthetic-codes: a workspace as extract leaves it, without images: N codes (ReLU'd class centres + noise, 10
 * classes, 80 % train), the same plants made in code space (flips: the label of 3 % of train; leaks and duplicates:
 * a train row plus noise of 0.05–0.25 of the signal's scale), for the train and evaluate steps at sizes whose real
 * extraction does not fit the time at hand.
 */
async function syntheticWorkspace(dir: string): Promise<Planted> {
  const dim = Number(values.dim);
  const workspace = new FsBlobStore(dir);
  const features = new FeatureStore(workspace);
  const ns = syntheticNamespace(dim);
  const random = mulberry32(SEED);
  const gauss = gaussian(random);
  const centres = Array.from({ length: CLASSES }, () => Float32Array.from({ length: dim }, () => 0.5 * gauss()));
  const planted: Planted = { flips: [], leaks: {}, duplicates: {} };
  const rows: Array<{ key: string; split: string; label: number; code: Float32Array }> = [];
  const trainRows: number[] = [];
  const copies = LEAKS + DUPLICATES;
  for (let i = 0; i < N - copies; i++) {
    const label = i % CLASSES;
    const split = random() < 0.8 ? 'train' : 'val';
    const flipped = split === 'train' && random() < FLIP_RATE;
    const filed = flipped ? (label + 1 + Math.floor(random() * (CLASSES - 1))) % CLASSES : label;
    const code = Float32Array.from(centres[label]!, (c) => Math.max(0, c + gauss()));
    const key = `${split}/class${filed}/img${String(i).padStart(7, '0')}.jpg`;
    if (flipped) planted.flips.push(key);
    else if (split === 'train') trainRows.push(rows.length);
    rows.push({ key, split, label: filed, code });
  }
  for (let c = 0; c < copies; c++) {
    const original = rows[trainRows[Math.floor(random() * trainRows.length)]!]!;
    const leak = c < LEAKS;
    const noise = 0.05 + 0.2 * random();
    const code = Float32Array.from(original.code, (v) => Math.max(0, v + noise * gauss()));
    const key = `${leak ? 'val' : 'train'}/${original.key.split('/')[1]}/copy${c}.jpg`;
    (leak ? planted.leaks : planted.duplicates)[key] = original.key;
    rows.push({ key, split: leak ? 'val' : 'train', label: original.label, code });
  }
  const entries: ManifestEntry[] = [];
  const SHARD = 1024;
  for (let start = 0; start < rows.length; start += SHARD) {
    const part = rows.slice(start, start + SHARD);
    const hashes = part.map((_, r) => `image-${start + r}-`.padEnd(64, 'x'));
    const X = new Float32Array(part.length * dim);
    part.forEach((r, i) => X.set(r.code, i * dim));
    const shard = await features.writeShard(ns, hashes, X, []);
    part.forEach((r, row) =>
      entries.push({
        key: r.key,
        split: r.split,
        label: r.label,
        contentHash: hashes[row]!,
        codes: { final: { shard, row } },
      }),
    );
  }
  await putSyntheticManifest(
    workspace,
    ns,
    Array.from({ length: CLASSES }, (_, c) => `class${c}`),
    entries,
  );
  planted.flips.sort();
  return planted;
}

interface Timed {
  status: number | null;
  seconds: number;
  cpuSeconds: number;
  rssMiB: number;
  stderr: string;
  /** [seconds since start, RSS MiB], once a second. */
  samples: Array<[number, number]>;
}

/**
 * One CLI process under /usr/bin/time: wall and CPU seconds, peak RSS; and its RSS once a second (also written to
 * DIR/rss-COMMAND-ROW.tsv), to see which step holds the memory.
 */
async function cli(args: string[]): Promise<Timed> {
  const timeFile = path.join(DIR, `time-${process.pid}.txt`);
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, process.execPath, BIN, ...args, '--json'], {
    env: { ...process.env, CNN_CODES_SHARED: SHARED },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-64 * 1024);
  });
  const samples: Array<[number, number]> = [];
  const sampler = setInterval(() => {
    const rss = childRssKiB(child.pid!);
    if (rss !== undefined) samples.push([Math.round((performance.now() - started) / 1000), Math.round(rss / 1024)]);
  }, 1000);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  await writeFile(
    path.join(DIR, `rss-${args[0]}-${ROW}.tsv`),
    ['seconds\trssMiB', ...samples.map((p) => p.join('\t'))].join('\n') + '\n',
  );
  if (status !== 0) throw new Error(`cnn-codes ${args[0]} exited ${status}: ${stderr.slice(-2000)}`);
  const [rssKiB, user, system] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { status, seconds, cpuSeconds: user! + system!, rssMiB: rssKiB! / 1024, stderr, samples };
}

/** VmRSS of the process /usr/bin/time started (its only child). */
function childRssKiB(timePid: number): number | undefined {
  try {
    const child = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(' ')[0];
    const status = readFileSync(`/proc/${child}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  } catch {
    return undefined;
  }
}

const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;
const version = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout.trim();

/** Planted copies found: leaks flagged with their original, duplicates in their original's group. */
function scorePlanted(
  planted: Planted,
  leakage: ReadonlyArray<{ key: string; trainKeys: string[] }>,
  trainGroups: ReadonlyArray<readonly string[]>,
) {
  const leakOf = new Map(leakage.map((l) => [l.key, l.trainKeys]));
  const leaksFound = Object.entries(planted.leaks).filter(([copy, original]) => leakOf.get(copy)?.includes(original));
  const groupOf = new Map<string, number>();
  trainGroups.forEach((g, i) => g.forEach((key) => groupOf.set(key, i)));
  const together = Object.entries(planted.duplicates).filter(
    ([copy, original]) => groupOf.has(copy) && groupOf.get(copy) === groupOf.get(original),
  );
  const found = new Set([...leaksFound, ...together].map(([copy]) => copy));
  return {
    leaksFound,
    unplantedLeaks: leakage.filter((l) => !(l.key in planted.leaks)).length,
    together,
    largestGroup: Math.max(0, ...trainGroups.map((g) => g.length)),
    missedLeaks: Object.entries(planted.leaks).filter(([copy]) => !found.has(copy)),
    missedDuplicates: Object.entries(planted.duplicates).filter(([copy]) => !found.has(copy)),
  };
}

/** Merges one row into bench/results/data-quality.json with the envelope (commit, CPU flags, load, versions). */
async function writeRow(row: string, command: string, load: { before: number[]; after: number[] }, body: object) {
  await mkdir(path.dirname(resultsFile), { recursive: true });
  const previous = existsSync(resultsFile)
    ? await readJson<{ runs: Record<string, unknown> }>(resultsFile)
    : { runs: {} as Record<string, unknown> };
  previous.runs[row] = {
    commit: version('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']),
    // The results file itself is not the code measured: a second run in one checkout would otherwise say dirty.
    dirty:
      version('git', [
        '-C',
        REPO_ROOT,
        'status',
        '--porcelain',
        '--untracked-files=no',
        '--',
        '.',
        ':!bench/results',
      ]) !== '',
    date: new Date().toISOString(),
    cpu: { model: cpus()[0]?.model ?? 'CPU', cores: cpus().length, flags: describeCpu() },
    load,
    versions: { node: process.version, sharp: sharp.versions.sharp, libvips: sharp.versions.vips },
    command,
    ...body,
  };
  await writeFile(resultsFile, JSON.stringify(previous, null, 2) + '\n');
  // Formatted as the repository formats JSON, so a run's diff is its figures.
  spawnSync(process.execPath, [
    path.join(REPO_ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    '--write',
    resultsFile,
  ]);
  console.log(`wrote ${path.relative(REPO_ROOT, resultsFile)}`);
}

/**
 * A BlobStore that reads `base` and writes `scratch` (reading back what it wrote there first): the views rerun on a
 * workspace without touching it.
 */
function overlay(base: FsBlobStore, scratch: FsBlobStore): BlobStore {
  return {
    location: base.location,
    get: async (key) => ((await scratch.exists(key)) ? scratch.get(key) : base.get(key)),
    getJson: async <T>(key: string) => ((await scratch.exists(key)) ? scratch.getJson<T>(key) : base.getJson<T>(key)),
    put: (key, body) => scratch.put(key, body),
    putIfAbsent: (key, body) => scratch.putIfAbsent(key, body),
    exists: async (key) => (await scratch.exists(key)) || base.exists(key),
    list: (prefix, options) => base.list(prefix, options),
    delete: (key) => scratch.delete(key),
  };
}

/** --views-only: the near-duplicate views on an existing workspace, scored against the planted copies. */
async function viewsOnly(): Promise<void> {
  if (!values.workspace || !values.data) throw new Error('--views-only needs --workspace WS and --data DIR');
  const wsDir = path.resolve(values.workspace);
  const data = path.resolve(values.data);
  const byImage = values['codes-only'] !== true;
  const planted = await readJson<Planted>(path.join(data, '.planted.json'));
  const scratch = path.join(DIR, `views-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const loadBefore = loadavg().map((l) => Number(l.toFixed(2)));
  const base = new FsBlobStore(wsDir);
  const workspace = overlay(base, new FsBlobStore(scratch));
  const features = new FeatureStore(base);
  const clock = () => {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    return () => ({
      wallSeconds: round((performance.now() - wall) / 1000),
      cpuSeconds: round((process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1e6),
    });
  };
  const read = clock();
  const manifest = await readLocalManifest(wsDir);
  const artefact = (await readHeadArtefact(base))!;
  const manifestSeconds = read();
  const layer = qualityLayer(manifest.namespaces, artefact.layer);
  const ns = manifest.namespaces[layer]!;
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut: layer };
  const train = manifest.entries.filter((e) => e.split === 'train');
  const dataStore = new FsBlobStore(data);
  // Train: signatures (decoded, none cached), then the train step's search and groups.
  const signing = clock();
  const trainSignatures = byImage ? await imageSignaturesOf({ data: dataStore, workspace }, train) : undefined;
  const trainSignatureSeconds = signing();
  const trainClock = clock();
  const rule = nearDuplicateRule(trainSignatures);
  const bits = trainSignatures ? signatureDistances(train, planted, rule) : undefined;
  const trainFound = await searchCachedDuplicates(features, info, train, bits?.rule ?? rule);
  const trainSeconds = trainClock();
  const trainGroups = trainFound.duplicates.map((g) => g.map((i) => train[i]!.key));
  // Evaluate: every split's signatures (train's now cached), near duplicates, leakage and the map.
  const evalClock = clock();
  const { quality } = await analyzeDataQuality(
    { workspace, features, ...(byImage ? { data: dataStore } : {}) },
    manifest,
    { ...artefact, quality: { ...artefact.quality!, duplicates: trainGroups, confirmedByImage: byImage } },
  );
  const evalSeconds = evalClock();
  const loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
  const found = scorePlanted(planted, quality.leakage, trainGroups);
  const missedCosines = await cosinesToOriginal([...found.missedLeaks, ...found.missedDuplicates], wsDir);
  const leaks = Object.keys(planted.leaks).length;
  const duplicates = Object.keys(planted.duplicates).length;
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const body = {
    workspace: wsDir,
    images: manifest.entries.length,
    train: train.length,
    rule: byImage
      ? `cosine ≥ ${CANDIDATE_COSINE} and image signatures ≤ ${SAME_PICTURE_BITS} bits apart (codes alone, ≥ ${NEAR_DUPLICATE_COSINE}, for images without one)`
      : `codes alone: cosine ≥ ${NEAR_DUPLICATE_COSINE}`,
    signatures: trainSignatures
      ? { train: signatureCount(trainSignatures), of: train.length, bitsApart: bits!.summary() }
      : null,
    leakage: {
      planted: leaks,
      flagged: found.leaksFound.length,
      recall: found.leaksFound.length / Math.max(1, leaks),
      unplanted: found.unplantedLeaks,
      flaggedInAll: quality.leakage.length,
    },
    duplicates: {
      planted: duplicates,
      inOneGroup: found.together.length,
      recall: found.together.length / Math.max(1, duplicates),
      groups: trainGroups.length,
      largestGroup: found.largestGroup,
      groupsAllSplits: quality.duplicates.length,
      largestGroupAllSplits: Math.max(0, ...quality.duplicates.map((g) => g.length)),
    },
    missed: {
      leaks: found.missedLeaks.map(([copy]) => copy),
      duplicates: found.missedDuplicates.map(([copy]) => copy),
      cosineToOriginal: missedCosines,
    },
    views: {
      'read manifest and head.json': manifestSeconds,
      ...(byImage ? { 'train: image signatures of train (decoded, none cached)': trainSignatureSeconds } : {}),
      'train: near-duplicate search + neighbour similarity (cell search)': trainSeconds,
      [`evaluate: ${byImage ? 'signatures of the other splits, ' : ''}near duplicates + leakage across splits, and the map`]:
        evalSeconds,
    },
    peakRssMiB,
  };
  console.log(JSON.stringify(body, null, 2));
  // The row of the run that left the workspace (`--images N --sides …`), not of --data's folder name.
  const row = `${N}${values.sides === '224-448' ? '' : `-${values.sides}px`}: views${byImage ? '' : ', codes only'}`;
  await writeRow(
    row,
    `node dist/bench/data-quality.js --views-only --workspace ${wsDir} --data ${data} --images ${N}${values.sides === '224-448' ? '' : ` --sides ${values.sides}`}${byImage ? '' : ' --codes-only'}`,
    { before: loadBefore, after: loadAfter },
    body,
  );
  if (values.keep) console.log(`kept ${scratch} (data-quality.json, image-signatures.json)`);
  else await rm(scratch, { recursive: true, force: true });
}

/**
 * The rule with every candidate pair the train step's search meets (cosine ≥ CANDIDATE_COSINE) counted by how many
 * bits its signatures differ in, planted copy and original apart from the rest (same bytes left out): the measured
 * separation behind SAME_PICTURE_BITS.
 */
function signatureDistances(
  train: ReadonlyArray<{ key: string; contentHash: string }>,
  planted: Planted,
  rule: NearDuplicateRule,
) {
  const rowOf = new Map(train.map((e, i) => [e.key, i]));
  const copies = new Set(
    Object.entries(planted.duplicates).map(([copy, original]) => {
      const [a, b] = [rowOf.get(copy)!, rowOf.get(original)!];
      return `${Math.min(a, b)},${Math.max(a, b)}`;
    }),
  );
  const planted64 = new Float64Array(65);
  const others64 = new Float64Array(65);
  const { signatures } = rule;
  const counting: NearDuplicateRule = {
    ...rule,
    accept: (i, j, cosine) => {
      if (signatures && signatures.present[i] === 1 && signatures.present[j] === 1) {
        const bitsApart = hammingDistance(signatures.bits, i, j);
        if (copies.has(`${i},${j}`)) planted64[bitsApart]!++;
        else if (train[i]!.contentHash !== train[j]!.contentHash) others64[bitsApart]!++;
      }
      return rule.accept!(i, j, cosine);
    },
  };
  const quantiles = (h: Float64Array) => {
    const total = h.reduce((a, b) => a + b, 0);
    const at = (q: number) => {
      let seen = 0;
      for (let b = 0; b < h.length; b++) if ((seen += h[b]!) >= q * total) return b;
      return h.length - 1;
    };
    return { pairs: total, min: at(0), p01: at(0.01), median: at(0.5), p99: at(0.99), max: at(1) };
  };
  return {
    rule: counting,
    summary: () => ({
      note: `candidate pairs met by the train step's search (cosine ≥ ${CANDIDATE_COSINE}; a pair is met if in the cells it shares), bits in which their signatures differ`,
      plantedCopies: quantiles(planted64),
      others: quantiles(others64),
      othersWithin: others64.slice(0, SAME_PICTURE_BITS + 1).reduce((a, b) => a + b, 0),
    }),
  };
}

/** Exact cosine of each pair's final-layer codes (rounded), as the search compares them. */
async function cosinesToOriginal(pairs: Array<[string, string]>, wsDir: string): Promise<number[]> {
  const manifest = pairs.length > 0 ? await readLocalManifest(wsDir) : undefined;
  const ns = manifest?.namespaces['final'];
  if (!manifest || !ns) return [];
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut: 'final' };
  const byKey = new Map(manifest.entries.map((e) => [e.key, e]));
  const codes = await new FeatureStore(new FsBlobStore(wsDir)).readCodes(
    info,
    pairs.flat().map((key) => byKey.get(key)!.codes['final']!),
  );
  const row = (i: number) => codes.subarray(i * ns.dim, (i + 1) * ns.dim);
  return pairs.map((_, p) => {
    const [a, b] = [row(2 * p), row(2 * p + 1)];
    let [ab, aa, bb] = [0, 0, 0];
    for (let t = 0; t < ns.dim; t++) [ab, aa, bb] = [ab + a[t]! * b[t]!, aa + a[t]! ** 2, bb + b[t]! ** 2];
    return round(ab / Math.sqrt(aa * bb));
  });
}

if (values['views-only']) {
  await mkdir(DIR, { recursive: true });
  await viewsOnly();
  process.exit(0);
}

await mkdir(DIR, { recursive: true });
const ws = path.join(DIR, `ws-${ROW}`);
await rm(ws, { recursive: true, force: true });
const loadBefore = loadavg().map((l) => Number(l.toFixed(2)));
const date = new Date().toISOString();
let planted: Planted;
let extract: (Timed & { estimated?: string }) | undefined;
let train: Timed | undefined;
let evaluate: Timed | undefined;
let whole: Timed | undefined;
const dataDir = SYNTHETIC ? undefined : (REAL ?? path.join(DIR, `data-${N}`));
if (!dataDir) {
  planted = await syntheticWorkspace(ws);
  // No images: the extraction a real run would spend, at the images/s of this bench's last real run.
  const real = await readJson<{
    runs: Record<string, { images: number; phases: { extract?: { wallSeconds: number } } }>;
  }>(path.join(REPO_ROOT, 'bench', 'results', 'data-quality.json')).catch(() => undefined);
  const measured = Object.values(real?.runs ?? {}).find((r) => r.phases?.extract);
  const perImage = measured ? measured.phases.extract!.wallSeconds / measured.images : 0;
  extract = {
    status: 0,
    seconds: perImage * N,
    cpuSeconds: 0,
    rssMiB: 0,
    stderr: '',
    samples: [],
    estimated: measured ? `${N} × ${perImage.toFixed(4)} s (the ${measured.images}-image real run)` : 'none',
  };
} else {
  planted = REAL ? { flips: [], leaks: {}, duplicates: {} } : await generate(dataDir);
  if (ONE_PROCESS) whole = await cli(['run', '--data', dataDir, '--out', ws]);
  else extract = await cli(['extract', '--data', dataDir, '--out', ws]);
}
if (!whole) {
  train = await cli(['train', '--out', ws]);
  evaluate = await cli(['evaluate', '--out', ws]);
}
const loadAfter = loadavg().map((l) => Number(l.toFixed(2)));

interface HeadFile {
  options: { C: number };
  trainedOn: number;
  cv: { wallSeconds?: number; engine?: string } | null;
  calibration?: { temperature: number; outOfFoldEce: [number, number] };
  quality: {
    duplicates: string[][];
    grouped: boolean;
    labelIssues: Array<{ key: string; suggested: string | null }>;
    searchSeconds?: number;
    signatureSeconds?: number;
  };
}
interface MetricsFile {
  metrics: { accuracy: number };
  timings: Record<string, number>;
  calibration?: { temperature: number; before: { ece: number }; after: { ece: number } };
}
interface QualityFile {
  duplicates: string[][];
  leakage: Array<{ key: string; trainKeys: string[] }>;
}
const head = await readJson<HeadFile>(path.join(ws, 'head.json'));
const metrics = await readJson<MetricsFile>(path.join(ws, 'metrics.json'));
const quality = await readJson<QualityFile>(path.join(ws, 'data-quality.json'));
const codeMap = await readJson<{ points: unknown[] }>(path.join(ws, 'code-map.json'));

const flips = new Set(planted.flips);
const k = flips.size;
const caught = head.quality.labelIssues.slice(0, k).filter((i) => flips.has(i.key)).length;
const scored = scorePlanted(planted, quality.leakage, head.quality.duplicates);
const { leaksFound, unplantedLeaks, together, largestGroup } = scored;
const missedLeaks = await missed(scored.missedLeaks);
const missedDuplicates = await missed(scored.missedDuplicates);

/**
 * Why planted copies were missed: each one's exact cosine to its original (final-layer codes, as the search compares
 * them), how many of those fall below the threshold (then no search could flag them) and how many originals are PNG
 * (lossless, so the JPEG q60 copy is their first lossy encoding) or small (under 160 px).
 */
async function missed(pairs: Array<[string, string]>) {
  const cosines = dataDir ? await cosinesToOriginal(pairs, ws) : [];
  if (cosines.length === 0) return { count: pairs.length };
  const widths = await Promise.all(
    pairs.map(async ([, original]) => (await sharp(path.join(dataDir!, original)).metadata()).width),
  );
  return {
    count: pairs.length,
    cosineToOriginal: [Math.min(...cosines), Math.max(...cosines)],
    belowThreshold: cosines.filter((c) => c < NEAR_DUPLICATE_COSINE).length,
    pngOriginals: pairs.filter(([, original]) => original.endsWith('.png')).length,
    originalsUnder160px: widths.filter((w) => w !== undefined && w < 160).length,
  };
}
const timed = (
  [
    ['extract', extract],
    ['train', train],
    ['evaluate', evaluate],
    ['run (extract → train → evaluate, one process)', whole],
  ] as Array<[string, Timed | undefined]>
).filter((p): p is [string, Timed] => p[1] !== undefined);
const runSeconds = timed.reduce((sum, [, t]) => sum + t.seconds, 0);
const searchSeconds = head.quality.searchSeconds ?? 0;
// The train step's signatures of its images serve only the near-duplicate rule: data quality's time too.
const signatureSeconds = head.quality.signatureSeconds ?? 0;
const dqSeconds = metrics.timings['dataQualitySeconds'] ?? 0;
const cpu = cpus()[0]?.model ?? 'CPU';

const leakCount = Object.keys(planted.leaks).length;
const duplicateCount = Object.keys(planted.duplicates).length;
const figures = {
  images: codeMap.points.length,
  train: head.trainedOn,
  planted: { flips: k, leaks: leakCount, duplicates: duplicateCount },
  labelIssues: { topK: k, caught, recall: caught / Math.max(1, k), flagged: head.quality.labelIssues.length },
  leakage: {
    planted: leakCount,
    flagged: leaksFound.length,
    recall: leaksFound.length / Math.max(1, leakCount),
    unplanted: unplantedLeaks,
    missed: missedLeaks,
  },
  duplicates: {
    planted: duplicateCount,
    inOneGroup: together.length,
    recall: together.length / Math.max(1, duplicateCount),
    missed: missedDuplicates,
    groupedFolds: head.quality.grouped,
    groups: head.quality.duplicates.length,
    largestGroup,
  },
  calibration: {
    temperature: head.calibration?.temperature ?? null,
    outOfFoldEce: head.calibration?.outOfFoldEce ?? null,
    valEce: metrics.calibration ? [metrics.calibration.before.ece, metrics.calibration.after.ece] : null,
  },
  valAccuracy: metrics.metrics.accuracy,
  mapPoints: codeMap.points.length,
  phases: Object.fromEntries(
    timed.map(([name, t]) => [
      name,
      { wallSeconds: round(t.seconds), cpuSeconds: round(t.cpuSeconds), peakRssMiB: Math.round(t.rssMiB) },
    ]),
  ),
  ...(whole ? { steps: stepsOf(whole) } : {}),
  views: {
    'train: image signatures of train (decoded, none cached)': round(signatureSeconds),
    'train: near-duplicate search + neighbour similarity (cell search)': round(searchSeconds),
    'train: CV with out-of-fold probabilities (all of CV)': round(head.cv?.wallSeconds ?? 0),
    'evaluate: near duplicates + leakage across splits, and the map': round(dqSeconds),
  },
  dataQualityShare: round((signatureSeconds + searchSeconds + dqSeconds) / runSeconds),
  runSeconds: round(runSeconds),
  peakRssMiB: Math.round(Math.max(...timed.map(([, t]) => t.rssMiB))),
};
/**
 * One process's steps: extraction's seconds (from metrics.json), the train step's near-duplicate search (head.json)
 * right after it, and the rest (CV, fit, evaluate, data quality, report), each with the highest RSS sampled within.
 */
function stepsOf(run: Timed) {
  const extractSeconds = metrics.timings['extractSeconds'] ?? 0;
  const spans: Array<[string, number, number]> = [
    ['extract', 0, extractSeconds],
    ['train: image signatures', extractSeconds, extractSeconds + signatureSeconds],
    [
      'train: near-duplicate search',
      extractSeconds + signatureSeconds,
      extractSeconds + signatureSeconds + searchSeconds,
    ],
    [
      'train CV and fit, evaluate, data quality, report',
      extractSeconds + signatureSeconds + searchSeconds,
      run.seconds,
    ],
  ];
  return Object.fromEntries(
    spans.map(([name, from, to]) => [
      name,
      {
        wallSeconds: round(to - from),
        peakRssMiB: Math.max(0, ...run.samples.filter(([t]) => t >= from && t <= to + 1).map(([, rss]) => rss)),
      },
    ]),
  );
}
function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

console.log(
  `${figures.images} images, ${cpus().length} × ${cpu}; load ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after`,
);
console.log('| phase | wall s | CPU s | peak RSS MiB |');
console.log('|---|---:|---:|---:|');
for (const [name, p] of Object.entries(figures.phases))
  console.log(`| ${name} | ${p.wallSeconds} | ${p.cpuSeconds} | ${p.peakRssMiB} |`);
console.log('| view | wall s |');
console.log('|---|---:|');
for (const [name, s] of Object.entries(figures.views)) console.log(`| ${name} | ${s} |`);
console.log(
  `label flips in the top ${k}: ${caught} (${(100 * figures.labelIssues.recall).toFixed(1)} %); planted leaks flagged: ${leaksFound.length}/${leakCount} (${unplantedLeaks} other val images flagged); planted duplicates grouped with their original: ${together.length}/${duplicateCount} (folds grouped: ${head.quality.grouped}, largest group ${largestGroup}); temperature ${figures.calibration.temperature}, val ECE ${JSON.stringify(figures.calibration.valEce)}; val accuracy ${(100 * metrics.metrics.accuracy).toFixed(1)} %; data quality ${(100 * figures.dataQualityShare).toFixed(1)} % of the run; peak RSS ${figures.peakRssMiB} MiB`,
);

await writeRow(
  ROW,
  `node dist/bench/data-quality.js ${REAL ? `--data ${path.relative(REPO_ROOT, REAL)}` : `--images ${N}`}${SYNTHETIC ? ' --synthetic-codes' : ''}${values.sides === '224-448' ? '' : ` --sides ${values.sides}`}${ONE_PROCESS ? ' --one-process' : ''}`,
  { before: loadBefore, after: loadAfter },
  { date, ...(extract?.estimated ? { extraction: `estimated, not run: ${extract.estimated}` } : {}), ...figures },
);
if (!values.keep) await rm(ws, { recursive: true, force: true });
