import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { decodeToRgb } from '../../core/image/preprocess.js';
import { cudaCoverage } from '../../core/models/cuda-kernels.js';
import type { ModelDescriptor } from '../../core/models/descriptor.js';
import { prepareForTarget } from '../../core/models/prepare-target.js';
import { cosine, emulateFloat16, median, runCodes } from '../helpers/float16-emulation.js';
import { HYMENOPTERA, withTempDir } from '../helpers/paths.js';
import { exportRandomResnet50 } from '../helpers/torchvision-resnet.js';

/**
 * The GPU graph of a float32 torchvision model (the int8 models' checks are in test/unit/models/gpu-graph.test.ts).
 * Here and not among the unit tests: exporting the ResNet-50 takes the Python venv with torch and about half a minute.
 */

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const IMAGES = [
  'val/ants/1053149811_f62a3410d3.jpg',
  'val/bees/10870992_eebeeb3a12.jpg',
  'val/bees/2407809945_fb525ef54d.jpg',
];
const crops = (d: ModelDescriptor) =>
  Promise.all(IMAGES.map(async (p) => decodeToRgb(await readFile(path.join(HYMENOPTERA, p)), d.preprocess)));
const all = (d: ModelDescriptor) => Object.keys(d.cutPoints);

let resnet: { dir: string; file: string; descriptor: ModelDescriptor; release: () => void } | undefined;
before(async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await new Promise<void>((ready, failed) => {
    void withTempDir(async (dir) => {
      try {
        resnet = { dir, ...(await exportRandomResnet50(dir)), release };
        ready();
      } catch (err) {
        failed(err);
      }
      await held;
    });
  });
});
after(() => resnet?.release());

test('ResNet-50 (torchvision export, fp32 → fp16): every node on CUDA in float16, codes within 1 % of float32', async () => {
  const { file, descriptor } = resnet!;
  const bytes = await readFile(file);
  const f16 = prepareForTarget(bytes, descriptor, all(descriptor), 'cuda');
  assert.equal(f16.precision, 'float16');
  assert.deepEqual(cudaCoverage(f16.bytes).missing, []);
  const graph = onnx.ModelProto.decode(f16.bytes).graph!;
  const convWeights = graph
    .node!.filter((n) => n.opType === 'Conv')
    .map((n) => graph.initializer!.find((t) => t.name === n.input![1]));
  assert.ok(
    convWeights.length === 53 && convWeights.every((t) => t?.dataType === T.FLOAT16),
    'all 53 convolutions in float16',
  );
  assert.ok(f16.bytes.byteLength < bytes.byteLength * 0.5, 'half the bytes (the 1000-way classifier is dropped too)');

  const f32 = prepareForTarget(bytes, descriptor, ['final'], 'cuda', { precision: 'float32' });
  const images = await crops(descriptor);
  const exact = await runCodes(f32.bytes, f32.inputName, f32.outputs.final!, images, descriptor.input.size);
  const rounded = await runCodes(
    emulateFloat16(f16.bytes),
    f16.inputName,
    f16.outputs.final!,
    images,
    descriptor.input.size,
  );
  const similarity = exact.map((e, i) => cosine(e, rounded[i]!));
  assert.ok(median(similarity) > 0.999, similarity.join(', '));
});
