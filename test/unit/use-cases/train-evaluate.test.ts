import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { DataError } from '../../../core/errors.js';
import { FeatureStore, type NamespaceInfo } from '../../../core/features/feature-store.js';
import { MANIFEST_KEY, type Manifest, type ManifestEntry } from '../../../core/features/manifest.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { evaluate, storedEvaluation } from '../../../core/use-cases/evaluate.js';
import { trainHead } from '../../../core/use-cases/train-head.js';
import type { HeadArtefact } from '../../../core/workspace/head-artefact.js';
import { HEAD_KEY } from '../../../core/workspace/keys.js';
import { withTempDir } from '../../helpers/paths.js';

/**
 * Synthetic codes, no model: layer "informative" separates the classes, layer "noise" does not. Prepare a cache and
 * manifest as extract would, then train and evaluate through the use cases.
 */
async function prepare(dir: string, nPerClass = 30) {
  const workspace = new FsBlobStore(dir);
  const features = new FeatureStore(workspace);
  const random = mulberry32(42);
  const layers: Record<string, NamespaceInfo> = {
    informative: {
      id: 'synthetic/informative-0',
      model: 'synthetic',
      modelSha256: '0'.repeat(64),
      cut: 'informative',
      dim: 6,
    },
    noise: { id: 'synthetic/noise-0', model: 'synthetic', modelSha256: '0'.repeat(64), cut: 'noise', dim: 6 },
  };
  const entries: ManifestEntry[] = [];
  const rows: string[] = [];
  const codes: Record<string, number[]> = { informative: [], noise: [] };
  for (const split of ['train', 'val']) {
    for (let label = 0; label < 3; label++) {
      for (let i = 0; i < nPerClass; i++) {
        const hash = `${split}-${label}-${i}`.padEnd(64, 'x');
        rows.push(hash);
        for (let j = 0; j < 6; j++) {
          codes.informative!.push((j === label ? 3 : 0) + random() - 0.5);
          codes.noise!.push(random());
        }
        entries.push({ key: `${split}/c${label}/${i}.jpg`, split, label, contentHash: hash, codes: {} });
      }
    }
  }
  for (const [cut, ns] of Object.entries(layers)) {
    const shard = await features.writeShard(ns, rows, Float32Array.from(codes[cut]!), []);
    entries.forEach((e, row) => (e.codes[cut] = { shard, row }));
  }
  const manifest: Manifest = {
    version: 1,
    dataset: 'synthetic',
    model: { name: 'synthetic', sha256: '0'.repeat(64) },
    classes: ['c0', 'c1', 'c2'],
    splitSynthesized: false,
    namespaces: Object.fromEntries(Object.entries(layers).map(([cut, ns]) => [cut, { id: ns.id, dim: ns.dim }])),
    entries,
    rejects: [],
    ignored: [],
  };
  await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
  return { workspace, features };
}

test('--layer auto --head auto: CV on train picks the informative layer; the head is reused when nothing changed', () =>
  withTempDir(async (dir) => {
    const deps = await prepare(dir);
    const first = await trainHead(deps, { layer: 'auto', head: 'auto', folds: 3, seed: 1 });
    assert.equal(first.reused, false);
    assert.equal(first.artefact.layer, 'informative');
    const cvLayers = new Set(first.artefact.cv!.table.map((r) => r.layer));
    const cvKinds = new Set(first.artefact.cv!.table.map((r) => r.kind));
    assert.deepEqual([...cvLayers].sort(), ['informative', 'noise']);
    assert.deepEqual([...cvKinds].sort(), ['logistic', 'svm']);
    assert.equal(first.artefact.trainedOn, 90, 'fitted on train only');

    const second = await trainHead(deps, { layer: 'auto', head: 'auto', folds: 3, seed: 1 });
    assert.equal(second.reused, true);
    assert.deepEqual(second.artefact, first.artefact);
    const other = await trainHead(deps, { layer: 'auto', head: 'auto', folds: 3, seed: 2 });
    assert.equal(other.reused, false, 'another seed is another head');
  }));

test('evaluate scores val, writes metrics and a report, and refuses to score the training split', () =>
  withTempDir(async (dir) => {
    const deps = await prepare(dir);
    await trainHead(deps, { layer: 'informative', C: 1 });
    const evaluation = await evaluate(deps);
    assert.equal(evaluation.split, 'val');
    assert.equal(evaluation.metrics.n, 90);
    assert.ok(evaluation.metrics.accuracy > 0.95);
    assert.equal(evaluation.predictions.length, 90);
    assert.ok(await deps.workspace.exists('metrics.json'));
    const report = new TextDecoder().decode(await deps.workspace.get('report.md'));
    assert.match(report, /accuracy\*\* on val \(90 images/);
    await assert.rejects(
      evaluate(deps, { split: 'train' }),
      (e: unknown) => e instanceof DataError && /trained on/.test(e.message),
    );
  }));

test('evaluate refuses a head trained on another model’s codes, and train needs a manifest', () =>
  withTempDir(async (dir) => {
    const deps = await prepare(dir);
    await trainHead(deps, { layer: 'informative', C: 1 });
    const head = (await deps.workspace.getJson<HeadArtefact>(HEAD_KEY))!;
    await deps.workspace.put(HEAD_KEY, JSON.stringify({ ...head, namespace: 'other/final-1' }));
    await assert.rejects(evaluate(deps), /another model or cut point/);
    await deps.workspace.delete(MANIFEST_KEY);
    await assert.rejects(trainHead(deps), /run "cnn-codes extract" first/);
  }));

test('a stored evaluation stands only while its inputs are unchanged: head, split entries and rejects', () =>
  withTempDir(async (dir) => {
    const deps = await prepare(dir, 12);
    await trainHead(deps, { layer: 'informative', C: 1 });
    assert.equal(await storedEvaluation(deps), undefined, 'nothing stored yet');
    const first = await evaluate(deps, { timings: { imagesPerSecond: 50 } });
    assert.deepEqual(await storedEvaluation(deps), first, 'same inputs: the stored one, throughput included');
    assert.equal(await storedEvaluation(deps, 'test'), undefined, 'another split');

    const manifest = (await deps.workspace.getJson<Manifest>(MANIFEST_KEY))!;
    const withoutOneVal = { ...manifest, entries: manifest.entries.filter((e) => e.key !== 'val/c1/3.jpg') };
    await deps.workspace.put(MANIFEST_KEY, JSON.stringify(withoutOneVal));
    assert.equal(await storedEvaluation(deps), undefined, 'a val image went away');
    const rejected = {
      ...withoutOneVal,
      rejects: [{ key: 'val/c1/3.jpg', split: 'val', label: 1, kind: 'truncated', message: 'cut short' }],
    };
    await deps.workspace.put(MANIFEST_KEY, JSON.stringify(rejected));
    assert.equal(await storedEvaluation(deps), undefined, 'a reject changes the report');
    await deps.workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
    assert.deepEqual(await storedEvaluation(deps), first, 'back as it was');

    await trainHead(deps, { layer: 'informative', C: 0.01 });
    assert.equal(await storedEvaluation(deps), undefined, 'another head');
    await trainHead(deps, { layer: 'informative', C: 1 });
    await deps.workspace.delete('report.html');
    assert.equal(await storedEvaluation(deps), undefined, 'a report is missing');
  }));
