import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { encodeNpy } from '../../core/features/npy.js';
import { mulberry32 } from '../../core/heads/prng.js';
import { REPO_ROOT, withTempDir } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

/** Three separable blobs in 8 dims (float32 codes, int32 labels), as someone's own embeddings would arrive. */
function writeCodes(dir: string, name: string, n: number, seed: number): { codes: string; labels: string } {
  const random = mulberry32(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  const X = Float32Array.from({ length: n * 8 }, (_, p) => random() + (p % 8 === y[Math.floor(p / 8)]! ? 3 : 0));
  const codes = path.join(dir, `${name}_X.npy`);
  const labels = path.join(dir, `${name}_y.npy`);
  writeFileSync(codes, encodeNpy(X, [n, 8]));
  writeFileSync(labels, encodeNpy(y, [n]));
  return { codes, labels };
}

test('train --codes/--labels: CV on the codes, head.json, and with val codes metrics.json, report.md and report.html', () =>
  withTempDir(async (dir) => {
    const train = writeCodes(dir, 'train', 150, 1);
    const val = writeCodes(dir, 'val', 60, 2);
    const out = path.join(dir, 'out');
    const r = cli([
      'train',
      '--codes',
      train.codes,
      '--labels',
      train.labels,
      '--val-codes',
      val.codes,
      '--val-labels',
      val.labels,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as {
      head: { kind: string; cv: { meanAccuracy: number } };
      evaluation: { metrics: { accuracy: number } };
    };
    assert.equal(printed.head.kind, 'logistic');
    assert.equal(printed.evaluation.metrics.accuracy, 1);
    const head = JSON.parse(readFileSync(path.join(out, 'head.json'), 'utf8')) as {
      cv: { folds: number; table: unknown[]; wallSeconds: number; cpuSeconds: number };
      trainedOn: number;
      classes: string[];
    };
    assert.equal(head.trainedOn, 150);
    assert.deepEqual(head.classes, ['0', '1', '2']);
    assert.equal(head.cv.folds, 5);
    assert.equal(head.cv.table.length, 8);
    assert.ok(head.cv.wallSeconds > 0 && head.cv.cpuSeconds > 0, 'the CV table carries wall and CPU time');
    assert.match(
      readFileSync(path.join(out, 'report.md'), 'utf8'),
      /100\.0\s% accuracy\*\* on val \(60 images[\s\S]*Model selection took [\d.]+ s wall, [\d.]+ s CPU/,
    );
    assert.match(readFileSync(path.join(out, 'report.html'), 'utf8'), /<html/);
  }));

test('train --codes refuses bad input with a specific message and exit code', () =>
  withTempDir(async (dir) => {
    const train = writeCodes(dir, 'train', 30, 3);
    const noLabels = cli(['train', '--codes', train.codes, '--out', path.join(dir, 'o')]);
    assert.equal(noLabels.status, 2);
    assert.match(noLabels.stderr, /--codes needs --labels/);
    const short = writeCodes(dir, 'short', 20, 4);
    const mismatch = cli(['train', '--codes', train.codes, '--labels', short.labels, '--out', path.join(dir, 'o')]);
    assert.equal(mismatch.status, 3);
    assert.match(mismatch.stderr, /holds 30 rows but the labels have 20/);
    mkdirSync(path.join(dir, 'empty'));
    const empty = cli([
      'train',
      '--codes',
      path.join(dir, 'empty'),
      '--labels',
      train.labels,
      '--out',
      path.join(dir, 'o'),
    ]);
    assert.equal(empty.status, 3);
    assert.match(empty.stderr, /no \.npy shards/);
  }));

/**
 * A class of 3 rows with the default 5 folds: both engines lower k to 3 (the one fold rule), so `train --codes` on
 * more codes than the in-memory threshold (2,000,000 values: streamed) succeeds as the in-memory path does.
 */
test('train --codes with a class smaller than the folds lowers k on the streamed path as in memory', () =>
  withTempDir(async (dir) => {
    const run = (n: number, d: number) => {
      const random = mulberry32(5);
      // Classes 0 and 1 alternate; the last 3 rows are class 2.
      const y = Int32Array.from({ length: n }, (_, i) => (i >= n - 3 ? 2 : i % 2));
      const X = Float32Array.from({ length: n * d }, (_, p) => random() + (p % d === y[Math.floor(p / d)]! ? 2 : 0));
      const codes = path.join(dir, `small_${d}_X.npy`);
      const labels = path.join(dir, `small_${d}_y.npy`);
      writeFileSync(codes, encodeNpy(X, [n, d]));
      writeFileSync(labels, encodeNpy(y, [n]));
      const out = path.join(dir, `out_${d}`);
      const r = cli(['train', '--codes', codes, '--labels', labels, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(readFileSync(path.join(out, 'head.json'), 'utf8')) as {
        cv: { folds: number; engine: string; table: unknown[] };
        trainedOn: number;
      };
    };
    const inMemory = run(120, 8);
    const streamed = run(500, 4100);
    assert.match(inMemory.cv.engine, /in memory/);
    assert.match(streamed.cv.engine, /streamed/);
    assert.equal(inMemory.cv.folds, 3);
    assert.equal(streamed.cv.folds, 3);
    assert.equal(streamed.cv.table.length, 8);
    assert.equal(streamed.trainedOn, 500);
  }));
