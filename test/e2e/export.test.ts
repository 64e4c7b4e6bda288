import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { decodeToRgb, toTensor } from '../../core/image/preprocess.js';
import { readClassifierInfo } from '../../core/models/onnx-export-metadata.js';
import { BIN, cli, sharedHymenopteraRun } from '../helpers/hymenoptera-run.js';
import { HYMENOPTERA, PYTHON, REPO_ROOT, withTempDir } from '../helpers/paths.js';

type Probabilities = Map<string, number[]>;
const TOLERANCE = 1e-4;

/** The binary without blocking this process: WASM inference runs on this thread meanwhile. */
function spawnJson(command: string, args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, CNN_CODES_SHARED: path.dirname(path.dirname(HYMENOPTERA)) },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(
          new Error(
            `${path.basename(command)} ${args.slice(0, 2).join(' ')} exited ${code}: ${Buffer.concat(err).toString()}`,
          ),
        );
      resolve(JSON.parse(Buffer.concat(out).toString()));
    });
  });
}

const fromPredictions = (json: { predictions: Array<{ key: string; probabilities: number[] }> }): Probabilities =>
  new Map(json.predictions.map((p) => [p.key, p.probabilities]));

function maxAbsDiff(reference: Probabilities, other: Probabilities): number {
  assert.equal(other.size, reference.size, 'same images');
  let max = 0;
  for (const [key, p] of reference) {
    const q = other.get(key);
    assert.ok(q, `missing ${key}`);
    p.forEach((v, i) => (max = Math.max(max, Math.abs(v - q[i]!))));
  }
  return max;
}

async function valImages(): Promise<string[]> {
  const dir = path.join(HYMENOPTERA, 'val');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .sort();
}

async function runWeb(modelBytes: Uint8Array, crops: Buffer[], [h, w]: [number, number]): Promise<Float32Array[]> {
  ortWeb.env.wasm.numThreads = 1;
  const session = await ortWeb.InferenceSession.create(modelBytes);
  const rows: Float32Array[] = [];
  // Batch 1: onnxruntime-web's int8 kernels are fastest per image that way.
  for (const crop of crops) {
    const out = await session.run({ image: new ortWeb.Tensor('uint8', new Uint8Array(crop), [1, h, w, 3]) });
    rows.push(out.probabilities!.data as Float32Array);
  }
  await session.release();
  return rows;
}

test('export: one ONNX file whose probabilities match predict --head on every val image, in onnxruntime-node, -web (WASM) and Python', async (t) => {
  const started = performance.now();
  const workspace = await sharedHymenopteraRun();
  const runSeconds = (performance.now() - started) / 1000;
  await withTempDir(async (tmp) => {
    // Prepare: export both input kinds.
    const classifier = path.join(tmp, 'classifier.onnx');
    const exported = cli(['export', '--out', workspace, '--output', classifier, '--json']);
    assert.equal(exported.status, 0, exported.stderr);
    const floatClassifier = path.join(tmp, 'classifier-float.onnx');
    assert.equal(
      cli(['export', '--out', workspace, '--output', floatClassifier, '--input', 'float', '--json']).status,
      0,
    );
    const bytes = await readFile(classifier);
    const info = readClassifierInfo(bytes, classifier);
    assert.deepEqual(info.classes, ['ants', 'bees']);
    assert.equal(info.input.kind, 'rgb');
    const head = JSON.parse(await readFile(path.join(workspace, 'head.json'), 'utf8'));
    assert.equal(info.backbone.layer, head.layer);

    const images = await valImages();
    assert.equal(images.length, 153);
    const crops = await Promise.all(images.map(async (file) => decodeToRgb(await readFile(file), info.preprocess)));
    const cropsFile = path.join(tmp, 'crops.bin');
    await writeFile(cropsFile, Buffer.concat(crops));

    // Act: the reference and the other runtimes in child processes, WASM here meanwhile.
    const valDir = path.join(HYMENOPTERA, 'val');
    const reference = spawnJson(process.execPath, [
      BIN,
      'predict',
      valDir,
      '--out',
      workspace,
      '--head',
      path.join(workspace, 'head.json'),
      '--json',
    ]);
    const productPath = spawnJson(process.execPath, [
      BIN,
      'predict',
      valDir,
      '--model',
      classifier,
      '--json',
      '--top',
      '2',
    ]);
    const python = spawnJson(PYTHON, [
      path.join(REPO_ROOT, 'test', 'helpers', 'classifier_probabilities.py'),
      classifier,
      cropsFile,
      String(crops.length),
      ...info.input.size.map(String),
    ]);
    const webStarted = performance.now();
    const web = await runWeb(bytes, crops, info.input.size);
    t.diagnostic(
      `shared run ${runSeconds.toFixed(1)} s (0 when another test made it), WASM ${((performance.now() - webStarted) / 1000).toFixed(1)} s for 153 images`,
    );
    const floatSession = await ortNode.InferenceSession.create(await readFile(floatClassifier), {
      intraOpNumThreads: 1,
    });
    const [h, w] = info.input.size;
    const floatRows: Float32Array[] = [];
    for (let i = 0; i < crops.length; i += 16) {
      const batch = crops.slice(i, i + 16);
      const out = await floatSession.run({
        image: new ortNode.Tensor('float32', toTensor(batch, info.preprocess, 'NCHW'), [batch.length, 3, h, w]),
      });
      const p = out.probabilities!.data as Float32Array;
      batch.forEach((_, j) => floatRows.push(p.slice(j * 2, (j + 1) * 2)));
    }
    await floatSession.release();

    // Assess.
    const expected = fromPredictions(await reference);
    assert.equal(expected.size, 153);
    const byImage = (rows: ArrayLike<number>[]): Probabilities =>
      new Map(images.map((file, i) => [file, Array.from(rows[i]!)]));
    const py = await python;
    assert.deepEqual(py.classes, ['ants', 'bees'], 'class names in metadata_props, as Python reads them');
    const deltas = {
      'onnxruntime-node (cnn-codes predict --model)': maxAbsDiff(expected, fromPredictions(await productPath)),
      'onnxruntime-web (WASM, Node)': maxAbsDiff(expected, byImage(web)),
      'Python onnxruntime': maxAbsDiff(expected, byImage(py.probabilities)),
      'onnxruntime-node, --input float': maxAbsDiff(expected, byImage(floatRows)),
    };
    for (const [runtime, delta] of Object.entries(deltas)) {
      t.diagnostic(`max |Δp| ${runtime}: ${delta.toExponential(2)}`);
      assert.ok(delta <= TOLERANCE, `${runtime}: max |Δp| ${delta} > ${TOLERANCE}`);
    }
    await mkdir(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await writeFile(
      path.join(REPO_ROOT, 'test-artifacts', 'export-parity.json'),
      JSON.stringify({ images: 153, tolerance: TOLERANCE, maxAbsDiff: deltas }, null, 2),
    );
  });
});

test('export without a trained head exits 3 and says what to do', () =>
  withTempDir(async (tmp) => {
    const r = cli(['export', '--out', tmp]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /cannot read head/);
  }));
