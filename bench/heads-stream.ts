/**
 * Out-of-core heads benchmark: one C fitted on synthetic float32 codes streamed from cache-format .npy shards, with
 * the process's peak RSS and wall time against the envelope (10 GB, 15 minutes). Not a test.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/heads-stream.js [--rows 1000000] [--dim 1280] [--classes 10] [--C 0.01]
 *                                                               [--dir DIR] [--keep]
 *   node dist/bench/heads-stream.js --tile DIR --copies 10     shards = 10 links to DIR/train_X.npy (the heads bench's
 *                                                              100k × 1280 set): 1M rows with no generation step
 *
 * Writes `shards/NNNNNN.npy` (65,536 rows each, float32, as the code cache stores them) and `labels.npy` under DIR
 * (default: <tmp>/cnn-codes-bench/stream-<rows>x<dim>; 1M × 1280 is 5.1 GB), fits in a child process so that its
 * RSS is the fit's alone, then deletes DIR unless --keep. The codes are the heads bench's generator (ReLU'd Gaussian
 * blobs, class means 0.1·N(0, 1)), drawn with mulberry32; a 10,000-row val set from the same distribution is scored.
 * --tile: when generating 5 GB is too slow (a loaded machine), the same rows ten times over give the same passes,
 * bytes read and memory as 1M distinct rows (the optimum is the 100k set's, so iterations match it); the file is then
 * read from the page cache rather than disk. The figures go to bench/results/heads-stream.json (bench/results-file.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npyRows, readNpyLabels } from '../core/adapters/npy-file-rows.js';
import { decodeNpy, encodeNpy } from '../core/features/npy.js';
import { loadHead } from '../core/heads/serialize.js';
import { fitStreamed } from '../core/heads/streamed-logistic.js';
import { startClock } from '../core/util/clock.js';
import { startResult } from './results-file.js';
import { syntheticCodes } from './synthetic-codes.js';

/** What the fitting child reports (and bench/results/heads-stream.json keeps, beside the set's shape and limits). */
export interface StreamedFit {
  wallSeconds: number;
  cpuSeconds: number;
  passes: number;
  iterations: number;
  converged: boolean;
  valAccuracy: number;
  peakRssBytes: number;
}

const SHARD_ROWS = 65_536;
const GB = 1e9;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Shards of ReLU'd Gaussian blobs and their labels; the val set is the first `valRows` draws after a separate seed. */
function generate(dir: string, rows: number, dim: number, classes: number): void {
  mkdirSync(join(dir, 'shards'), { recursive: true });
  const draw = syntheticCodes(dim, classes);
  const labels = new Int32Array(rows);
  for (let start = 0, s = 0; start < rows; start += SHARD_ROWS, s++) {
    const n = Math.min(SHARD_ROWS, rows - start);
    const { X, y } = draw(n, 1000 + s);
    labels.set(y, start);
    writeFileSync(join(dir, 'shards', `${String(s).padStart(6, '0')}.npy`), encodeNpy(X, [n, dim]));
  }
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(labels, [rows]));
  const val = draw(10_000, 7);
  writeFileSync(join(dir, 'val_X.npy'), encodeNpy(val.X, [10_000, dim]));
  writeFileSync(join(dir, 'val_y.npy'), encodeNpy(val.y, [10_000]));
}

/** `copies` links to from/train_X.npy as shards, the labels tiled to match, and from's val set. */
function tile(from: string, dir: string, copies: number): { rows: number; dim: number } {
  mkdirSync(join(dir, 'shards'), { recursive: true });
  const { shape } = decodeNpy(readFileSync(join(from, 'val_X.npy')));
  const y = decodeNpy(readFileSync(join(from, 'train_y.npy'))).data as Int32Array;
  const labels = new Int32Array(y.length * copies);
  for (let c = 0; c < copies; c++) {
    symlinkSync(join(from, 'train_X.npy'), join(dir, 'shards', `${String(c).padStart(6, '0')}.npy`));
    labels.set(y, c * y.length);
  }
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(labels, [labels.length]));
  for (const f of ['val_X.npy', 'val_y.npy']) symlinkSync(join(from, f), join(dir, f));
  return { rows: labels.length, dim: shape[1]! };
}

/** The child: stream, fit, score, report its own peak RSS. */
async function fit(dir: string, C: number): Promise<void> {
  const clock = startClock();
  const labels = await readNpyLabels(join(dir, 'labels.npy'));
  const rows = await npyRows(join(dir, 'shards'), labels);
  const result = await fitStreamed(rows, C, {
    onPass: (p) => process.stderr.write(`pass ${p} at ${clock().wallSeconds.toFixed(1)} s\n`),
  });
  const spent = clock();
  const val = await npyRows(join(dir, 'val_X.npy'), await readNpyLabels(join(dir, 'val_y.npy')));
  let hits = 0;
  const head = loadHead(result.head);
  for await (const chunk of val.chunks()) {
    const X = { rows: chunk.rows, cols: val.dim, data: Float64Array.from(chunk.X.subarray(0, chunk.rows * val.dim)) };
    hits += head.score(X, chunk.y) * chunk.rows;
  }
  const report: StreamedFit = {
    wallSeconds: spent.wallSeconds,
    cpuSeconds: spent.cpuSeconds,
    passes: result.passes,
    iterations: result.head.fit.iterations,
    converged: result.head.fit.converged,
    valAccuracy: hits / val.n,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  console.log(JSON.stringify(report));
}

async function main(): Promise<void> {
  const C = Number(argValue('--C') ?? 0.01);
  if (argValue('--fit')) return fit(argValue('--fit')!, C);
  const from = argValue('--tile');
  const result = startResult('heads-stream');
  let rows = Number(argValue('--rows') ?? 1_000_000);
  let dim = Number(argValue('--dim') ?? 1280);
  const classes = Number(argValue('--classes') ?? 10);
  const dir = argValue('--dir') ?? join(tmpdir(), 'cnn-codes-bench', from ? 'stream-tiled' : `stream-${rows}x${dim}`);
  if (from) {
    rmSync(dir, { recursive: true, force: true });
    ({ rows, dim } = tile(from, dir, Number(argValue('--copies') ?? 10)));
    console.log(
      `${rows} × ${dim}: ${argValue('--copies') ?? 10} links to ${join(from, 'train_X.npy')} as shards in ${dir}`,
    );
  } else if (!existsSync(join(dir, 'val_y.npy'))) {
    const clock = startClock();
    generate(dir, rows, dim, classes);
    console.log(
      `wrote ${rows} × ${dim} float32 (${((rows * dim * 4) / GB).toFixed(2)} GB) in ${Math.ceil(rows / SHARD_ROWS)} shards to ${dir} in ${clock().wallSeconds.toFixed(0)} s`,
    );
  }
  try {
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--fit', dir, '--C', String(C)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`the fit failed (exit ${child.status})`);
    const r = JSON.parse(child.stdout) as StreamedFit;
    console.log(
      `\n${rows} × ${dim} × ${classes}, C = ${C}, streamed from .npy shards; ${availableParallelism()} cores, load before ${load}`,
    );
    console.log('| what | figure | limit | within |');
    console.log('|---|---:|---:|---|');
    console.log(
      `| peak RSS | ${(r.peakRssBytes / GB).toFixed(2)} GB | 10 GB | ${r.peakRssBytes < 10 * GB ? 'yes' : 'NO'} |`,
    );
    console.log(`| wall time | ${r.wallSeconds.toFixed(0)} s | 900 s | ${r.wallSeconds < 900 ? 'yes' : 'NO'} |`);
    console.log(`| CPU time (all threads) | ${r.cpuSeconds.toFixed(0)} s | | |`);
    console.log(`| passes over the shards | ${r.passes} (1 for statistics) | | |`);
    console.log(
      `| L-BFGS iterations | ${r.iterations}${r.converged ? ', converged (tol 1e-4)' : ', NOT converged'} | | |`,
    );
    console.log(`| val accuracy (10,000 rows) | ${(100 * r.valAccuracy).toFixed(2)} % | | |`);
    const copies = from ? Number(argValue('--copies') ?? 10) : undefined;
    const figures = { rows, dim, classes, C, ...(copies ? { tiledCopies: copies } : {}), ...r, valRows: 10_000 };
    console.log(`written: ${result.save({ ...figures, limits: { peakRssBytes: 10 * GB, wallSeconds: 900 } })}`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
