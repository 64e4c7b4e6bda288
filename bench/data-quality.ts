/**
 * What the data-quality analysis adds to a run at 10 k images, in time and memory, beside the run itself in the same
 * script. Not a test: it prints a table.
 *
 *   node dist/bench/data-quality.js [--images 10000] [--dim 1280] [--classes 10] [--throughput N]
 *
 * Codes are synthetic (ImageNet-like: non-negative, class clusters, 2 % planted near-duplicates; 80 % train, 20 %
 * val), because only their shape matters for time. The run it is compared with is what `cnn-codes run` does at that
 * size: extraction (images / the extraction throughput, measured here on hymenoptera through the real binary unless
 * --throughput is given) + model selection (crossValidate over the default C grid, logistic, on the train codes) +
 * the final fit. The analysis: the train step's duplicate search with neighbour similarity, grouped CV's extra
 * out-of-fold bookkeeping, confident learning and outliers; the evaluate step's held-out × (held-out + train) search
 * and the PCA map. CPU time (process) beside wall time; peak RSS after each phase.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createHead, crossValidate, defaultCGrid, type Matrix } from '../core/heads/index.js';
import { mulberry32 } from '../core/heads/prng.js';
import { principalMap } from '../core/quality/code-map.js';
import { findDuplicates } from '../core/quality/duplicates.js';
import { findLabelIssues, findOutliers } from '../core/quality/label-issues.js';
import { similarPairsByGemm } from '../core/quality/gemm-similarity.js';
import { normalizedRows, similarPairs } from '../core/quality/near-duplicates.js';
import { NEAR_DUPLICATE_COSINE } from '../core/quality/duplicates.js';
import { HYMENOPTERA, REPO_ROOT } from '../test/helpers/paths.js';
import { startClock } from '../core/util/clock.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '10000' },
    dim: { type: 'string', default: '1280' },
    classes: { type: 'string', default: '10' },
    throughput: { type: 'string' },
  },
});
const n = Number(values.images);
const dim = Number(values.dim);
const classes = Number(values.classes);

type Timed<T> = { result: T; wall: number; cpu: number; rssMiB: number };

function timedWith<T>(result: T, clock: ReturnType<typeof startClock>): Timed<T> {
  const { wallSeconds, cpuSeconds } = clock();
  return { result, wall: wallSeconds, cpu: cpuSeconds, rssMiB: process.resourceUsage().maxRSS / 1024 };
}

function timed<T>(run: () => T): Timed<T> {
  const clock = startClock();
  return timedWith(run(), clock);
}

async function timedAsync<T>(run: () => Promise<T>): Promise<Timed<T>> {
  const clock = startClock();
  return timedWith(await run(), clock);
}

function measuredThroughput(): number {
  if (values.throughput) return Number(values.throughput);
  const out = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  try {
    const r = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'cnn-codes.js'), 'extract', '--data', HYMENOPTERA, '--out', out, '--json'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`extract failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { extract: { imagesPerSecond: number } }).extract.imagesPerSecond;
  } finally {
    spawnSync('rm', ['-rf', out]);
  }
}

/** Class centres plus per-image noise, rectified like pooled ReLU6 features; every 50th image is a near copy of the one before. */
function syntheticCodes(): { X: Float64Array; y: Int32Array; hashes: string[] } {
  const random = mulberry32(1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: classes }, () => Float64Array.from({ length: dim }, () => Math.max(0, gauss())));
  const X = new Float64Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const copy = i % 50 === 1;
    y[i] = copy ? y[i - 1]! : Math.floor(random() * classes);
    for (let t = 0; t < dim; t++) {
      X[i * dim + t] = copy
        ? Math.max(0, X[(i - 1) * dim + t]! + 0.05 * gauss())
        : Math.max(0, centres[y[i]!]![t]! + 1.2 * gauss());
    }
  }
  return { X, y, hashes: Array.from({ length: n }, (_, i) => `h${i}`) };
}

const throughput = measuredThroughput();
const { X, y, hashes } = syntheticCodes();
const nTrain = Math.round(n * 0.8);
const train: Matrix = { rows: nTrain, cols: dim, data: X.subarray(0, nTrain * dim) };
const trainY = y.subarray(0, nTrain);
const candidates = defaultCGrid().map((C) => ({ id: `C=${C}`, X: train, options: { kind: 'logistic' as const, C } }));

const cv = timed(() => crossValidate(candidates, trainY, { folds: 5, seed: 0 }));
const fit = timed(() => createHead({ kind: 'logistic', C: cv.result.best.C }).fit(train, trainY));
const trainCodes = normalizedRows(train.data, nTrain, dim);
const duplicates = timed(() => findDuplicates(hashes.slice(0, nTrain), trainCodes, dim));
const groupedCv = timed(() =>
  crossValidate(candidates, trainY, { folds: 5, seed: 0, groups: duplicates.result.groupIds, outOfFold: true }),
);
const issues = timed(() => [
  findLabelIssues(groupedCv.result.outOfFold!, trainY),
  findOutliers(duplicates.result.neighbourSimilarity),
]);
const all = normalizedRows(X, n, dim);
const heldOut = timed(() => {
  const held = all.subarray(nTrain * dim);
  return [
    similarPairs(held, dim, { threshold: NEAR_DUPLICATE_COSINE }),
    similarPairs(held, dim, { threshold: NEAR_DUPLICATE_COSINE }, all.subarray(0, nTrain * dim)),
  ];
});
// What evaluate runs: the same search as GEMMs through onnxruntime (core/quality/gemm-similarity.ts), side by side.
const heldOutGemm = await timedAsync(async () => {
  const held = all.subarray(nTrain * dim);
  return [
    await similarPairsByGemm(held, dim, { threshold: NEAR_DUPLICATE_COSINE }),
    await similarPairsByGemm(held, dim, { threshold: NEAR_DUPLICATE_COSINE }, all.subarray(0, nTrain * dim)),
  ];
});
// Pairs found by one search only: float32 sums (GEMM) against float64 sums (loop) can only split cosines at the threshold.
const pairIds = (ps: Array<{ i: number; j: number }>) => new Set(ps.map((p) => `${p.i},${p.j}`));
const onlyOne = heldOut.result.flatMap((ps, k) => {
  const loop = pairIds(ps);
  const gemm = pairIds(heldOutGemm.result[k]!);
  return [...[...loop].filter((id) => !gemm.has(id)), ...[...gemm].filter((id) => !loop.has(id))];
});
const borderline = [...heldOut.result.flat(), ...heldOutGemm.result.flat()]
  .filter((p) => onlyOne.includes(`${p.i},${p.j}`))
  .map((p) => p.cosine.toFixed(7));
const map = timed(() => principalMap(all, n, dim));

const extractSeconds = n / throughput;
const runSeconds = extractSeconds + cv.cpu + fit.cpu;
const cvExtra = Math.max(0, groupedCv.cpu - cv.cpu);
const analysis = [
  ['train: duplicate search + neighbour similarity', duplicates],
  [
    'train: grouped CV with out-of-fold probabilities, minus plain CV',
    { ...groupedCv, cpu: cvExtra, wall: Math.max(0, groupedCv.wall - cv.wall) },
  ],
  ['train: confident learning + outliers', issues],
  ['evaluate: held-out × (held-out + train) search, GEMM on every core (what evaluate runs)', heldOutGemm],
  ['evaluate: PCA map (2 000-row fit, all projected)', map],
] as const;
const analysisSeconds = analysis.reduce((s, [, r]) => s + r.cpu, 0);
const load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
console.log(
  `${n} images × ${dim} (synthetic codes, ${classes} classes, ${duplicates.result.groups.length} duplicate groups found among ${nTrain} train); ${load}`,
);
console.log('| phase | CPU s | wall s | peak RSS after (MiB) |');
console.log('|---|---:|---:|---:|');
console.log(
  `| run: extraction at ${throughput.toFixed(1)} images/s (measured on hymenoptera) | ${extractSeconds.toFixed(1)} (est.) | | |`,
);
console.log(
  `| run: CV, ${candidates.length} Cs × 5 folds, ${nTrain} train | ${cv.cpu.toFixed(2)} | ${cv.wall.toFixed(2)} | ${cv.rssMiB.toFixed(0)} |`,
);
console.log(`| run: final fit | ${fit.cpu.toFixed(2)} | ${fit.wall.toFixed(2)} | ${fit.rssMiB.toFixed(0)} |`);
for (const [name, r] of analysis)
  console.log(`| analysis: ${name} | ${r.cpu.toFixed(2)} | ${r.wall.toFixed(2)} | ${r.rssMiB.toFixed(0)} |`);
console.log(`| **run** | ${runSeconds.toFixed(1)} | | |`);
console.log(`| **analysis** | ${analysisSeconds.toFixed(1)} | | |`);
console.log(
  `held-out search: scalar JavaScript loop ${heldOut.cpu.toFixed(2)} s CPU / ${heldOut.wall.toFixed(2)} s wall, GEMM ${heldOutGemm.cpu.toFixed(2)} s CPU / ${heldOutGemm.wall.toFixed(2)} s wall ` +
    `(${(heldOut.wall / heldOutGemm.wall).toFixed(1)}× faster in wall time); ${heldOut.result.flat().length} pairs by the loop, ${onlyOne.length} found by one search only${borderline.length ? ` (cosines ${borderline.join(', ')})` : ''}`,
);
console.log(
  `analysis / run: ${((analysisSeconds / runSeconds) * 100).toFixed(1)} % (target ≤ 20 %); CPU flags: AVX2, AVX-512 (VNNI), AVX-VNNI; the train-side search is scalar JavaScript on one thread, the held-out search GEMMs on every core`,
);
