/**
 * The image train path (`cnn-codes train` / `run`: trainHead over a workspace's manifest and code cache) at scale: peak
 * RSS and time of one train step, streamed from the shards against the in-memory path it replaces above 2M values.
 * Not a test: it prints a table.
 *
 *   node dist/bench/train-workspace.js [--images 100000] [--dim 1280] [--classes 10] [--shard-rows 1024]
 *                                      [--C 0.01 | --cv] [--in-memory] [--dir DIR] [--keep]
 *
 * Writes a workspace as extract leaves it (manifest.json with every image's entry, float32 shards of --shard-rows
 * rows through FeatureStore, the heads benches' synthetic codes; 100 k × 1280 is 512 MB of shards), then runs
 * trainHead in a child process so its peak RSS is the train step's alone. --C fits one C (default 0.01); --cv
 * chooses C by 5-fold CV over the default grid (8 Cs), as a default run does. --in-memory also runs the in-memory
 * float64 path on the same workspace (the "before" column; 100 k × 1280 needs several GB).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { MANIFEST_KEY, type ManifestEntry } from '../core/features/manifest.js';
import { trainHead } from '../core/use-cases/train-head.js';
import { startClock } from '../core/util/clock.js';
import { putSyntheticManifest, syntheticCodes, syntheticNamespace } from './synthetic-codes.js';
import { startResult } from './results-file.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const MiB = 2 ** 20;

async function generate(dir: string, images: number, dim: number, classes: number, shardRows: number): Promise<void> {
  const workspace = new FsBlobStore(dir);
  const features = new FeatureStore(workspace);
  const ns = syntheticNamespace(dim);
  const draw = syntheticCodes(dim, classes);
  const entries: ManifestEntry[] = [];
  for (let start = 0, s = 0; start < images; start += shardRows, s++) {
    const n = Math.min(shardRows, images - start);
    const { X, y } = draw(n, 1000 + s);
    const hashes = Array.from({ length: n }, (_, r) => `image-${start + r}`.padEnd(64, '0'));
    const shard = await features.writeShard(ns, hashes, X, []);
    hashes.forEach((contentHash, row) =>
      entries.push({
        key: `train/c${y[row]}/${start + row}.jpg`,
        split: 'train',
        label: y[row]!,
        contentHash,
        codes: { final: { shard, row } },
      }),
    );
  }
  await putSyntheticManifest(
    workspace,
    ns,
    Array.from({ length: classes }, (_, c) => `c${c}`),
    entries,
  );
}

/** What the child reports of its train step (bench/results/train-workspace-*.json keep it per run). */
export interface TrainStep {
  wallSeconds: number;
  cpuSeconds: number;
  C: number;
  engine: string;
  converged: boolean;
  peakRssBytes: number;
}

/** The child: one train step, its own peak RSS. */
async function train(dir: string, inMemory: boolean): Promise<void> {
  const workspace = new FsBlobStore(dir);
  const clock = startClock();
  const cv = process.argv.includes('--cv');
  const { artefact } = await trainHead(
    {
      workspace,
      features: new FeatureStore(workspace),
      ...(inMemory ? { streamedMinValues: Number.POSITIVE_INFINITY } : { streamedMinValues: 0 }),
    },
    { ...(cv ? {} : { C: Number(argValue('--C') ?? 0.01) }), seed: Date.now() % 1000 },
  );
  const step: TrainStep = {
    ...clock(),
    C: artefact.options.C,
    engine: artefact.cv?.engine ?? (inMemory ? 'in memory, float64' : 'streamed'),
    converged: artefact.head.fit.converged,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  console.log(JSON.stringify(step));
}

async function main(): Promise<void> {
  const child = argValue('--train');
  if (child) return train(child, process.argv.includes('--child-in-memory'));
  const images = Number(argValue('--images') ?? 100_000);
  const dim = Number(argValue('--dim') ?? 1280);
  const classes = Number(argValue('--classes') ?? 10);
  const shardRows = Number(argValue('--shard-rows') ?? 1024);
  const dir = argValue('--dir') ?? join(tmpdir(), 'cnn-codes-bench', `workspace-${images}x${dim}`);
  if (!existsSync(join(dir, MANIFEST_KEY))) {
    const clock = startClock();
    await generate(dir, images, dim, classes, shardRows);
    console.log(
      `wrote a workspace of ${images} × ${dim} float32 codes (${((images * dim * 4) / MiB).toFixed(0)} MiB) in shards of ${shardRows} rows to ${dir} in ${clock().wallSeconds.toFixed(0)} s`,
    );
  }
  const cv = process.argv.includes('--cv');
  const inMemoryToo = process.argv.includes('--in-memory');
  // bench/results/train-workspace-<N>[-cv][-in-memory].json: one file per shape of run, rendered in docs/heads-and-cv.md.
  const result = startResult(`train-workspace-${images}${cv ? '-cv' : ''}${inMemoryToo ? '-in-memory' : ''}`, {
    command: `node dist/bench/train-workspace.js ${process.argv.slice(2).join(' ')}`,
  });
  try {
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    const runs = inMemoryToo ? [false, true] : [false];
    const rows = runs.map((inMemory) => {
      // --cv and --C pass through; the seed varies so a cached head from an earlier run is never reused.
      const args = [
        fileURLToPath(import.meta.url),
        '--train',
        dir,
        ...process.argv.slice(2),
        ...(inMemory ? ['--child-in-memory'] : []),
      ];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error(`the train step failed (exit ${r.status})`);
      return JSON.parse(r.stdout) as TrainStep;
    });
    console.log(
      `\ntrainHead on ${images} × ${dim} × ${classes} (${cv ? 'C by 5-fold CV over 8 Cs' : `C = ${argValue('--C') ?? 0.01}`}); ${availableParallelism()} cores, load before ${load}`,
    );
    console.log('| path | peak RSS (MiB) | wall (s) | CPU (s) | chose C | converged | engine |');
    console.log('|---|---:|---:|---:|---:|---|---|');
    rows.forEach((r, i) =>
      console.log(
        `| ${runs[i] ? 'in memory (before)' : 'streamed from shards'} | ${(r.peakRssBytes / MiB).toFixed(0)} | ${r.wallSeconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.C} | ${r.converged} | ${r.engine} |`,
      ),
    );
    const figures = { images, dim, classes, shardRows, cv, runs: rows.map((r, i) => ({ inMemory: runs[i]!, ...r })) };
    console.log(`written: ${result.save(figures)}`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
