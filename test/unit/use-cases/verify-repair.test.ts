import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { DataError } from '../../../core/errors.js';
import { FeatureStore, namespaceOf } from '../../../core/features/feature-store.js';
import { MANIFEST_KEY } from '../../../core/features/manifest.js';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../../../core/models/builtin.js';
import { extract, type ExtractDeps } from '../../../core/use-cases/extract.js';
import { modelForHead, withTta } from '../../../core/use-cases/tta.js';
import { repairWorkspace, verifyWorkspace } from '../../../core/use-cases/verify.js';
import { fakeEmbedder } from '../../helpers/distributed.js';
import { SIX_IMAGES, writeImages } from '../../helpers/fake-images.js';
import { withTempDir } from '../../helpers/paths.js';

const model = { descriptor: BUILTIN_MODELS.find((m) => m.name === DEFAULT_MODEL)! };

test('withTta sets or clears the flip, each with its own namespace; modelForHead finds it from the head', () => {
  const flipped = withTta(model, 'flip');
  assert.equal(flipped.descriptor.preprocess.tta, 'flip');
  assert.equal(withTta(flipped, 'none').descriptor.preprocess.tta, undefined);
  assert.equal(withTta(model, undefined), model);
  const plain = namespaceOf(model.descriptor, 'final');
  const mirrored = namespaceOf(flipped.descriptor, 'final');
  assert.notEqual(plain.id, mirrored.id);
  assert.equal(modelForHead(model, { layer: 'final', namespace: mirrored.id }).descriptor.preprocess.tta, 'flip');
  assert.equal(modelForHead(model, { layer: 'final', namespace: plain.id }), model);
});

test('verify finds a damaged shard; repair re-embeds exactly its rows from the folder the manifest names', () =>
  withTempDir(async (root) => {
    const data = path.join(root, 'data');
    await writeImages(data, SIX_IMAGES);
    const workspace = new FsBlobStore(path.join(root, 'ws'));
    const features = new FeatureStore(workspace, 'codes');
    const counter = { embedded: 0 };
    const opened: Array<[string, string]> = [];
    const deps = {
      workspace,
      features,
      openDataset: async (dataDir: string, name: string): Promise<ExtractDeps> => {
        opened.push([dataDir, name]);
        return {
          data: new FsBlobStore(dataDir),
          workspace,
          features,
          model,
          openEmbedder: async () => fakeEmbedder(model, ['final'], counter),
        };
      },
    };
    await extract(await deps.openDataset(data, DEFAULT_MODEL), { shardRows: 2 });
    assert.equal(counter.embedded, 6);
    const ns = namespaceOf(model.descriptor, 'final');
    const shards = path.join(root, 'ws', 'codes', ns.id, 'shards');
    const npy = (await readdir(shards)).filter((f) => f.endsWith('.npy')).sort();
    assert.ok(npy.length >= 2, `${npy.length} shards`);
    await writeFile(path.join(shards, npy[0]!), 'not the codes');

    const report = await verifyWorkspace(deps, { remove: true });
    assert.equal(report.clean, false);
    assert.deepEqual(
      report.damaged.map((d) => d.rows),
      [2],
    );
    counter.embedded = 0;
    opened.length = 0;
    const repaired = await repairWorkspace(deps);
    assert.deepEqual(opened, [[data, DEFAULT_MODEL]], 'the dataset and model the manifest names');
    assert.deepEqual([repaired.embedded, counter.embedded], [2, 2]);
    assert.equal((await verifyWorkspace(deps, { remove: false })).clean, true);

    const manifest = (await workspace.getJson<Record<string, unknown>>(MANIFEST_KEY))!;
    await workspace.put(MANIFEST_KEY, JSON.stringify({ ...manifest, dataset: 's3://bucket/data' }));
    await assert.rejects(repairWorkspace(deps), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, /s3:\/\/bucket\/data is not a local folder; pass --data DIR/);
      return true;
    });
    opened.length = 0;
    await repairWorkspace(deps, { data, model: 'other-name' }).catch(() => undefined);
    assert.deepEqual(opened, [[data, 'other-name']], '--data and --model override the manifest');
  }));
