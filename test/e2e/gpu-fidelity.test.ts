import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { crossValidate, createHead, defaultCGrid, matrixFromRows } from '../../core/heads/index.js';
import { decodeToRgb } from '../../core/image/preprocess.js';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../../core/models/builtin.js';
import type { ModelDescriptor } from '../../core/models/descriptor.js';
import { prepareForTarget } from '../../core/models/prepare-target.js';
import { cosine, emulateFloat16, median, runCodes } from '../helpers/float16-emulation.js';
import { HYMENOPTERA, MODELS_DIR, requireShared } from '../helpers/paths.js';

/**
 * The GPU graph's codes against the int8 codes the CPU path caches, on hymenoptera (run on CPU: float32 as it is, float16
 * through the rounding emulation). Bounds are set from measured figures (docs/deploy.md, "GPU graph fidelity").
 */
const byName = (name: string): ModelDescriptor => BUILTIN_MODELS.find((d) => d.name === name)!;
interface Image {
  split: string;
  label: number;
  crop: Buffer;
}
const images: Image[] = [];

before(async () => {
  requireShared();
  const preprocess = byName(DEFAULT_MODEL).preprocess;
  const classes = ['ants', 'bees'];
  for (const split of ['train', 'val']) {
    for (const [label, cls] of classes.entries()) {
      const dir = path.join(HYMENOPTERA, split, cls);
      for (const file of (await readdir(dir)).filter((f) => !f.startsWith('.')).sort()) {
        // One training "ant" is Flickr's image-not-found GIF; it decodes like any other image.
        images.push({ split, label, crop: await decodeToRgb(await readFile(path.join(dir, file)), preprocess) });
      }
    }
  }
});

async function codes(d: ModelDescriptor, variant: 'int8' | 'float32' | 'float16', subset: readonly Image[]): Promise<Float32Array[]> {
  const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
  const prepared = variant === 'int8' ? prepareForTarget(bytes, d, ['final'], 'cpu') : prepareForTarget(bytes, d, ['final'], 'cuda', { precision: variant });
  const graph = variant === 'float16' ? emulateFloat16(prepared.bytes) : prepared.bytes;
  const batch = prepared.descriptor.input.batch === 'dynamic' ? 16 : 1;
  return runCodes(graph, prepared.inputName, prepared.outputs.final!, subset.map((i) => i.crop), d.input.size, variant !== 'float16', batch);
}

const similarity = (a: Float32Array[], b: Float32Array[]): number[] => a.map((x, i) => cosine(x, b[i]!));

test(`${DEFAULT_MODEL}: GPU codes against int8 codes on val, and the default run's head (fit on int8 train codes) scores them within one image`, async () => {
  const d = byName(DEFAULT_MODEL);
  const train = images.filter((i) => i.split === 'train');
  const val = images.filter((i) => i.split === 'val');
  const int8Train = await codes(d, 'int8', train);
  const int8Val = await codes(d, 'int8', val);
  const y = Int32Array.from(train, (i) => i.label);
  const X = matrixFromRows(int8Train);
  // What `cnn-codes run` does by default: logistic head, C by stratified 5-fold CV on train (seed 0).
  const cv = crossValidate(defaultCGrid().map((C) => ({ id: `C=${C}`, X, options: { kind: 'logistic' as const, C, classWeight: null, seed: 0 } })), y, { folds: 5, seed: 0 });
  const head = createHead({ kind: 'logistic', C: cv.best.C, classWeight: null, seed: 0 }).fit(X, y);
  const yVal = Int32Array.from(val, (i) => i.label);
  const correct = (rows: Float32Array[]) => Math.round(head.score(matrixFromRows(rows), yVal) * yVal.length);
  const int8Correct = correct(int8Val);
  assert.equal(int8Correct, 146, 'the README figure: 95.4 % of 153');

  for (const variant of ['float32', 'float16'] as const) {
    const gpuVal = await codes(d, variant, val);
    const cos = similarity(int8Val, gpuVal);
    const gpuCorrect = correct(gpuVal);
    process.stdout.write(`# ${d.name} ${variant}: cosine to int8 median ${median(cos).toFixed(4)} min ${Math.min(...cos).toFixed(4)}; val ${gpuCorrect}/153 (int8 ${int8Correct}/153)\n`);
    assert.ok(Math.abs(gpuCorrect - int8Correct) <= 1, `${variant}: ${gpuCorrect} vs ${int8Correct} correct`);
    assert.ok(median(cos) >= MEDIAN_BOUND[d.name]!, `${variant}: median cosine ${median(cos)}`);
  }
});

/** Measured medians less a margin; mobilenetv2-12-int8 is below 0.99 (see docs/deploy.md for why). */
const MEDIAN_BOUND: Record<string, number> = { 'mobilenetv2-12-int8': 0.98, 'st-mobilenetv2-1.0-224-int8-qdq': 0.99, 'shufflenet-v2-12-qdq': 0.99 };

for (const name of ['st-mobilenetv2-1.0-224-int8-qdq', 'shufflenet-v2-12-qdq']) {
  test(`${name}: GPU codes against int8 codes on 48 val images (median cosine)`, async () => {
    const d = byName(name);
    const val = images.filter((i) => i.split === 'val').filter((_, k) => k % 3 === 0).slice(0, 48);
    const int8 = await codes(d, 'int8', val);
    for (const variant of ['float32', 'float16'] as const) {
      const cos = similarity(int8, await codes(d, variant, val));
      process.stdout.write(`# ${name} ${variant}: cosine to int8 median ${median(cos).toFixed(4)} min ${Math.min(...cos).toFixed(4)} (${val.length} val images)\n`);
      assert.ok(median(cos) >= MEDIAN_BOUND[name]!, `${variant}: median cosine ${median(cos)}`);
    }
  });
}
