import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { OnnxBackbone } from '../../../core/backbone/onnx-backbone.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import { loadPreparedGraph, preparedGraphKey } from '../../../core/models/prepared-graph-cache.js';
import { prepareGraph } from '../../../core/models/onnx-graph.js';
import { MODELS_DIR, withTempDir } from '../../helpers/paths.js';

const d = BUILTIN_MODELS.find((m) => m.name === 'mobilenetv2-12-int8')!;
const modelPath = path.join(MODELS_DIR, d.name, d.file);

test('the key changes with the model, the cut points, the normalization and the target, and only with them', () => {
  const key = preparedGraphKey(d, ['final'], 'cpu');
  assert.equal(preparedGraphKey({ ...d }, ['final'], 'cpu'), key);
  assert.equal(preparedGraphKey({ ...d, name: 'renamed' }, ['final'], 'cpu'), key, 'a name is not content');
  for (const other of [
    preparedGraphKey({ ...d, sha256: 'f'.repeat(64) }, ['final'], 'cpu'),
    preparedGraphKey(d, ['final', 'block17'], 'cpu'),
    preparedGraphKey(d, ['final'], 'cuda'),
    preparedGraphKey({ ...d, preprocess: { ...d.preprocess, mean: [0.5, 0.5, 0.5] } }, ['final'], 'cpu'),
    preparedGraphKey(
      { ...d, cutPoints: { ...d.cutPoints, final: { ...d.cutPoints.final!, tensor: 'other' } } },
      ['final'],
      'cpu',
    ),
  ]) {
    assert.notEqual(other, key);
  }
});

test('the first load prepares and stores the graph, the second reads it without surgery', async () => {
  await withTempDir(async (dir) => {
    const first = await loadPreparedGraph(modelPath, d, ['final'], { cacheDir: dir });
    const second = await loadPreparedGraph(modelPath, d, ['final'], { cacheDir: dir });
    assert.deepEqual([first.cached, second.cached], [false, true]);
    assert.equal(second.path, first.path);
    assert.deepEqual(second.outputs, first.outputs);
    assert.deepEqual(second.descriptor, first.descriptor);
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    assert.equal(
      sha(await readFile(second.path!)),
      sha(prepareGraph(await readFile(modelPath), d, ['final'], { int8Weights: first.int8Weights! }).bytes),
      "the stored graph is the surgery's",
    );
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [`${first.key}.json`, `${first.key}.onnx`],
      'no temporary files left',
    );
    const bytes = await readFile(second.path!);
    const backbone = await OnnxBackbone.fromPrepared({ ...second, bytes, target: 'cpu' }, ['final']);
    assert.equal((await backbone.embed([new Uint8Array(224 * 224 * 3)])).final!.length, d.cutPoints.final!.dim);
    await backbone.dispose();
  });
});

test('an entry without its .json (a crash between the two renames) or with a foreign .json is prepared again', async () => {
  await withTempDir(async (dir) => {
    const first = await loadPreparedGraph(modelPath, d, ['final'], { cacheDir: dir });
    await writeFile(
      path.join(dir, `${first.key}.json`),
      JSON.stringify({ key: 'someone else', inputName: 'x', outputs: {} }),
    );
    const again = await loadPreparedGraph(modelPath, d, ['final'], { cacheDir: dir });
    assert.equal(again.cached, false);
    assert.equal((await loadPreparedGraph(modelPath, d, ['final'], { cacheDir: dir })).cached, true);
  });
});

test('without a cache folder the graph comes back as bytes', async () => {
  const source = await loadPreparedGraph(modelPath, d, ['final']);
  assert.equal(source.path, undefined);
  assert.ok(source.bytes && source.bytes.length > 1_000_000);
});
