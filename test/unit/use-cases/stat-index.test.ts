import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { SqliteStampIndex } from '../../../core/adapters/sqlite-stamp-index.js';
import { FeatureStore } from '../../../core/features/feature-store.js';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../../../core/models/builtin.js';
import type { Embedder } from '../../../core/ports/embedder.js';
import { extract } from '../../../core/use-cases/extract.js';
import { SIX_IMAGES, writeImages } from '../../helpers/fake-images.js';
import { withTempDir } from '../../helpers/paths.js';

const model = { descriptor: BUILTIN_MODELS.find((m) => m.name === DEFAULT_MODEL)! };
const dim = model.descriptor.cutPoints.final!.dim;

/** A stand-in backbone: the code of an image is a function of its bytes, so re-embedding would be visible. */
function fakeEmbedder(counter: { embedded: number }): Embedder {
  return {
    parallelism: 1,
    batchSize: 4,
    embedBatch: async (items) =>
      items.map((item) => {
        counter.embedded += 1;
        const seed = createHash('sha256').update(item.bytes).digest();
        return { id: item.id, codes: { final: Float32Array.from({ length: dim }, (_, i) => seed[i % 32]!) } };
      }),
    close: async () => {},
  };
}

/** The data folder behind a store that counts file reads. */
function countingStore(root: string): { store: FsBlobStore; reads: string[] } {
  const store = new FsBlobStore(root);
  const reads: string[] = [];
  const get = store.get.bind(store);
  store.get = async (key: string) => {
    reads.push(key);
    return get(key);
  };
  return { store, reads };
}

test('the stat index: a re-run reads no unchanged file; --verify reads all; renames are found by content', () =>
  withTempDir(async (root) => {
    const data = path.join(root, 'data');
    await writeImages(data, SIX_IMAGES);
    const workspace = new FsBlobStore(path.join(root, 'ws'));
    const counter = { embedded: 0 };
    const run = async (verify = false) => {
      const stamps = new SqliteStampIndex(path.join(root, 'ws', 'index.sqlite'));
      const { store, reads } = countingStore(data);
      const deps = {
        data: store,
        workspace,
        features: new FeatureStore(workspace, 'codes', stamps),
        model,
        stamps,
        openEmbedder: async () => fakeEmbedder(counter),
      };
      try {
        counter.embedded = 0;
        const result = await extract(deps, { verify });
        return { reads: reads.length, embedded: counter.embedded, manifest: result.manifest };
      } finally {
        stamps.close();
      }
    };

    const first = await run();
    assert.deepEqual([first.reads, first.embedded], [6, 6]);
    const second = await run();
    assert.deepEqual([second.reads, second.embedded], [0, 0], 'nothing changed: not one image is read');
    assert.deepEqual(second.manifest.entries, first.manifest.entries);
    const verified = await run(true);
    assert.deepEqual([verified.reads, verified.embedded], [6, 0], '--verify hashes every image, embeds none');

    await rename(path.join(data, 'train/a/1.jpg'), path.join(data, 'train/a/renamed.jpg'));
    await writeFile(path.join(data, 'train/b/3.jpg'), 'bytes of train/b/3.jpX'); // same path and size, new bytes
    const changed = await run();
    assert.equal(changed.reads, 2, 'the renamed file and the rewritten one are read, nothing else');
    assert.equal(changed.embedded, 1, 'the renamed file is found by its content; only the rewritten one is embedded');
  }));
