import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as v from 'valibot';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import type { CodeLocation } from '../../../core/features/feature-store.js';
import type { Manifest } from '../../../core/features/manifest.js';
import type { HeadJSON, HeadOptions } from '../../../core/heads/index.js';
import type { CvRow } from '../../../core/heads/model-selection.js';
import type { CodeMapFile, DataQuality, TrainQuality } from '../../../core/quality/data-quality.js';
import { InvalidArtefactError } from '../../../core/workspace/artefact-error.js';
import type { CodeMapSchema, DataQualitySchema } from '../../../core/workspace/data-quality-artefact.js';
import type { Calibration, HeadArtefact } from '../../../core/workspace/head-artefact.js';
import { readHeadArtefact } from '../../../core/workspace/head-artefact.js';
import { HEAD_KEY } from '../../../core/workspace/keys.js';
import { headFileExample } from '../../helpers/hostile-files.js';
import { withTempDir } from '../../helpers/paths.js';

/**
 * The workspace files' types are derived from their schemas; where a part's type is declared by the module that writes
 * it (core/heads' HeadJSON, core/quality's analysis), these checks, made by the compiler, fail when the two disagree.
 */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const agree = <T extends true>(): T => true as T;

/** head.json as it was declared by hand before its schema: the derived type must be the same. */
interface DeclaredHeadArtefact {
  version: 1;
  model: { name: string; sha256: string };
  layer: string;
  namespace: string;
  classes: string[];
  options: HeadOptions;
  cv: {
    folds: number;
    seed: number;
    table: CvRow[];
    best: CvRow;
    wallSeconds?: number | undefined;
    cpuSeconds?: number | undefined;
    engine?: string | undefined;
  } | null;
  head: HeadJSON;
  trainedOn: number;
  fitSeconds: number;
  quality?: TrainQuality | undefined;
  calibration?: Calibration | undefined;
  cacheKey: string;
  compute?: { where: string; why: string } | undefined;
}

/** manifest.json (format 1) as it was declared by hand. */
interface DeclaredManifest {
  version: 1;
  dataset: string;
  model: { name: string; sha256: string };
  classes: string[];
  splitSynthesized: boolean;
  namespaces: Record<string, { id: string; dim: number }>;
  entries: Array<{
    key: string;
    split: string;
    label: number;
    contentHash: string;
    codes: Record<string, CodeLocation>;
  }>;
  rejects: Array<{ key: string; split: string; label: number; contentHash: string; kind: string; message: string }>;
  ignored: Array<{ key: string; reason: string }>;
}

test('the derived types are the declared ones, and agree with the types their writers declare', () => {
  assert.equal(agree<Equal<HeadArtefact, DeclaredHeadArtefact>>(), true);
  assert.equal(agree<Equal<HeadArtefact['head'], HeadJSON>>(), true);
  assert.equal(agree<Equal<Manifest, DeclaredManifest>>(), true);
  assert.equal(agree<Equal<Omit<v.InferOutput<typeof DataQualitySchema>, 'version'>, DataQuality>>(), true);
  assert.equal(agree<Equal<Omit<v.InferOutput<typeof CodeMapSchema>, 'version'>, CodeMapFile>>(), true);
  // The checker itself: two types that differ in one field are not equal.
  assert.equal(agree<Equal<Equal<{ a: number }, { a: number | null }>, false>>(), true);
});

const head = headFileExample();

test('a field a newer writer added is kept as read; an array is not an object', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    await store.put(HEAD_KEY, JSON.stringify({ ...head, addedLater: { x: 1 } }));
    assert.deepEqual(await readHeadArtefact(store), { ...head, addedLater: { x: 1 } });
    await store.put(HEAD_KEY, JSON.stringify({ ...head, model: [], head: [] }));
    await assert.rejects(readHeadArtefact(store), (err: unknown) => {
      assert.ok(err instanceof InvalidArtefactError);
      assert.deepEqual(err.problems, ['$.model: expected an object, got []', '$.head: expected an object, got []']);
      return true;
    });
  }));
