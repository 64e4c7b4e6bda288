import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { ExtractionPool } from '../../core/backbone/extraction-pool.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import { ModelRegistry, resolveModelFile } from '../../core/models/registry.js';
import { extract } from '../../core/use-cases/extract.js';
import { copyHymenopteraSubset } from '../helpers/local-pipeline.js';
import { PYTHON, REPO_ROOT, withTempDir } from '../helpers/paths.js';

test('a backbone exported by the fine-tune job is found by name in a models folder and extracts codes', () =>
  withTempDir(async (root) => {
    const models = path.join(root, 'models');
    const exported = spawnSync(
      PYTHON,
      ['-m', 'cnn_codes_finetune.export_for_test', '--out', models, '--name', 'mobilenetv2-ft-test'],
      {
        cwd: path.join(REPO_ROOT, 'jobs', 'fine-tune'),
        encoding: 'utf8',
      },
    );
    assert.equal(exported.status, 0, exported.stderr);
    const info = JSON.parse(exported.stdout.trim().split('\n').pop()!) as { model: string; folder: string };
    assert.equal(info.model, 'mobilenetv2-ft-test');

    const registry = new ModelRegistry();
    const model = await registry.lookup('mobilenetv2-ft-test', [models]);
    assert.equal(model.home, path.join(models, 'mobilenetv2-ft-test'));
    const data = path.join(root, 'data');
    await copyHymenopteraSubset(data, 2);
    const workspace = new FsBlobStore(path.join(root, 'work'));
    const { manifest, summary } = await extract(
      {
        data: new FsBlobStore(data),
        workspace,
        features: new FeatureStore(workspace),
        model,
        openEmbedder: async (m, cuts) => {
          const resolved = await resolveModelFile(m, { modelsDirs: [models], allowDownload: false });
          assert.equal(resolved.source, 'path');
          return ExtractionPool.start({ modelPath: resolved.path, descriptor: m.descriptor, cuts, workers: 1 });
        },
      },
      { cuts: ['block17', 'final'] },
    );
    assert.equal(summary.embedded, 8);
    assert.equal(summary.rejected, 0);
    assert.equal(manifest.model.name, 'mobilenetv2-ft-test');
    assert.equal(manifest.namespaces.final!.dim, model.descriptor.cutPoints.final!.dim);
    const codes = await new FeatureStore(workspace).readCodes(
      { ...manifest.namespaces.final!, model: 'mobilenetv2-ft-test', modelSha256: manifest.model.sha256, cut: 'final' },
      manifest.entries.map((e) => e.codes.final!),
    );
    assert.ok(codes.every(Number.isFinite));
    assert.ok(
      codes.some((v) => v !== 0),
      'codes carry signal',
    );
  }));
