/**
 * A re-run of `cnn-codes extract` on unchanged data, whole process (real binary), with the stat index against
 * `--verify` (every image read and hashed, every shard checksummed: what a re-run cost before the index) in the same
 * script. Data: hymenoptera train ×6 with distinct bytes (a JPEG comment per copy), ~1,470 images.
 *
 *   node dist/bench/rerun-extract.js [--copies 6] [--repeat 5]
 *   node dist/bench/rerun-extract.js --synthetic 100000   # N tiny distinct files, cached by a stand-in backbone
 *
 * With --synthetic the files are not images: a fully cached extract never decodes one, so the workspace is built in
 * this process by the core's extract with a stand-in embedder (codes from the bytes' hash), and the real binary then
 * re-runs over it. That is how the re-run is measured at 100 k files without 100 k inferences.
 * Writes bench/results/rerun-extract.json (rerun-extract-synthetic.json with --synthetic).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { STAMP_INDEX_FILE } from '../cli/local-deps.js';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { SqliteStampIndex } from '../core/adapters/sqlite-stamp-index.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../core/models/builtin.js';
import type { Embedder } from '../core/ports/embedder.js';
import { extract as extractCodes } from '../core/use-cases/extract.js';
import { HYMENOPTERA, REPO_ROOT, SHARED } from '../test/helpers/paths.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: {
    copies: { type: 'string', default: '6' },
    repeat: { type: 'string', default: '5' },
    synthetic: { type: 'string' },
  },
});
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');

/** A JPEG COM segment right after SOI: same pixels, different bytes. Other formats are copied once. */
function withComment(bytes: Buffer, text: string): Buffer | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  const body = Buffer.from(text);
  const segment = Buffer.concat([Buffer.from([0xff, 0xfe, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  return Buffer.concat([bytes.subarray(0, 2), segment, bytes.subarray(2)]);
}

/** N distinct small files in 10 classes, and a workspace that already holds a code for each (stand-in backbone). */
async function makeSynthetic(dir: string, out: string, n: number): Promise<number> {
  const past = new Date(Date.now() - 60_000);
  for (let i = 0; i < n; i++) {
    const file = path.join(
      dir,
      i % 5 === 4 ? 'val' : 'train',
      `class${i % 10}`,
      `img${String(i).padStart(7, '0')}.jpg`,
    );
    if (i < 50) await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `synthetic image ${i}`);
    await utimes(file, past, past);
  }
  const model = { descriptor: BUILTIN_MODELS.find((m) => m.name === DEFAULT_MODEL)! };
  const dim = model.descriptor.cutPoints.final!.dim;
  const embedder: Embedder = {
    parallelism: 2,
    batchSize: 8,
    embedBatch: async (items) =>
      items.map((item) => ({
        id: item.id,
        codes: { final: new Float32Array(dim).fill(item.bytes[item.bytes.length - 1]!) },
      })),
    close: async () => {},
  };
  const workspace = new FsBlobStore(out);
  const stamps = new SqliteStampIndex(path.join(out, STAMP_INDEX_FILE));
  try {
    await extractCodes({
      data: new FsBlobStore(dir),
      workspace,
      features: new FeatureStore(workspace, 'codes', stamps),
      model,
      stamps,
      openEmbedder: async () => embedder,
    });
  } finally {
    stamps.close();
  }
  return n;
}

async function makeData(dir: string, copies: number): Promise<number> {
  let count = 0;
  const past = new Date(Date.now() - 60_000); // as files that were not written a moment ago
  for (const cls of ['ants', 'bees']) {
    const from = path.join(HYMENOPTERA, 'train', cls);
    for (const split of ['train', 'val']) await mkdir(path.join(dir, split, cls), { recursive: true });
    for (const name of (await readdir(from)).sort()) {
      const bytes = await readFile(path.join(from, name));
      for (let c = 0; c < copies; c++) {
        const copy = c === 0 ? bytes : withComment(bytes, `copy ${c}`);
        if (!copy) continue;
        const file = path.join(dir, c % 5 === 4 ? 'val' : 'train', cls, `${c}-${name}`);
        await writeFile(file, copy);
        await utimes(file, past, past);
        count += 1;
      }
    }
  }
  return count;
}

/** Wall and CPU (user + system) seconds of the whole process: on a loaded machine, wall time waits for a core. */
function extract(data: string, out: string, extra: string[] = []): { seconds: number; cpu: number; embedded: number } {
  const timeFile = path.join(path.dirname(out), 'time.txt');
  const started = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%U %S', '-o', timeFile, process.execPath, BIN, 'extract', '--data', data, '--out', out, '--json', ...extra],
    {
      encoding: 'utf8',
      env: { ...process.env, CNN_CODES_SHARED: SHARED },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`extract failed: ${r.stderr}`);
  const [user, system] = spawnSync('tail', ['-n1', timeFile], { encoding: 'utf8' })
    .stdout.trim()
    .split(' ')
    .map(Number);
  return {
    seconds,
    cpu: user! + system!,
    embedded: (JSON.parse(r.stdout) as { extract: { embedded: number } }).extract.embedded,
  };
}

const result = startResult(values.synthetic ? 'rerun-extract-synthetic' : 'rerun-extract');
const root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-rerun-extract-'));
try {
  const data = path.join(root, 'data');
  const out = path.join(root, 'out');
  const images = values.synthetic
    ? await makeSynthetic(data, out, Number(values.synthetic))
    : await makeData(data, Number(values.copies));
  const first = extract(data, out);
  const repeat = Number(values.repeat);
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // Interleaved, so a change in the machine's load touches both alike.
  const stamped: Array<ReturnType<typeof extract>> = [];
  const verified: Array<ReturnType<typeof extract>> = [];
  for (let i = 0; i < repeat; i++) {
    stamped.push(extract(data, out));
    verified.push(extract(data, out, ['--verify']));
  }
  const row = (runs: Array<ReturnType<typeof extract>>) =>
    [med(runs.map((r) => r.seconds)), med(runs.map((r) => r.cpu))] as const;
  const [sWall, sCpu] = row(stamped);
  const [vWall, vCpu] = row(verified);
  const what = values.synthetic
    ? 'synthetic files, cached by a stand-in backbone'
    : `hymenoptera train ×${values.copies}, distinct bytes`;
  console.log(`${images} images (${what}); load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(
    `| extract on unchanged data, whole process (median of ${repeat}) | wall (s) | CPU (s) | CPU × --verify |`,
  );
  console.log('|---|---:|---:|---:|');
  console.log(
    `| first run of the binary (${first.embedded} embedded) | ${first.seconds.toFixed(2)} | ${first.cpu.toFixed(2)} | |`,
  );
  console.log(
    `| --verify (reads and hashes every image and shard: the old re-run) | ${vWall.toFixed(3)} | ${vCpu.toFixed(3)} | 1.00 |`,
  );
  console.log(
    `| re-run, stat index (reads no unchanged file) | ${sWall.toFixed(3)} | ${sCpu.toFixed(3)} | ${(sCpu / vCpu).toFixed(2)} |`,
  );
  const file = result.save({
    images,
    data: what,
    repeats: repeat,
    first,
    verify: { medianSeconds: vWall, medianCpuSeconds: vCpu },
    statIndex: { medianSeconds: sWall, medianCpuSeconds: sCpu },
  });
  console.log(`written: ${path.relative(REPO_ROOT, file)}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
