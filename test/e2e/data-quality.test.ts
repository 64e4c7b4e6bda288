import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { mulberry32, shuffleInPlace } from '../../core/heads/prng.js';
import type { DataQuality } from '../../core/quality/data-quality.js';
import { cli, sharedHymenopteraRun } from '../helpers/hymenoptera-run.js';
import { HYMENOPTERA, requireShared, withTempDir } from '../helpers/paths.js';
import { plantDuplicates } from '../helpers/planted-duplicates.js';

test('planted re-encoded duplicates: groups found, kept in one CV fold (CV within 2 points of val), leakage flagged and warned', async (t) => {
  requireShared();
  await withTempDir(async (dir) => {
    const data = path.join(dir, 'data');
    const { copies, leaked } = await plantDuplicates(HYMENOPTERA, data, { leakToVal: 3 });
    const out = path.join(dir, 'out');
    const run = cli(['run', '--data', data, '--out', out, '--json']);
    assert.equal(run.status, 0, run.stderr);
    const cvAccuracy: number = run.json.head.cv.meanAccuracy;
    const valAccuracy: number = run.json.evaluation.metrics.accuracy;
    t.diagnostic(
      `${copies.size} planted copies: CV ${(cvAccuracy * 100).toFixed(1)} %, val ${(valAccuracy * 100).toFixed(1)} %`,
    );
    assert.ok(Math.abs(cvAccuracy - valAccuracy) <= 0.02, `CV ${cvAccuracy} within 2 points of val ${valAccuracy}`);

    const quality = JSON.parse(await readFile(path.join(out, 'data-quality.json'), 'utf8')) as DataQuality;
    assert.deepEqual(Object.keys(quality), ['version', 'duplicates', 'leakage', 'labelIssues']);
    const groupOf = new Map(quality.duplicates.flatMap((g, i) => g.map((k) => [k, i] as const)));
    const together = [...copies].filter(
      ([copy, original]) => groupOf.has(copy) && groupOf.get(copy) === groupOf.get(original),
    ).length;
    t.diagnostic(`${together} of ${copies.size} copies grouped with their original`);
    assert.ok(together / copies.size >= 0.95, `${together} of ${copies.size} copies grouped with their original`);

    const flagged = new Map(quality.leakage.map((l) => [l.key, l]));
    for (const [valKey, trainKey] of leaked) {
      assert.ok(flagged.get(valKey)?.trainKeys.includes(trainKey), `${valKey} flagged as a copy of ${trainKey}`);
    }
    assert.equal(run.json.evaluation.dataQuality.leakageCount, quality.leakage.length, '--json carries the counts');
    assert.match(run.stderr, new RegExp(`warning: ${quality.leakage.length} val image\\(s\\) duplicate train images`));
  });
});

test('hymenoptera: the image-not-found placeholder is among the five top label issues', async () => {
  const workspace = await sharedHymenopteraRun();
  const quality = JSON.parse(await readFile(path.join(workspace, 'data-quality.json'), 'utf8')) as DataQuality;
  const top = quality.labelIssues.slice(0, 5).map((l) => l.key);
  assert.ok(top.includes('train/ants/imageNotFound.gif'), `top five: ${top.join(', ')}`);
});

test('10 % of train labels flipped (seeded): at least 70 % of the flips among the top-k suspects; --exclude-suspects refits without them', async (t) => {
  const cache = await sharedHymenopteraRun();
  await withTempDir(async (dir) => {
    const data = path.join(dir, 'data');
    const flips = await copyWithFlippedLabels(HYMENOPTERA, data, 0.1, 7);
    // Same bytes as the shared run's images, so every code comes from its cache: nothing is re-extracted.
    const plain = cli(['run', '--data', data, '--out', path.join(dir, 'plain'), '--cache', cache, '--json']);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.json.extract.embedded, 0, 'codes reused from the cache');
    const quality = JSON.parse(await readFile(path.join(dir, 'plain', 'data-quality.json'), 'utf8')) as DataQuality;
    const topK = new Set(quality.labelIssues.slice(0, flips.size).map((l) => l.key));
    const caught = [...flips.keys()].filter((k) => topK.has(k));
    for (const key of caught)
      assert.equal(
        quality.labelIssues.find((l) => l.key === key)!.suggested,
        flips.get(key),
        `${key}: suggested its true class`,
      );
    const excluded = cli([
      'run',
      '--data',
      data,
      '--out',
      path.join(dir, 'excluded'),
      '--cache',
      cache,
      '--exclude-suspects',
      '--json',
    ]);
    assert.equal(excluded.status, 0, excluded.stderr);
    const accuracy = (r: typeof plain) => (r.json.evaluation.metrics.accuracy * 100).toFixed(1);
    t.diagnostic(
      `${flips.size} flips, ${caught.length} among the top ${flips.size} suspects (${quality.labelIssues.length} flagged); val accuracy ${accuracy(plain)} % plain, ${accuracy(excluded)} % with --exclude-suspects`,
    );
    assert.ok(caught.length >= 0.7 * flips.size, `${caught.length} of ${flips.size} flips among the top ${flips.size}`);
    const head = JSON.parse(await readFile(path.join(dir, 'excluded', 'head.json'), 'utf8'));
    assert.equal(head.trainedOn, 245 - head.quality.excluded.length);
    assert.ok(head.quality.excluded.length > 0);
  });
});

/** A copy of an ImageFolder dataset where a seeded `fraction` of train images sit in the other class's folder. */
async function copyWithFlippedLabels(
  source: string,
  target: string,
  fraction: number,
  seed: number,
): Promise<Map<string, string>> {
  const classes = (await readdir(path.join(source, 'train'))).sort();
  const train = (
    await Promise.all(
      classes.map(async (c) => (await readdir(path.join(source, 'train', c))).sort().map((f) => ({ c, f }))),
    )
  ).flat();
  const order = shuffleInPlace(Int32Array.from(train.keys()), mulberry32(seed));
  const flipped = new Set(Array.from(order.subarray(0, Math.round(fraction * train.length))));
  const flips = new Map<string, string>();
  for (const split of ['train', 'val']) {
    for (const c of classes) await mkdir(path.join(target, split, c), { recursive: true });
    for (const c of classes) {
      for (const f of await readdir(path.join(source, split, c))) {
        const i = split === 'train' ? train.findIndex((x) => x.c === c && x.f === f) : -1;
        const label = flipped.has(i) ? classes[(classes.indexOf(c) + 1) % classes.length]! : c;
        if (label !== c) flips.set(`train/${label}/${f}`, c);
        await copyFile(path.join(source, split, c, f), path.join(target, split, label, f));
      }
    }
  }
  return flips;
}
