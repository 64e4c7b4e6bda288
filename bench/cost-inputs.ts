/**
 * The per-image CPU figures behind docs/deploy.md's cost table, on one thread each, in one run (CPU time, so that a
 * shared machine's load does not inflate them):
 *   decode (sharp: JPEG → resize → crop) and inference per backbone, with inference / decode side by side — the ratio
 *   that decides whether a GPU pays (see the rule in docs/deploy.md).
 *
 *   node dist/bench/cost-inputs.js [--images 64] [--resnet50]     (--resnet50 exports a random-weight one with torch)
 *
 * Writes bench/results/cost-inputs.json (docs/cost.md renders it).
 */
import { readdir, readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxBackbone } from '../core/backbone/onnx-backbone.js';
import { configureSharpForWorker, decodeToRgb } from '../core/image/preprocess.js';
import { BUILTIN_MODELS } from '../core/models/builtin.js';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import type { ModelDescriptor } from '../core/models/descriptor.js';
import { HYMENOPTERA, MODELS_DIR, REPO_ROOT, withTempDir } from '../test/helpers/paths.js';
import { exportRandomResnet50 } from '../test/helpers/torchvision-resnet.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  options: { images: { type: 'string', default: '64' }, resnet50: { type: 'boolean', default: false } },
});
const count = Number(values.images);
const result = startResult('cost-inputs');
configureSharpForWorker();

const dir = path.join(HYMENOPTERA, 'val', 'bees');
const files = (await readdir(dir)).sort().slice(0, count);
const jpegs = await Promise.all(files.map((f) => readFile(path.join(dir, f))));
const preprocess = BUILTIN_MODELS[0]!.preprocess;
for (const j of jpegs.slice(0, 8)) await decodeToRgb(j, preprocess);
// CPU time of this process, not wall time: the figures must hold on a shared, loaded machine too.
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let started = cpuMs();
const crops: Buffer[] = [];
for (const j of jpegs) crops.push(await decodeToRgb(j, preprocess));
const decodeMs = (cpuMs() - started) / jpegs.length;

async function inferenceMs(bytes: Uint8Array, d: ModelDescriptor, target: 'cpu' | 'cuda'): Promise<number> {
  const backbone = await OnnxBackbone.create(bytes, d, ['final'], { threads: 1, target });
  const batch = Math.min(8, backbone.maxBatch);
  await backbone.embed(crops.slice(0, batch));
  started = cpuMs();
  let n = 0;
  for (let i = 0; i + batch <= crops.length; i += batch, n += batch) await backbone.embed(crops.slice(i, i + batch));
  const ms = (cpuMs() - started) / n;
  await backbone.dispose();
  return ms;
}

const rows: Array<[string, number]> = [];
for (const d of BUILTIN_MODELS.filter((m) => !m.url?.includes('/resnet/'))) {
  const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
  rows.push([`${d.name} int8 (CPU graph)`, await inferenceMs(bytes, d, 'cpu')]);
  if (d.name === BUILTIN_MODELS[0]!.name)
    rows.push([`${d.name} float32 (GPU graph, run on CPU)`, await inferenceMs(bytes, d, 'cuda')]);
}
if (values.resnet50) {
  await withTempDir(async (tmp) => {
    const { file, descriptor } = await exportRandomResnet50(tmp);
    rows.push([
      'ResNet-50 float32 (random weights)',
      await inferenceMs(await readFile(file), { ...descriptor, targets: {} }, 'cpu'),
    ]);
  });
}

process.stdout.write(
  `${describeCpu()}, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs; one thread each, CPU time per image\n`,
);
process.stdout.write(
  `decode (sharp, resize 256 + crop 224, ${jpegs.length} hymenoptera JPEGs): ${decodeMs.toFixed(1)} ms/image\n\n`,
);
process.stdout.write('| backbone | inference CPU ms/image (batch 8, 1 thread) | inference / decode |\n|---|---|---|\n');
for (const [name, ms] of rows) process.stdout.write(`| ${name} | ${ms.toFixed(1)} | ${(ms / decodeMs).toFixed(2)} |\n`);
const file = result.save({
  images: jpegs.length,
  decodeMs,
  inference: rows.map(([name, ms]) => ({ name, ms })),
});
process.stdout.write(`written: ${path.relative(REPO_ROOT, file)}\n`);
