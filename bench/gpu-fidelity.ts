/**
 * Which GPU variant holds the int8 codes: for each registry model, the GPU graph's `final` codes (run on CPU; float16
 * through the rounding emulation) against the int8 graph's, per variant — precision float32/float16 × activations
 * 'clamp' (a Clip where the int8 graph quantized) / 'int8-rounding' (QuantizeLinear → DequantizeLinear there) — as
 * median and min cosine per image, and hymenoptera val correct under the default run's head fit on int8 train codes.
 * The baseline rows are the int8 graph itself and the int8 graph on inputs nudged by one step in 10 bytes (how far
 * a change too small to see moves the int8 codes). Writes bench/results/gpu-fidelity.json (bench/results-file.ts), from
 * which docs/deploy.md's table ("GPU graph fidelity") is rendered.
 *
 *   node dist/bench/gpu-fidelity.js [--models a,b] [--val N]     (N: every val image by default; 153)
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BUILTIN_MODELS, DEFAULT_MODEL } from '../core/models/builtin.js';
import { cudaVariant, type CudaVariant } from '../core/models/targets.js';
import { codesOf, defaultHeadScorer, fidelity, loadHymenoptera } from '../test/helpers/gpu-fidelity.js';
import { MODELS_DIR, requireShared } from '../test/helpers/paths.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mobilenetv2-12-int8,st-mobilenetv2-1.0-224-int8-qdq,shufflenet-v2-12-qdq' },
    val: { type: 'string' },
  },
});
requireShared();
const result = startResult('gpu-fidelity');
const VARIANTS: CudaVariant[] = [
  { precision: 'float32', activations: 'clamp' },
  { precision: 'float16', activations: 'clamp' },
  { precision: 'float32', activations: 'int8-rounding' },
  { precision: 'float16', activations: 'int8-rounding' },
  { precision: 'float32', activations: 'int8-exact' },
];
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const started = cpuSeconds();
const images = await loadHymenoptera(BUILTIN_MODELS.find((d) => d.name === DEFAULT_MODEL)!.preprocess);
const train = images.filter((i) => i.split === 'train');
const allVal = images.filter((i) => i.split === 'val');
const val = values.val
  ? allVal
      .filter((_, k) => k % Math.max(1, Math.floor(allVal.length / Number(values.val))) === 0)
      .slice(0, Number(values.val))
  : allVal;

/** A copy of a crop with 10 seeded bytes one step up (saturating at 255). */
function nudge(crop: Buffer, seed: number): Buffer {
  const copy = Buffer.from(crop);
  let state = seed + 1;
  for (let i = 0; i < 10; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const at = state % copy.length;
    copy[at] = Math.min(255, copy[at]! + 1);
  }
  return copy;
}

process.stdout.write(
  `| model | variant | images | median cosine | min cosine | val correct |\n|---|---|---|---|---|---|\n`,
);
/** One row per model and graph: `variant` is the int8 graph itself, its nudged inputs, or a GPU variant. */
const measured: Array<{
  model: string;
  variant: 'int8' | 'int8, 10 input bytes +1' | CudaVariant;
  chosen: boolean;
  images: number;
  medianCosine: number;
  minCosine: number;
  valCorrect: number | null;
}> = [];
for (const name of values.models.split(',')) {
  const d = BUILTIN_MODELS.find((m) => m.name === name);
  if (!d) throw new Error(`unknown model ${name}`);
  const quantizedOperators = (await readFile(path.join(MODELS_DIR, d.name, d.file))).includes('QLinearConv');
  const int8Val = await codesOf(d, 'int8', val);
  const correct = val === allVal ? defaultHeadScorer(await codesOf(d, 'int8', train), train, val) : undefined;
  const score = (rows: Float32Array[]): string => (correct ? `${correct(rows)}/${val.length}` : '–');
  process.stdout.write(`| ${name} | int8 (CPU graph) | ${val.length} | 1 | 1 | ${score(int8Val)} |\n`);
  const base = { model: name, chosen: false, images: val.length };
  measured.push({ ...base, variant: 'int8', medianCosine: 1, minCosine: 1, valCorrect: correct?.(int8Val) ?? null });
  // The noise floor: the same int8 graph with 10 of each image's 150,528 input bytes one step brighter.
  const nudged = fidelity(
    int8Val,
    await codesOf(
      d,
      'int8',
      val.map((image, k) => ({ ...image, crop: nudge(image.crop, k) })),
    ),
  );
  process.stdout.write(
    `| ${name} | int8, 10 input bytes +1 | ${val.length} | ${nudged.median.toFixed(4)} | ${nudged.min.toFixed(4)} | – |\n`,
  );
  measured.push({
    ...base,
    variant: 'int8, 10 input bytes +1',
    medianCosine: nudged.median,
    minCosine: nudged.min,
    valCorrect: null,
  });
  const chosen = cudaVariant(d);
  // int8-exact covers QOperator graphs (QLinearConv, …) only.
  for (const variant of VARIANTS.filter((v) => v.activations !== 'int8-exact' || quantizedOperators)) {
    const gpuVal = await codesOf(d, variant, val);
    const f = fidelity(int8Val, gpuVal);
    const isChosen = variant.precision === chosen.precision && variant.activations === chosen.activations;
    const mark = isChosen ? ' (descriptor)' : '';
    measured.push({
      ...base,
      variant,
      chosen: isChosen,
      medianCosine: f.median,
      minCosine: f.min,
      valCorrect: correct?.(gpuVal) ?? null,
    });
    process.stdout.write(
      `| ${name} | ${variant.precision}, ${variant.activations}${mark} | ${val.length} | ${f.median.toFixed(4)} | ${f.min.toFixed(4)} | ${score(gpuVal)} |\n`,
    );
  }
}
process.stdout.write(`\n${(cpuSeconds() - started).toFixed(0)} s CPU\n`);
console.log(`written: ${result.save({ cpuSeconds: cpuSeconds() - started, rows: measured })}`);
