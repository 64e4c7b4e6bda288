import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { DataError } from '../../../core/errors.js';
import { storedEvaluation } from '../../../core/use-cases/evaluate.js';
import { InvalidArtefactError } from '../../../core/workspace/artefact-error.js';
import { readEvaluation, type Evaluation } from '../../../core/workspace/evaluation.js';
import { readHeadArtefact, type HeadArtefact } from '../../../core/workspace/head-artefact.js';
import { HEAD_KEY, METRICS_KEY } from '../../../core/workspace/keys.js';
import { withTempDir } from '../../helpers/paths.js';

const head = (): HeadArtefact =>
  ({
    version: 1,
    model: { name: 'm', sha256: '0'.repeat(64) },
    layer: 'final',
    namespace: 'm/final-0',
    classes: ['ants', 'bees'],
    options: { kind: 'logistic', C: 1, classWeight: null, seed: 0 },
    cv: null,
    head: { format: 'cnn-codes.head' },
    trainedOn: 10,
    fitSeconds: 0.01,
    cacheKey: 'abc',
  }) as unknown as HeadArtefact;

const evaluation = (): Evaluation =>
  ({
    version: 1,
    split: 'val',
    model: { name: 'm', sha256: '0'.repeat(64) },
    layer: 'final',
    head: { kind: 'logistic', C: 1 },
    classes: ['ants', 'bees'],
    metrics: {
      n: 1,
      accuracy: 1,
      balancedAccuracy: 1,
      macroF1: 1,
      logLoss: null,
      perClass: [],
      confusion: [
        [1, 0],
        [0, 0],
      ],
      topK: [],
    },
    predictions: [{ key: 'val/ants/a.jpg', label: 0, predicted: 0, confidence: 0.9, probabilities: [0.9, 0.1] }],
    rejected: 0,
    timings: { headFitSeconds: 0.01 },
  }) as unknown as Evaluation;

test('a head.json and a metrics.json this build wrote read back as they were', async () => {
  await withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(HEAD_KEY, JSON.stringify(head()));
    await store.put(METRICS_KEY, JSON.stringify(evaluation()));
    assert.deepEqual(await readHeadArtefact(store), head());
    assert.deepEqual(await readEvaluation(store), evaluation());
  });
});

test('an absent artefact is undefined, not an error', async () => {
  await withTempDir(async (dir) => {
    assert.equal(await readHeadArtefact(new FsBlobStore(dir)), undefined);
    assert.equal(await readEvaluation(new FsBlobStore(dir)), undefined);
  });
});

test('another version is refused by name, as a data error', async () => {
  await withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(HEAD_KEY, JSON.stringify({ ...head(), version: 2 }));
    await assert.rejects(readHeadArtefact(store), (err: unknown) => {
      assert.ok(err instanceof InvalidArtefactError && err instanceof DataError);
      assert.match(err.message, /head\.json.*version 2 is not the one this build reads \(1\)/);
      return true;
    });
  });
});

test('every bad field is named by its path', async () => {
  await withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const { layer: _dropped, ...withoutLayer } = head();
    await store.put(HEAD_KEY, JSON.stringify({ ...withoutLayer, options: { kind: 'tree', C: -1 } }));
    await assert.rejects(readHeadArtefact(store), (err: unknown) => {
      assert.ok(err instanceof InvalidArtefactError);
      assert.deepEqual(
        err.problems.map((p) => p.split(':')[0]),
        ['$.layer', '$.options.kind', '$.options.C'],
      );
      return true;
    });
    const bad = evaluation();
    (bad.predictions[0] as unknown as Record<string, unknown>).confidence = 'high';
    await store.put(METRICS_KEY, JSON.stringify(bad));
    await assert.rejects(readEvaluation(store), /\$\.predictions\[0\]\.confidence: expected a finite number/);
  });
});

test('a stored evaluation of another version is not reused: it is redone, not an error', async () => {
  await withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(HEAD_KEY, JSON.stringify(head()));
    await store.put(METRICS_KEY, JSON.stringify({ ...evaluation(), version: 0, inputs: 'x' }));
    assert.equal(await storedEvaluation({ workspace: store }), undefined);
  });
});
