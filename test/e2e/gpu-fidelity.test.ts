import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../../core/models/builtin.js';
import type { ModelDescriptor } from '../../core/models/descriptor.js';
import { cudaVariant, type CudaVariant } from '../../core/models/targets.js';
import { codesOf, defaultHeadScorer, fidelity, loadHymenoptera, type Image } from '../helpers/gpu-fidelity.js';
import { requireShared } from '../helpers/paths.js';

/**
 * The GPU graph's codes against the int8 codes the CPU path caches, on hymenoptera (run on CPU: float32 as it is,
 * float16 through the rounding emulation). The bound is the issue's: median cosine ≥ 0.99 for the variant each
 * descriptor picks, and the default run's head scores the GPU codes within one image of the int8 ones. The variants'
 * full table is `node dist/bench/gpu-fidelity.js` (docs/deploy.md, "GPU graph fidelity").
 */
const MEDIAN_BOUND = 0.99;
const byName = (name: string): ModelDescriptor => BUILTIN_MODELS.find((d) => d.name === name)!;
const label = (v: CudaVariant): string => `${v.precision}, activations ${v.activations}`;
let images: Image[] = [];

before(async () => {
  requireShared();
  images = await loadHymenoptera(byName(DEFAULT_MODEL).preprocess);
});

test(`${DEFAULT_MODEL}: its GPU variant reproduces the int8 codes on val, and the default run's head (fit on int8 train codes) scores them within one image`, async () => {
  const d = byName(DEFAULT_MODEL);
  const train = images.filter((i) => i.split === 'train');
  const val = images.filter((i) => i.split === 'val');
  const int8Val = await codesOf(d, 'int8', val);
  const correct = defaultHeadScorer(await codesOf(d, 'int8', train), train, val);
  const int8Correct = correct(int8Val);
  assert.equal(int8Correct, 146, 'the README figure: 95.4 % of 153');

  const variant = cudaVariant(d);
  assert.equal(
    variant.activations,
    'int8-exact',
    'the descriptor picks the exact integer graph (the clamp measured 0.985)',
  );
  const gpuVal = await codesOf(d, variant, val);
  const f = fidelity(int8Val, gpuVal);
  const gpuCorrect = correct(gpuVal);
  process.stdout.write(
    `# ${d.name} ${label(variant)}: cosine to int8 median ${f.median.toFixed(6)} min ${f.min.toFixed(6)}; val ${gpuCorrect}/153 (int8 ${int8Correct}/153)\n`,
  );
  assert.ok(Math.abs(gpuCorrect - int8Correct) <= 1, `${gpuCorrect} vs ${int8Correct} correct`);
  assert.ok(f.median >= MEDIAN_BOUND, `median cosine ${f.median}`);
  // What "exact" claims: every rounding as the int8 kernels', so every image's codes, not just the median.
  assert.ok(f.min >= 0.9999, `min cosine ${f.min}`);
});

for (const name of ['st-mobilenetv2-1.0-224-int8-qdq', 'shufflenet-v2-12-qdq']) {
  test(`${name}: GPU codes against int8 codes on 48 val images (median cosine ≥ ${MEDIAN_BOUND}), float16 as the descriptor picks and float32`, async () => {
    const d = byName(name);
    const val = images
      .filter((i) => i.split === 'val')
      .filter((_, k) => k % 3 === 0)
      .slice(0, 48);
    const int8 = await codesOf(d, 'int8', val);
    const chosen = cudaVariant(d);
    assert.equal(chosen.precision, 'float16');
    for (const variant of [chosen, { ...chosen, precision: 'float32' as const }]) {
      const f = fidelity(int8, await codesOf(d, variant, val));
      process.stdout.write(
        `# ${name} ${label(variant)}: cosine to int8 median ${f.median.toFixed(4)} min ${f.min.toFixed(4)} (${val.length} val images)\n`,
      );
      assert.ok(f.median >= MEDIAN_BOUND, `${label(variant)}: median cosine ${f.median}`);
    }
  });
}
