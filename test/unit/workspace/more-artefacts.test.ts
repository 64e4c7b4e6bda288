import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { DataError } from '../../../core/errors.js';
import { MANIFEST_KEY, type Manifest } from '../../../core/features/manifest.js';
import {
  CODE_MAP_KEY,
  DATA_QUALITY_KEY,
  type CodeMapFile,
  type DataQuality,
} from '../../../core/quality/data-quality.js';
import { readShardPart } from '../../../core/use-cases/distributed/extract-shard.js';
import { readRunPlan } from '../../../core/use-cases/distributed/plan-run.js';
import { InvalidArtefactError } from '../../../core/workspace/artefact-error.js';
import {
  codeMapFile,
  dataQualityFile,
  readCodeMap,
  readDataQuality,
} from '../../../core/workspace/data-quality-artefact.js';
import { readManifest } from '../../../core/workspace/manifest-store.js';
import { withTempDir } from '../../helpers/paths.js';

/** manifest.json, data-quality.json, code-map.json and plan.json: read back checked, never by cast. */

const manifest = (): Manifest => ({
  version: 1,
  dataset: '/data',
  model: { name: 'm', sha256: '0'.repeat(64) },
  classes: ['ants', 'bees'],
  splitSynthesized: false,
  namespaces: { final: { id: 'm/final-0', dim: 4 } },
  entries: [
    { key: 'train/ants/a.jpg', split: 'train', label: 0, contentHash: 'h1', codes: { final: { shard: 's0', row: 0 } } },
  ],
  rejects: [
    { key: 'train/bees/b.jpg', split: 'train', label: 1, contentHash: '', kind: 'dangling-symlink', message: 'gone' },
  ],
  ignored: [{ key: 'notes.txt', reason: 'not an image (metadata file)' }],
});

const quality = (): DataQuality => ({
  duplicates: [['train/ants/a.jpg', 'val/ants/a.jpg']],
  leakage: [{ key: 'val/ants/a.jpg', split: 'val', trainKeys: ['train/ants/a.jpg'], cosine: 1 }],
  labelIssues: [{ key: 'train/bees/b.jpg', given: 'bees', suggested: null, score: 0.4 }],
});

const codeMap = (): CodeMapFile => ({
  layer: 'final',
  explained: [0.5, 0.2],
  points: [{ key: 'train/ants/a.jpg', split: 'train', label: 0, x: 0.1, y: -0.2 }],
});

async function rejectsNaming(read: Promise<unknown>, key: string, problem: RegExp): Promise<void> {
  await assert.rejects(read, (err: unknown) => {
    assert.ok(err instanceof InvalidArtefactError, String(err));
    assert.ok(err instanceof DataError, 'a data problem: exit 3');
    assert.match(err.message, new RegExp(`/${key.replace('.', '\\.')} is not a valid`));
    assert.match(err.message, problem);
    return true;
  });
}

test('what this build writes reads back as it was', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(MANIFEST_KEY, JSON.stringify(manifest()));
    await store.put(DATA_QUALITY_KEY, dataQualityFile(quality()));
    await store.put(CODE_MAP_KEY, codeMapFile(codeMap()));
    assert.deepEqual(await readManifest(store), manifest());
    assert.deepEqual(await readDataQuality(store), { version: 1, ...quality() });
    assert.deepEqual(await readCodeMap(store), { version: 1, ...codeMap() });
  }));

test('absent files: the manifest says which command writes it, the analysis files are simply absent', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await assert.rejects(readManifest(store), /no manifest\.json in .*: run "cnn-codes extract" first/);
    assert.equal(await readDataQuality(store), undefined);
    assert.equal(await readCodeMap(store), undefined);
    assert.equal(await readRunPlan(store), undefined);
  }));

test('a manifest of another version or with a mistyped entry is an error naming the file and the field', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(MANIFEST_KEY, JSON.stringify({ ...manifest(), version: 3 }));
    await rejectsNaming(readManifest(store), MANIFEST_KEY, /format 3: this cnn-codes reads formats 1 and 2/);
    const bad = manifest() as unknown as { entries: Array<Record<string, unknown>> };
    bad.entries[0]!.label = '0';
    await store.put(MANIFEST_KEY, JSON.stringify(bad));
    await rejectsNaming(readManifest(store), MANIFEST_KEY, /\$\.entries\[0\]\.label/);
    const noCodes = manifest() as unknown as { entries: Array<Record<string, unknown>> };
    delete noCodes.entries[0]!.codes;
    await store.put(MANIFEST_KEY, JSON.stringify(noCodes));
    await rejectsNaming(readManifest(store), MANIFEST_KEY, /\$\.entries\[0\]\.codes: required/);
  }));

test('a data-quality.json or code-map.json without a version (or malformed) is an error, not silently misread', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(DATA_QUALITY_KEY, JSON.stringify(quality()));
    await rejectsNaming(readDataQuality(store), DATA_QUALITY_KEY, /version undefined is not the one this build reads/);
    await store.put(
      DATA_QUALITY_KEY,
      JSON.stringify({ version: 1, ...quality(), leakage: [{ key: 'k', split: 'val', trainKeys: 'x', cosine: 1 }] }),
    );
    await rejectsNaming(readDataQuality(store), DATA_QUALITY_KEY, /\$\.leakage\[0\]\.trainKeys: expected an array/);
    await store.put(
      CODE_MAP_KEY,
      JSON.stringify({ version: 1, ...codeMap(), points: [{ key: 'k', split: 'val', label: 0, x: 'left', y: 0 }] }),
    );
    await rejectsNaming(readCodeMap(store), CODE_MAP_KEY, /\$\.points\[0\]\.x: expected a finite number/);
  }));

test('a plan.json with shards of the wrong shape is an error naming the file', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put('plan.json', JSON.stringify({ version: 2, runId: 'r1', shards: 'all' }));
    await rejectsNaming(readRunPlan(store), 'plan.json', /\$\.shards: expected an array/);
  }));

test('a serverless shard part of the wrong shape is an error naming the file', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const { namespaces, entries, rejects } = manifest();
    const part = {
      version: 1,
      index: 0,
      count: 1,
      namespaces,
      entries,
      rejects,
      embedded: 1,
      cached: 0,
      seconds: 0.5,
      worker: null,
    };
    await store.put('parts/000000.json', JSON.stringify(part));
    assert.deepEqual(await readShardPart(store, 0), part);
    await store.put(
      'parts/000000.json',
      JSON.stringify({ ...part, entries: [{ ...entries[0], codes: { final: { shard: 's0' } } }] }),
    );
    await rejectsNaming(readShardPart(store, 0), 'parts/000000.json', /\$\.entries\[0\]\.codes\.final\.row: required/);
  }));
