import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { HYMENOPTERA, REPO_ROOT, requireShared, withTempDir } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  const shared = path.dirname(path.dirname(HYMENOPTERA));
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CNN_CODES_SHARED: shared, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - started) / 1000 };
}

test('the README demo through the real binary: ≥ 95.4 % on hymenoptera val; a second run works from the cache alone', (t) =>
  withTempDir(async (out) => {
    requireShared();
    const first = cli(['run', '--data', HYMENOPTERA, '--out', out, '--json']);
    assert.equal(first.status, 0, first.stderr);
    const a = JSON.parse(first.stdout);
    assert.equal(a.extract.images, 398);
    assert.equal(a.extract.embedded, 398);
    assert.equal(a.head.layer, 'final');
    assert.ok(a.evaluation.metrics.accuracy >= 0.954, `val accuracy ${a.evaluation.metrics.accuracy}`);
    assert.equal(a.evaluation.metrics.n, 153, 'evaluated on every val image, none seen in training or CV');
    assert.equal(first.stderr, '', '--json prints no progress');

    // With no model reachable, the second run can only succeed if it never resolves or loads the backbone:
    // a deterministic stand-in for "does no inference", where a wall-clock ratio would depend on the machine.
    const noModels = path.join(out, 'no-models');
    await mkdir(noModels);
    const second = cli(['run', '--data', HYMENOPTERA, '--out', out, '--json'], {
      CNN_CODES_SHARED: noModels,
      CNN_CODES_MODEL_CACHE: noModels,
    });
    assert.equal(second.status, 0, second.stderr);
    const b = JSON.parse(second.stdout);
    assert.equal(b.extract.embedded, 0);
    assert.equal(b.extract.cached, 398);
    assert.equal(b.head.reused, true);
    assert.equal(a.evaluation.reused, false);
    assert.equal(b.evaluation.reused, true, 'nothing changed: the stored evaluation and reports stand');
    assert.equal(
      b.evaluation.timings.imagesPerSecond,
      a.evaluation.timings.imagesPerSecond,
      'the report keeps the measured throughput',
    );
    assert.equal(b.evaluation.metrics.accuracy, a.evaluation.metrics.accuracy);
    t.diagnostic(
      `second run ${second.seconds.toFixed(2)} s vs first ${first.seconds.toFixed(2)} s (not asserted: timing is bench/'s job)`,
    );

    const report = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(report, /accuracy\*\* on val \(153 images/);

    // A truncated, a deleted and a bit-flipped shard: the next run names each, re-extracts exactly their rows, and
    // reaches the same accuracy.
    const damaged = await damageThreeShards(out);
    const healed = cli(['run', '--data', HYMENOPTERA, '--out', out, '--json']);
    assert.equal(healed.status, 0, healed.stderr);
    const h = JSON.parse(healed.stdout);
    for (const shard of damaged.names)
      assert.ok(healed.stderr.includes(shard), `the warning names ${shard}: ${healed.stderr}`);
    assert.equal(h.extract.embedded, damaged.rows, 'exactly the damaged shards’ rows are re-extracted');
    assert.equal(h.extract.repaired.length, 3);
    assert.equal(h.evaluation.metrics.accuracy, a.evaluation.metrics.accuracy);
    assert.equal(cli(['verify', '--out', out]).status, 0, 'the workspace is clean again');
    const predicted = cli(['predict', path.join(HYMENOPTERA, 'val', 'bees'), '--out', out, '--json', '--top', '2']);
    assert.equal(predicted.status, 0, predicted.stderr);
    const predictions = JSON.parse(predicted.stdout).predictions as Array<{ top: Array<{ label: string }> }>;
    assert.equal(predictions.length, 83);
    assert.ok(predictions.filter((p) => p.top[0]!.label === 'bees').length >= 76);
  }));

async function damageThreeShards(out: string): Promise<{ names: string[]; rows: number }> {
  const [ns] = await readdir(path.join(out, 'codes', 'mobilenetv2-12-int8'));
  const dir = path.join(out, 'codes', 'mobilenetv2-12-int8', ns!, 'shards');
  const names = (await readdir(dir))
    .filter((f) => f.endsWith('.npy'))
    .sort()
    .slice(0, 3);
  let rows = 0;
  for (const name of names)
    rows += (JSON.parse(await readFile(path.join(dir, name.replace('.npy', '.json')), 'utf8')) as { rows: string[] })
      .rows.length;
  await truncate(path.join(dir, names[0]!), 200);
  await rm(path.join(dir, names[1]!));
  const bytes = await readFile(path.join(dir, names[2]!));
  bytes[bytes.length - 7]! ^= 0x20;
  await writeFile(path.join(dir, names[2]!), bytes);
  return { names, rows };
}

test('bad flags, missing data and unknown models exit non-zero with a specific message', () =>
  withTempDir(async (out) => {
    const help = cli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Commands:/);
    const cases: Array<[string[], number, RegExp]> = [
      [['frobnicate'], 2, /unknown command "frobnicate"/],
      [['run', '--data', HYMENOPTERA, '--bogus'], 2, /Unknown option '--bogus'/],
      [['run'], 2, /--data DIR is required/],
      [['run', '--data', HYMENOPTERA, '--C', '0', '--out', out], 2, /--C must be a positive number, got "0"/],
      [['run', '--data', path.join(out, 'nowhere')], 3, /data folder not found/],
      [['run', '--data', HYMENOPTERA, '--out', out, '--model', 'nosuchnet'], 4, /unknown model "nosuchnet"/],
      [['evaluate', '--out', out], 3, /run "cnn-codes extract" first/],
      [['run', '--data', HYMENOPTERA, '--out', out, '--layer', 'block99'], 2, /no cut point "block99"/],
    ];
    for (const [args, status, message] of cases) {
      const r = cli(args);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  }));
