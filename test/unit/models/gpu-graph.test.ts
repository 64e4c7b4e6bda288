import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { namespaceOf } from '../../../core/features/feature-store.js';
import { decodeToRgb } from '../../../core/image/preprocess.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import { CUDA_KERNELS_SOURCE, cudaCoverage } from '../../../core/models/cuda-kernels.js';
import { parseDescriptor, type ModelDescriptor } from '../../../core/models/descriptor.js';
import { codeOutputName, RAW_INPUT } from '../../../core/models/onnx-graph.js';
import { prepareForTarget } from '../../../core/models/prepare-target.js';
import { preparedGraphKey } from '../../../core/models/prepared-graph-cache.js';
import { cudaVariant, type CudaVariant } from '../../../core/models/targets.js';
import { cosine, emulateFloat16, runCodes } from '../../helpers/float16-emulation.js';
import { cli } from '../../helpers/hymenoptera-run.js';
import { HYMENOPTERA, MODELS_DIR, withTempDir } from '../../helpers/paths.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const OFFLINE = BUILTIN_MODELS.filter((d) => !d.url?.includes('/resnet/'));
const IMAGES = [
  'val/ants/1053149811_f62a3410d3.jpg',
  'val/bees/10870992_eebeeb3a12.jpg',
  'val/bees/2407809945_fb525ef54d.jpg',
];

const crops = (d: ModelDescriptor) =>
  Promise.all(IMAGES.map(async (p) => decodeToRgb(await readFile(path.join(HYMENOPTERA, p)), d.preprocess)));
const all = (d: ModelDescriptor) => Object.keys(d.cutPoints);

test('the CUDA kernel list names its source: onnxruntime commit and path', () => {
  assert.match(CUDA_KERNELS_SOURCE.commit, /^[0-9a-f]{40}$/);
  assert.equal(CUDA_KERNELS_SOURCE.path, 'docs/OperatorKernels.md');
});

test('the operator check can fail: the int8 CPU graph has nodes the CUDA provider cannot run', async () => {
  const d = OFFLINE[0]!;
  const prepared = prepareForTarget(await readFile(path.join(MODELS_DIR, d.name, d.file)), d, all(d), 'cpu');
  const ops = new Set(cudaCoverage(prepared.bytes).missing.map((m) => `${m.domain}:${m.op}`));
  assert.ok(ops.has('ai.onnx:QLinearConv') && ops.has('com.microsoft:QLinearAdd'), [...ops].join(', '));
});

/** The variant the descriptor picks (what the GPU job runs) and the plain float16/float32 graphs. */
function variantsOf(d: ModelDescriptor): CudaVariant[] {
  const plain: CudaVariant[] = [
    cudaVariant(d),
    { precision: 'float16', activations: 'clamp' },
    { precision: 'float32', activations: 'clamp' },
  ];
  return plain.filter(
    (v, i) => plain.findIndex((w) => w.precision === v.precision && w.activations === v.activations) === i,
  );
}

for (const d of OFFLINE) {
  for (const variant of variantsOf(d)) {
    const { precision } = variant;
    test(`${d.name}, cuda ${precision}, activations ${variant.activations}: every node has a CUDA kernel for its type; uint8 RGB in, float32 codes out, dynamic batch`, async () => {
      const prepared = prepareForTarget(
        await readFile(path.join(MODELS_DIR, d.name, d.file)),
        d,
        all(d),
        'cuda',
        variant,
      );
      const coverage = cudaCoverage(prepared.bytes);
      assert.deepEqual(coverage.missing, []);
      const graph = onnx.ModelProto.decode(prepared.bytes).graph!;
      assert.ok(
        !graph.node!.some((n) => /^QLinear|Integer$/.test(n.opType ?? '') || n.domain),
        'no quantized or contrib ops left',
      );
      if (precision === 'float16')
        assert.ok(
          graph.initializer!.some((t) => t.dataType === T.FLOAT16),
          'weights stored in float16',
        );
      const input = graph.input![0]!;
      assert.equal(input.name, d.input.dtype === 'float32' ? RAW_INPUT : d.input.name);
      assert.equal(input.type!.tensorType!.elemType, T.UINT8);
      assert.ok(input.type!.tensorType!.shape!.dim![0]!.dimParam, 'symbolic batch');
      assert.deepEqual(
        graph.output!.map((o) => [o.name, o.type!.tensorType!.elemType]),
        all(d).map((c) => [codeOutputName(c), T.FLOAT]),
      );
    });
  }

  test(`${d.name}: the float32 GPU graph runs a batch of 3 on CPU and its float16 rounding moves codes by < 1 % (cosine)`, async () => {
    const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
    const f32 = prepareForTarget(bytes, d, ['final'], 'cuda', { precision: 'float32', activations: 'clamp' });
    const f16 = prepareForTarget(bytes, d, ['final'], 'cuda', { precision: 'float16', activations: 'clamp' });
    const images = await crops(d);
    const exact = await runCodes(f32.bytes, f32.inputName, f32.outputs.final!, images, d.input.size);
    const rounded = await runCodes(emulateFloat16(f16.bytes), f16.inputName, f16.outputs.final!, images, d.input.size);
    assert.equal(exact.length, 3);
    assert.equal(exact[0]!.length, d.cutPoints.final!.dim);
    for (let i = 0; i < 3; i++)
      assert.ok(cosine(exact[i]!, rounded[i]!) > 0.99, `image ${i}: ${cosine(exact[i]!, rounded[i]!)}`);
  });
}

test('codes of the GPU graph are cached apart from the int8 ones; CPU namespaces are as they were', () => {
  const d = OFFLINE[0]!;
  const cpu = namespaceOf(d, 'final');
  assert.equal(namespaceOf(d, 'final', 'cpu').id, cpu.id);
  const cuda = namespaceOf(d, 'final', 'cuda');
  assert.notEqual(cuda.id, cpu.id);
  assert.notEqual(
    namespaceOf({ ...d, targets: { cuda: { precision: 'float16' } } }, 'final', 'cuda').id,
    cuda.id,
    'float32 and float16 codes apart too',
  );
  assert.notEqual(
    namespaceOf({ ...d, targets: { cuda: { precision: 'float32' } } }, 'final', 'cuda').id,
    cuda.id,
    'exact and clamped codes apart too',
  );
});

test('the prepared-graph cache key holds the whole CUDA variant: a graph prepared under another choice is not reused', () => {
  const d = OFFLINE[0]!;
  const exact = preparedGraphKey(d, ['final'], 'cuda');
  assert.notEqual(
    preparedGraphKey({ ...d, targets: { cuda: { precision: 'float32', activations: 'clamp' } } }, ['final'], 'cuda'),
    exact,
  );
  assert.notEqual(preparedGraphKey({ ...d, targets: { cuda: { precision: 'float16' } } }, ['final'], 'cuda'), exact);
  assert.notEqual(preparedGraphKey(d, ['final'], 'cpu'), exact);
});

test('the exact integer graph runs in float32 only', async () => {
  const d = OFFLINE[0]!;
  assert.throws(
    () => prepareForTarget(Buffer.alloc(0), d, ['final'], 'cuda', { precision: 'float16', activations: 'int8-exact' }),
    /float32 only/,
  );
});

test('cnn-codes prepare writes the graph a target runs (its folder created) and refuses a missing --target', async () => {
  await withTempDir(async (dir) => {
    const output = path.join(dir, 'sub', 'mobilenet.cuda.onnx');
    const r = cli(['prepare', '--model', 'mobilenetv2-12-int8', '--target', 'cuda', '--output', output, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json.precision, 'float32');
    assert.equal(r.json.activations, 'int8-exact');
    assert.deepEqual(r.json.cuts, all(OFFLINE[0]!));
    assert.deepEqual(r.json.nodesWithoutCudaKernel, []);
    const written = await readFile(output);
    assert.deepEqual(cudaCoverage(written).missing, []);
    // Exactly the graph the GPU job prepares (same call, the descriptor's variant, every cut point).
    const d = OFFLINE[0]!;
    const expected = prepareForTarget(await readFile(path.join(MODELS_DIR, d.name, d.file)), d, all(d), 'cuda');
    assert.ok(Buffer.from(expected.bytes).equals(written), 'prepare wrote the GPU job graph byte for byte');
    const half = cli([
      'prepare',
      '--model',
      'mobilenetv2-12-int8',
      '--target',
      'cuda',
      '--precision',
      'float16',
      '--layer',
      'final',
      '--output',
      path.join(dir, 'half.onnx'),
      '--json',
    ]);
    assert.equal(half.status, 0, half.stderr);
    assert.deepEqual([half.json.precision, half.json.activations], ['float16', 'clamp']);
    const cpu = cli([
      'prepare',
      '--model',
      'mobilenetv2-12-int8',
      '--target',
      'cpu',
      '--layer',
      'final',
      '--output',
      path.join(dir, 'cpu.onnx'),
      '--json',
    ]);
    assert.equal(cpu.status, 0, cpu.stderr);
    assert.ok(
      cpu.json.nodesWithoutCudaKernel.some((m: { op: string }) => m.op === 'QLinearConv'),
      'the CPU graph is the int8 one',
    );
    const missing = cli(['prepare', '--model', 'mobilenetv2-12-int8', '--output', path.join(dir, 'x.onnx')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--target cpu\|cuda is required/);
  });
});

test('a descriptor may say which precision CUDA runs; anything else is refused', () => {
  const base = { ...OFFLINE[0]!, targets: { cuda: { precision: 'float32' } } };
  assert.equal(parseDescriptor(structuredClone(base)).targets?.cuda?.precision, 'float32');
  assert.throws(
    () => parseDescriptor({ ...structuredClone(base), targets: { cuda: { precision: 'int4' } } }),
    /targets/,
  );
  const exact = { ...structuredClone(base), targets: { cuda: { precision: 'float32', activations: 'int8-exact' } } };
  assert.equal(parseDescriptor(exact).targets?.cuda?.activations, 'int8-exact');
  assert.throws(
    () =>
      parseDescriptor({ ...structuredClone(base), targets: { cuda: { precision: 'float32', activations: 'int4' } } }),
    /activations/,
  );
});
