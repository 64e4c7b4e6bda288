import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ChecksumError, ModelError } from '../../../core/errors.js';
import type { ModelDescriptor } from '../../../core/models/descriptor.js';
import { ModelRegistry, resolveModelFile } from '../../../core/models/registry.js';
import { MODELS_DIR, withTempDir } from '../../helpers/paths.js';

// A local HTTP server on loopback stands in for the model zoo: the download path is real, the network is not needed.
const payload = Buffer.from('pretend this is an ONNX file '.repeat(5000));
const payloadSha = createHash('sha256').update(payload).digest('hex');
let server: Server;
let base = '';
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests += 1;
    if (req.url === '/model.onnx') {
      res.writeHead(200, { 'content-length': payload.length });
      res.end(payload);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function descriptor(overrides: Partial<ModelDescriptor>): ModelDescriptor {
  return {
    version: 1,
    name: 'tiny',
    file: 'tiny.onnx',
    sha256: payloadSha,
    url: `${base}/model.onnx`,
    input: { name: 'x', layout: 'NCHW', dtype: 'float32', batch: 'dynamic', size: [224, 224] },
    preprocess: { resize: 256, crop: [224, 224], kernel: 'linear', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
    cutPoints: { final: { tensor: 'y', dim: 4 } },
    ...overrides,
  };
}

test('download: fetched once over HTTP, verified, cached; the second resolve uses the cache', () =>
  withTempDir(async (dir) => {
    const model = { descriptor: descriptor({}) };
    const sources = { modelsDirs: [], cacheDir: path.join(dir, 'cache'), allowDownload: true };
    const before = requests;
    const first = await resolveModelFile(model, sources);
    assert.equal(first.source, 'download');
    assert.deepEqual(await readFile(first.path), payload);
    const second = await resolveModelFile(model, sources);
    assert.equal(second.source, 'cache');
    assert.equal(requests - before, 1);
  }));

test('download: a checksum mismatch is refused and leaves no file behind', () =>
  withTempDir(async (dir) => {
    const model = { descriptor: descriptor({ sha256: '0'.repeat(64) }) };
    const cacheDir = path.join(dir, 'cache');
    await assert.rejects(resolveModelFile(model, { modelsDirs: [], cacheDir, allowDownload: true }), ChecksumError);
    await assert.rejects(readFile(path.join(cacheDir, '0'.repeat(64), 'tiny.onnx')), /ENOENT/);
  }));

test('download: HTTP errors and disabled downloads give clear ModelErrors', () =>
  withTempDir(async (dir) => {
    const cacheDir = path.join(dir, 'cache');
    const missing = { descriptor: descriptor({ url: `${base}/missing.onnx` }) };
    await assert.rejects(resolveModelFile(missing, { modelsDirs: [], cacheDir, allowDownload: true }), /HTTP 404/);
    await assert.rejects(
      resolveModelFile({ descriptor: descriptor({}) }, { modelsDirs: [], cacheDir, allowDownload: false }),
      /allow downloads/,
    );
  }));

test('resolution order: a models folder wins over the cache, and a wrong local file is a ChecksumError', () =>
  withTempDir(async (dir) => {
    const models = path.join(dir, 'models');
    await mkdir(path.join(models, 'tiny'), { recursive: true });
    await writeFile(path.join(models, 'tiny', 'tiny.onnx'), payload);
    const found = await resolveModelFile(
      { descriptor: descriptor({}) },
      { modelsDirs: [models], cacheDir: path.join(dir, 'c'), allowDownload: false },
    );
    assert.equal(found.source, 'models-dir');
    await writeFile(path.join(models, 'tiny', 'tiny.onnx'), 'tampered');
    await assert.rejects(
      resolveModelFile({ descriptor: descriptor({}) }, { modelsDirs: [models], allowDownload: false }),
      ChecksumError,
    );
  }));

test('the shared models resolve by name with verified checksums', async () => {
  const registry = new ModelRegistry();
  for (const name of ['mobilenetv2-12-int8', 'st-mobilenetv2-1.0-224-int8-qdq', 'shufflenet-v2-12-qdq']) {
    const resolved = await resolveModelFile(await registry.lookup(name), {
      modelsDirs: [MODELS_DIR],
      allowDownload: false,
    });
    assert.equal(resolved.source, 'models-dir', name);
  }
});

test('unknown models list the known ones; a user descriptor in a models folder is found by name', () =>
  withTempDir(async (dir) => {
    const registry = new ModelRegistry();
    await assert.rejects(
      registry.lookup('nope'),
      (err: unknown) => err instanceof ModelError && /Known models: .*mobilenetv2-12-int8/.test(err.message),
    );
    await mkdir(path.join(dir, 'tiny'), { recursive: true });
    await writeFile(path.join(dir, 'tiny', 'tiny.json'), JSON.stringify(descriptor({})));
    await writeFile(path.join(dir, 'tiny', 'tiny.onnx'), payload);
    const model = await registry.lookup('tiny', [dir]);
    assert.equal(model.home, path.join(dir, 'tiny'));
    assert.equal((await resolveModelFile(model, { modelsDirs: [], allowDownload: false })).source, 'path');
  }));
