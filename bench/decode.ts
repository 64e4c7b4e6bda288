/**
 * Every JPEG decode → Resize(256) → CenterCrop(224) path we could install from the npm registry, side by side with
 * PIL + torchvision (the tutorial's path, bench/decode_pil.py) in the same run: ms per image on one core, images/s on
 * two (one worker thread per core, each with `sharp.concurrency(1)`), and the distance of each crop to torchvision's
 * in 0–255 levels. Two sets: the hymenoptera JPEGs (mostly ~500×375) and large photos made from them (upscaled with
 * sharp to 4000×3000, 12 MP, re-encoded at quality 90: real photo content at a size where shrink-on-load matters).
 *
 * Writes bench/results/decode.json (commit, date, CPU, load before and after, versions, every figure).
 *
 *   node dist/bench/decode.js [--data DIR] [--large 16] [--rounds 2] [--only NAME,…]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import turbo from '@julusian/jpeg-turbo';
import { Transformer } from '@napi-rs/image';
import { decode as cwasmDecode } from '@cwasm/jpeg-turbo';
import jsquashDecode, { init as jsquashInit } from '@jsquash/jpeg/decode.js';
import jpegJs from 'jpeg-js';
import sharp from 'sharp';
import { planResizeAndCrop } from '../core/image/geometry.js';
import { readJpegHeader } from '../core/image/jpeg-header.js';
import { resizeAndCropRgb } from '../core/image/pil-resample.js';
import { configureSharpForWorker, decodeToRgb } from '../core/image/preprocess.js';
import { vipsJpeg } from '../core/image/vips-jpeg.js';
import { IMAGENET_PREPROCESS as SPEC } from '../core/models/builtin.js';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { HYMENOPTERA, PYTHON, REPO_ROOT } from '../test/helpers/paths.js';

interface Decoded {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * A candidate either decodes (then Pillow's resample makes the crop: WebAssembly SIMD, or with `simd: false` the
 * JavaScript loops) or produces the crop itself.
 */
type Candidate =
  | { decode: (bytes: Buffer) => Promise<Decoded> | Decoded; simd?: boolean }
  | { crop: (bytes: Buffer) => Promise<Uint8Array> };

const cwasmDecoded = (b: Buffer): Decoded => {
  const image = cwasmDecode(b);
  return { data: new Uint8Array(image.data.buffer), width: image.width, height: image.height, channels: 4 };
};

// jpeg-js comes last: its garbage, collected during the next candidate's timing, doubled that candidate's CPU figure.
const CANDIDATES: Record<string, Candidate> = {
  'sharp, as before (metadata(), then one pipeline)': { crop: (b) => decodeToRgb(b, SPEC, { decoder: 'sharp' }) },
  'sharp, header read in JS, sequentialRead': { crop: sharpTuned },
  'sharp decode to raw + Pillow resample': {
    decode: async (b) => {
      const { data, info } = await sharp(b, { sequentialRead: true, failOn: 'warning' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height, channels: info.channels };
    },
  },
  'libjpeg-turbo native (@julusian/jpeg-turbo, IFAST DCT) + Pillow resample': {
    decode: (b) => ({ ...turbo.decompressSync(b, { format: turbo.FORMAT_RGB }), channels: 3 }),
  },
  'mozjpeg WASM (@jsquash/jpeg) + Pillow resample': {
    decode: async (b) => {
      const image = await jsquashDecode(b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer);
      return { data: new Uint8Array(image.data.buffer), width: image.width, height: image.height, channels: 4 };
    },
  },
  'sharp decode to raw, ICC ignored + Pillow resample (SIMD)': {
    decode: async (b) => {
      const { data, info } = await sharp(b, { sequentialRead: true, failOn: 'warning', ignoreIcc: true })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height, channels: info.channels };
    },
  },
  'libjpeg-turbo WASM (@cwasm/jpeg-turbo) + Pillow resample in JS (the fast path before)': {
    decode: cwasmDecoded,
    simd: false,
  },
  'libjpeg-turbo WASM (@cwasm/jpeg-turbo) + Pillow resample (SIMD)': { decode: cwasmDecoded },
  '@napi-rs/image decode + Pillow resample': {
    decode: (b) => {
      const t = new Transformer(b);
      const { width, height } = t.metadataSync();
      const data = t.rawPixelsSync();
      return { data, width, height, channels: data.length / (width * height) };
    },
  },
  "libvips' JPEG loader called in-thread (C API through koffi, into a Node buffer) + Pillow resample (SIMD)": {
    decode: (b) => {
      const decoded = vipsJpeg()!.decode(b);
      if (!decoded) throw new Error('libvips rejected the JPEG');
      return decoded;
    },
  },
  'cnn-codes default (decodeToRgb: crop rows decoded in-thread into the resampler; libvips for the rest)': {
    crop: (b) => decodeToRgb(b, SPEC),
  },
  "cnn-codes, decoder sharp-raw (decodeToRgb: fast path decoded through sharp's pipeline, the default before)": {
    crop: (b) => decodeToRgb(b, SPEC, { decoder: 'sharp-raw' }),
  },
  'cnn-codes, decoder wasm (decodeToRgb: WebAssembly fast path, libvips for the rest)': {
    crop: (b) => decodeToRgb(b, SPEC, { decoder: 'wasm' }),
  },
  'cnn-codes --decode fast (decodeToRgb: scan check + @napi-rs/image, near-exact; the exact path for the rest)': {
    crop: (b) => decodeToRgb(b, { ...SPEC, decode: 'fast' }),
  },
  'jpeg-js (pure JS) + Pillow resample': {
    decode: (b) => ({ ...jpegJs.decode(b, { useTArray: true, formatAsRGBA: false }), channels: 3 }),
  },
};

async function sharpTuned(bytes: Buffer): Promise<Uint8Array> {
  const header = readJpegHeader(bytes)!;
  const plan = planResizeAndCrop(header.height, header.width, SPEC);
  return sharp(bytes, { sequentialRead: true, failOn: 'warning', ignoreIcc: true })
    .toColourspace('srgb')
    .resize(plan.resized[1], plan.resized[0], { fit: 'fill', kernel: SPEC.kernel, fastShrinkOnLoad: true })
    .extract(plan.crop)
    .raw()
    .toBuffer();
}

function toRgb({ data, channels }: Decoded): Uint8Array {
  if (channels === 3) return data;
  const out = new Uint8Array((data.length / channels) * 3);
  for (let i = 0, j = 0; i < data.length; i += channels, j += 3) {
    out[j] = data[i]!;
    out[j + 1] = data[i + 1]!;
    out[j + 2] = data[i + 2]!;
  }
  return out;
}

async function cropWith(candidate: Candidate, bytes: Buffer): Promise<Uint8Array> {
  if ('crop' in candidate) return candidate.crop(bytes);
  const decoded = await candidate.decode(bytes);
  const plan = planResizeAndCrop(decoded.height, decoded.width, SPEC);
  const channels = decoded.channels === 4 ? 4 : 3;
  const data = decoded.channels === 4 ? decoded.data : toRgb(decoded);
  return resizeAndCropRgb(
    { data, width: decoded.width, height: decoded.height, channels },
    plan.resized,
    plan.crop,
    'linear',
    { simd: candidate.simd ?? true },
  );
}

async function prepareCandidates(): Promise<void> {
  configureSharpForWorker();
  sharp.concurrency(1);
  sharp.cache(false);
  // Node has WebAssembly, but this project's TypeScript lib (ES2022, no DOM) does not declare it.
  const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<never> } }).WebAssembly;
  await jsquashInit(
    await wasm.compile(readFileSync(path.join(REPO_ROOT, 'node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'))),
  );
}

/** Every candidate once over a few images (WebAssembly tiers up, libraries load), then not timed. */
async function warmUp(names: string[], bytes: Buffer[]): Promise<void> {
  for (const name of names) for (const b of bytes.slice(0, 8)) await cropWith(CANDIDATES[name]!, b);
}

/** CPU time of this process (every thread: libvips works on libuv's), in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * CPU milliseconds per image for each candidate, one at a time in this process: CPU time, not wall time, because on
 * a shared, oversubscribed machine wall time mostly measures the scheduler. Candidates take turns image by image, and
 * the best of `rounds` passes counts. (In a worker, the other worker's CPU is counted too: there, read only the rates.)
 */
async function timeInterleaved(
  names: string[],
  files: string[],
  rounds: number,
  decodeOnly: boolean,
): Promise<Record<string, number>> {
  const bytes = files.map((f) => readFileSync(f));
  await warmUp(names, bytes);
  const best: Record<string, number> = Object.fromEntries(names.map((n) => [n, Number.POSITIVE_INFINITY]));
  for (let r = 0; r < rounds; r++) {
    const total: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    for (const b of bytes) {
      for (const name of names) {
        const candidate = CANDIDATES[name]!;
        const started = cpuMs();
        if (decodeOnly && 'decode' in candidate) await candidate.decode(b);
        else await cropWith(candidate, b);
        total[name]! += cpuMs() - started;
      }
    }
    for (const name of names) best[name] = Math.min(best[name]!, total[name]! / bytes.length);
  }
  return best;
}

if (!isMainThread) {
  const { name, files } = workerData as { name: string; files: string[] };
  await prepareCandidates();
  const bytes = files.map((f) => readFileSync(f));
  await warmUp([name], bytes);
  parentPort!.on('message', () => {
    void (async () => {
      for (const b of bytes) await cropWith(CANDIDATES[name]!, b);
      parentPort!.postMessage('done');
    })();
  });
  parentPort!.postMessage('ready');
} else {
  await main();
}

/**
 * Images/s on two cores, wall time: two worker threads, each over half the files, warmed up first, then started
 * together; the best of `rounds`. Wall time on a shared machine is noisy: compare rows of one run only.
 */
async function twoCores(name: string, files: string[], rounds: number): Promise<number> {
  const halves = [files.filter((_, i) => i % 2 === 0), files.filter((_, i) => i % 2 === 1)];
  const workers = halves.map((half) => new Worker(new URL(import.meta.url), { workerData: { name, files: half } }));
  const next = (w: Worker) =>
    new Promise<void>((resolve, reject) => (w.once('message', () => resolve()), w.once('error', reject)));
  try {
    await Promise.all(workers.map(next)); // warmed up
    let best = 0;
    for (let r = 0; r < rounds; r++) {
      const started = performance.now();
      const done = Promise.all(workers.map(next));
      for (const w of workers) w.postMessage('go');
      await done;
      best = Math.max(best, (files.length * 1000) / (performance.now() - started));
    }
    return best;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

interface Row {
  name: string;
  decodeMs?: number;
  pipelineMs: number;
  twoCoreRate: number;
  meanAbs: number;
  bias: number;
}

async function accuracy(name: string, files: string[], reference: Buffer): Promise<{ meanAbs: number; bias: number }> {
  const size = 224 * 224 * 3;
  let abs = 0;
  let signed = 0;
  for (let i = 0; i < files.length; i++) {
    const ours = await cropWith(CANDIDATES[name]!, readFileSync(files[i]!));
    for (let k = 0; k < size; k++) {
      const d = ours[k]! - reference[i * size + k]!;
      abs += Math.abs(d);
      signed += d;
    }
  }
  return { meanAbs: abs / (files.length * size), bias: signed / (files.length * size) };
}

function jpegFiles(root: string): string[] {
  const out: string[] = [];
  for (const split of ['train', 'val']) {
    for (const cls of readdirSync(path.join(root, split))) {
      for (const f of readdirSync(path.join(root, split, cls)))
        if (/\.jpe?g$/i.test(f)) out.push(path.join(root, split, cls, f));
    }
  }
  return out.sort();
}

/** 4000×3000 JPEGs made from the first `count` hymenoptera images, cached in the temp folder between runs. */
async function largePhotos(sources: string[], count: number): Promise<string[]> {
  const dir = path.join(tmpdir(), 'cnn-codes-bench-large-12mp');
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (const src of sources.slice(0, count)) {
    const file = path.join(dir, `${path.basename(src, path.extname(src))}.jpg`);
    if (!existsSync(file)) {
      writeFileSync(
        file,
        await sharp(src).resize(4000, 3000, { fit: 'fill', kernel: 'lanczos3' }).jpeg({ quality: 90 }).toBuffer(),
      );
    }
    out.push(file);
  }
  return out;
}

function pilBaseline(files: string[], rounds: number): { timings: Record<string, number>; crops: Buffer } {
  const list = path.join(tmpdir(), `cnn-codes-bench-decode-${process.pid}.txt`);
  const crops = `${list}.crops`;
  writeFileSync(list, files.join('\n'));
  const out = execFileSync(
    PYTHON,
    [path.join(REPO_ROOT, 'bench', 'decode_pil.py'), '--files', list, '--crops', crops, '--rounds', String(rounds)],
    {
      encoding: 'utf8',
    },
  );
  return { timings: JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>, crops: readFileSync(crops) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: HYMENOPTERA },
      large: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '2' },
      only: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const names = values.only
    ? Object.keys(CANDIDATES).filter((n) => values.only!.split(',').some((o) => n.includes(o)))
    : Object.keys(CANDIDATES);
  await prepareCandidates();
  const hymenoptera = jpegFiles(values.data!);
  const sets: Array<[string, string[]]> = [
    [`hymenoptera JPEGs (${hymenoptera.length}, mostly ~500×375)`, hymenoptera],
    [`large photos (${values.large}, 4000×3000 = 12 MP)`, await largePhotos(hymenoptera, Number(values.large))],
  ];
  const load = () => loadavg().map((l) => Number(l.toFixed(2)));
  const result: Record<string, unknown> = {
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim(),
    date: new Date().toISOString(),
    cpu: describeCpu(),
    loadBefore: load(),
    rounds,
    versions: { node: process.version, sharp: sharp.versions },
    sets: {},
  };
  console.log(`\nJPEG → Resize(256) → CenterCrop(224), ${describeCpu()}`);
  console.log(`load average before: ${load().join(' ')}; best of ${rounds} passes per figure`);
  for (const [label, files] of sets) {
    const pil = pilBaseline(files, rounds);
    const usable = names.filter((name) => {
      try {
        void cropWith(CANDIDATES[name]!, readFileSync(files[0]!)).catch(() => undefined);
        return true;
      } catch (err) {
        console.log(`${name}: failed (${err instanceof Error ? err.message : String(err)})`);
        return false;
      }
    });
    const decodeMs = await timeInterleaved(
      usable.filter((n) => 'decode' in CANDIDATES[n]!),
      files,
      rounds,
      true,
    );
    const pipelineMs = await timeInterleaved(usable, files, rounds, false);
    const rows: Row[] = [];
    for (const name of usable) {
      const twoCoreRate = await twoCores(name, files, rounds);
      rows.push({
        name,
        ...(decodeMs[name] ? { decodeMs: decodeMs[name] } : {}),
        pipelineMs: pipelineMs[name]!,
        twoCoreRate,
        ...(await accuracy(name, files, pil.crops)),
      });
    }
    const basePipeline = pil.timings['decode+resize+crop@1']!;
    (result.sets as Record<string, unknown>)[label] = { pil: pil.timings, rows };
    console.log(`\n### ${label}\n`);
    console.log(
      '| path | decode, CPU ms/image | decode → crop, CPU ms/image | images/s on 2 cores (wall) | × PIL (CPU per image) | mean abs Δ vs torchvision (levels) | mean Δ (bias) |',
    );
    console.log('|---|---|---|---|---|---|---|');
    console.log(
      `| PIL + torchvision (baseline, bench/decode_pil.py) | ${pil.timings['decode@1']!.toFixed(2)} | ${basePipeline.toFixed(2)} | ` +
        `${(1000 / pil.timings['decode+resize+crop@2']!).toFixed(0)} | 1.00 | 0 | 0 |`,
    );
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.decodeMs?.toFixed(2) ?? '–'} | ${r.pipelineMs.toFixed(2)} | ${r.twoCoreRate.toFixed(0)} | ` +
          `${(basePipeline / r.pipelineMs).toFixed(2)} | ${r.meanAbs.toFixed(3)} | ${r.bias.toFixed(3)} |`,
      );
    }
  }
  result.loadAfter = load();
  console.log(`\nload average after: ${load().join(' ')}`);
  const file = path.join(REPO_ROOT, 'bench', 'results', 'decode.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written: ${path.relative(REPO_ROOT, file)}`);
}
