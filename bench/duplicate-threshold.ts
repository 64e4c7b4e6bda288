/**
 * Where to put the near-duplicate threshold, measured: every hymenoptera train image is planted again in two
 * re-encodings (test/helpers/planted-duplicates.ts: JPEG q60 at 80 % size, WebP q70 at 60 %), codes are extracted with
 * the real binary, and two cosine distributions are printed side by side: a copy against its original, and each
 * original against its most similar *different* image (train and val). A threshold between them separates the two.
 *
 *   node dist/bench/duplicate-threshold.js [--data DIR] [--layer final] [--keep DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { loadSplit } from '../core/features/training-data.js';
import { readLocalManifest } from '../core/adapters/sqlite-manifest-index.js';
import { NEAR_DUPLICATE_COSINE } from '../core/quality/duplicates.js';
import { normalizedRows } from '../core/quality/near-duplicates.js';
import { plantDuplicates } from '../test/helpers/planted-duplicates.js';
import { HYMENOPTERA, REPO_ROOT } from '../test/helpers/paths.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: HYMENOPTERA },
    layer: { type: 'string', default: 'final' },
    keep: { type: 'string' },
    center: { type: 'boolean', default: false },
  },
});
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
// bench/results/duplicate-threshold.json (bench/results-file.ts), rendered into docs/data-quality.md.
const result = startResult('duplicate-threshold');

const root = values.keep ?? (await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-dups-')));
try {
  const planted = path.join(root, 'data');
  const { copies } = await plantDuplicates(values.data!, planted);
  const out = path.join(root, 'out');
  const extracted = spawnSync(
    process.execPath,
    [BIN, 'extract', '--data', planted, '--out', out, '--layer', values.layer!, '--json'],
    { encoding: 'utf8' },
  );
  if (extracted.status !== 0) throw new Error(`extract failed: ${extracted.stderr}`);
  const workspace = new FsBlobStore(out);
  const manifest = await readLocalManifest(out);
  const features = new FeatureStore(workspace, 'codes');
  const splits = [...new Set(manifest.entries.map((e) => e.split))];
  const loaded = await Promise.all(splits.map((s) => loadSplit(features, manifest, values.layer!, s)));
  const entries = loaded.flatMap((l) => l.entries);
  const dim = loaded[0]!.X.cols;
  const all = new Float64Array(entries.length * dim);
  let offset = 0;
  for (const l of loaded) {
    all.set(l.X.data, offset);
    offset += l.X.data.length;
  }
  if (values.center) subtractMean(all, entries.length, dim);
  const codes = normalizedRows(all, entries.length, dim);
  const row = new Map(entries.map((e, i) => [e.key, i]));
  const cosine = (a: number, b: number) => {
    let s = 0;
    for (let t = 0; t < dim; t++) s += codes[a * dim + t]! * codes[b * dim + t]!;
    return s;
  };
  const originOf = (key: string) => copies.get(key) ?? key;
  const copyToOriginal: number[] = [];
  for (const [copy, original] of copies)
    if (row.has(copy) && row.has(original)) copyToOriginal.push(cosine(row.get(copy)!, row.get(original)!));
  const nearestOther: number[] = [];
  const originals = entries.map((e, i) => ({ e, i })).filter(({ e }) => !copies.has(e.key));
  for (const { e, i } of originals) {
    let best = -1;
    for (const { e: f, i: j } of originals)
      if (j !== i && originOf(f.key) !== e.key && f.contentHash !== e.contentHash) best = Math.max(best, cosine(i, j));
    nearestOther.push(best);
  }
  const q = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const line = (name: string, xs: number[]) =>
    `| ${name} | ${xs.length} | ${[0, 0.01, 0.05, 0.5, 0.95, 0.99].map((p) => q(xs, p).toFixed(4)).join(' | ')} | ${Math.max(...xs).toFixed(4)} |`;
  console.log(
    `data: ${values.data}, layer ${values.layer}${values.center ? ' (codes centred on their mean)' : ''}, ${entries.length} images (${copies.size} planted copies)`,
  );
  console.log('| cosine of codes | pairs | min | 1 % | 5 % | median | 95 % | 99 % | max |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(line('copy vs its original', copyToOriginal));
  console.log(line('image vs nearest different image', nearestOther));
  console.log('| threshold | copies missed | distinct images flagged |');
  console.log('|---:|---:|---:|');
  const sweep = [...new Set([...copyToOriginal, ...nearestOther].map((c) => Math.floor(c * 50) / 50))]
    .filter((t) => t >= q(nearestOther, 0.5) && t <= q(copyToOriginal, 0.5))
    .sort();
  const thresholds = [...new Set([...sweep, NEAR_DUPLICATE_COSINE])].sort();
  for (const t of thresholds) {
    console.log(
      `| ${t.toFixed(2)}${t === NEAR_DUPLICATE_COSINE ? ' (chosen)' : ''} | ${copyToOriginal.filter((c) => c < t).length} | ${nearestOther.filter((c) => c >= t).length} |`,
    );
  }
  const missed = copyToOriginal.filter((c) => c < NEAR_DUPLICATE_COSINE).length;
  const falseAlarms = nearestOther.filter((c) => c >= NEAR_DUPLICATE_COSINE).length;
  console.log(
    `threshold ${NEAR_DUPLICATE_COSINE}: ${missed} of ${copyToOriginal.length} copies missed, ${falseAlarms} of ${nearestOther.length} distinct images flagged`,
  );
  const offenders = originals.filter((_, k) => nearestOther[k]! >= NEAR_DUPLICATE_COSINE).map(({ e }) => e.key);
  if (offenders.length > 0)
    console.log(`distinct images above the threshold (inspect: real duplicates in the data?): ${offenders.join(', ')}`);
  const quantiles = (xs: number[]) => ({
    pairs: xs.length,
    ...Object.fromEntries(
      (
        [
          ['min', 0],
          ['p1', 0.01],
          ['p5', 0.05],
          ['median', 0.5],
          ['p95', 0.95],
          ['p99', 0.99],
        ] as const
      ).map(([k, p]) => [k, q(xs, p)]),
    ),
    max: Math.max(...xs),
  });
  const saved = result.save({
    data: path.relative(REPO_ROOT, values.data!),
    layer: values.layer,
    centred: values.center,
    images: entries.length,
    plantedCopies: copies.size,
    copyToOriginal: quantiles(copyToOriginal),
    nearestOther: quantiles(nearestOther),
    chosen: NEAR_DUPLICATE_COSINE,
    sweep: thresholds.map((t) => ({
      threshold: t,
      copiesMissed: copyToOriginal.filter((c) => c < t).length,
      distinctFlagged: nearestOther.filter((c) => c >= t).length,
    })),
  });
  console.log(`written: ${saved}`);
} finally {
  if (!values.keep) await rm(root, { recursive: true, force: true });
}

function subtractMean(data: Float64Array, rows: number, dim: number): void {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let t = 0; t < dim; t++) mean[t]! += data[r * dim + t]! / rows;
  for (let r = 0; r < rows; r++) for (let t = 0; t < dim; t++) data[r * dim + t]! -= mean[t]!;
}
