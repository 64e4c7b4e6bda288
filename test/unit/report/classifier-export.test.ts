import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { ConfigError } from '../../../core/errors.js';
import { namespaceOf } from '../../../core/features/feature-store.js';
import { createHead, type HeadJSON } from '../../../core/heads/index.js';
import { loadHead } from '../../../core/heads/serialize.js';
import { withDecode, type DecodeSetting, type ModelDescriptor } from '../../../core/models/descriptor.js';
import { buildClassifier } from '../../../core/models/onnx-export.js';
import { readClassifierInfo } from '../../../core/models/onnx-export-metadata.js';
import { exportClassifier } from '../../../core/use-cases/export.js';
import { HEAD_ARTEFACT_VERSION, type HeadArtefact } from '../../../core/workspace/head-artefact.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * A 2×2-pixel "backbone": Relu of the normalized input is the feature map, averaged into a 3-vector; a dead
 * MatMul branch stands in for the ImageNet classifier that export must drop.
 */
const DESCRIPTOR: ModelDescriptor = {
  version: 1,
  name: 'tiny',
  file: 'tiny.onnx',
  sha256: '0'.repeat(64),
  input: { name: 'input', layout: 'NCHW', dtype: 'float32', batch: 'dynamic', size: [2, 2] },
  preprocess: {
    resize: 2,
    crop: [2, 2],
    kernel: 'linear',
    scale: 1 / 255,
    mean: [0.5, 0.4, 0.3],
    std: [0.2, 0.25, 0.3],
  },
  cutPoints: { final: { tensor: 'features', dim: 3 } },
};

function tinyBackbone(): Uint8Array {
  const value = (name: string, dims: Array<number | string>) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 12 }],
    graph: {
      name: 'tiny',
      input: [value('input', ['N', 3, 2, 2])],
      output: [value('imagenet_logits', ['N', 2])],
      initializer: [{ name: 'dead_weights', dims: [12, 2], dataType: FLOAT, floatData: new Array(24).fill(0.5) }],
      node: [
        { opType: 'Relu', input: ['input'], output: ['features'], name: 'relu' },
        { opType: 'Flatten', input: ['features'], output: ['flat'], name: 'flatten' },
        { opType: 'MatMul', input: ['flat', 'dead_weights'], output: ['imagenet_logits'], name: 'classifier' },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** What the backbone computes, in float64 JavaScript, for an HWC uint8 crop. */
function referenceCode(crop: Uint8Array): number[] {
  const { scale, mean, std } = DESCRIPTOR.preprocess;
  return [0, 1, 2].map(
    (c) => [0, 1, 2, 3].reduce((s, p) => s + Math.max(0, (crop[p * 3 + c]! * scale - mean[c]!) / std[c]!), 0) / 4,
  );
}

function fittedHead(nClasses: number): HeadJSON {
  const rows = 60;
  const X = {
    rows,
    cols: 3,
    data: Float64Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 12.9898) * 2 + (i % 3)),
  };
  const y = Int32Array.from(
    { length: rows },
    (_, i) => (X.data[i * 3]! > 0.5 ? 1 : 0) + (nClasses === 3 && X.data[i * 3 + 1]! > 1 ? 1 : 0),
  );
  return createHead({ kind: 'logistic', C: 1 }).fit(X, y).toJSON();
}

const crops = Array.from({ length: 5 }, (_, n) => Uint8Array.from({ length: 12 }, (_, i) => (n * 53 + i * 37) % 256));

for (const nClasses of [2, 3]) {
  test(`${nClasses}-class head: exported probabilities equal the head's on the backbone's codes, for rgb and float input`, async () => {
    const head = fittedHead(nClasses);
    const classes = ['a', 'b', 'c'].slice(0, nClasses);
    const expected = loadHead(head).predictProba({
      rows: crops.length,
      cols: 3,
      data: Float64Array.from(crops.flatMap(referenceCode)),
    });

    const rgb = buildClassifier(tinyBackbone(), DESCRIPTOR, { layer: 'final', classes, head }, 'rgb');
    const session = await ort.InferenceSession.create(rgb);
    assert.deepEqual(session.inputNames, ['image']);
    assert.deepEqual(session.outputNames, ['probabilities', 'label']);
    const batch = new Uint8Array(crops.length * 12);
    crops.forEach((c, i) => batch.set(c, i * 12));
    const out = await session.run({ image: new ort.Tensor('uint8', batch, [crops.length, 2, 2, 3]) });
    const probabilities = out.probabilities!.data as Float32Array;
    expected.data.forEach((p, i) =>
      assert.ok(Math.abs(p - probabilities[i]!) < 1e-6, `p[${i}] ${probabilities[i]} vs ${p}`),
    );
    const labels = Array.from(out.label!.data as BigInt64Array, Number);
    labels.forEach((label, i) =>
      assert.equal(
        label,
        loadHead(head).predict({ rows: 1, cols: 3, data: Float64Array.from(referenceCode(crops[i]!)) })[0],
      ),
    );

    const float = buildClassifier(tinyBackbone(), DESCRIPTOR, { layer: 'final', classes, head }, 'float');
    const normalized = Float32Array.from({ length: crops.length * 12 }, (_, j) => {
      const [n, c, p] = [Math.floor(j / 12), Math.floor((j % 12) / 4), j % 4];
      return (
        (crops[n]![p * 3 + c]! * DESCRIPTOR.preprocess.scale - DESCRIPTOR.preprocess.mean[c]!) /
        DESCRIPTOR.preprocess.std[c]!
      );
    });
    const floatOut = await (
      await ort.InferenceSession.create(float)
    ).run({ image: new ort.Tensor('float32', normalized, [crops.length, 3, 2, 2]) });
    const floatProbabilities = floatOut.probabilities!.data as Float32Array;
    expected.data.forEach((p, i) => assert.ok(Math.abs(p - floatProbabilities[i]!) < 1e-6));
  });
}

test("the file carries class names and how to feed it, and drops the backbone's own classifier", () => {
  const bytes = buildClassifier(tinyBackbone(), DESCRIPTOR, {
    layer: 'final',
    classes: ['ant', 'bee'],
    head: fittedHead(2),
  });
  const model = onnx.ModelProto.decode(bytes);
  const props = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  assert.deepEqual(JSON.parse(props.classes!), ['ant', 'bee']);
  const info = readClassifierInfo(bytes, 'tiny classifier');
  assert.deepEqual(info.input, { kind: 'rgb', name: 'image', layout: 'NHWC', dtype: 'uint8', size: [2, 2] });
  assert.deepEqual(info.backbone, { name: 'tiny', sha256: DESCRIPTOR.sha256, layer: 'final' });
  const graph = model.graph as onnxProto.onnx.GraphProto;
  assert.ok(!graph.initializer.some((t) => t.name === 'dead_weights'), 'dead initializer pruned');
  assert.ok(!graph.node.some((n) => n.opType === 'MatMul'), 'dead node pruned');
  assert.deepEqual(
    graph.input.map((i) => i.name),
    ['image'],
  );
});

test('refusals: float input for a uint8 backbone, a head for another layer width, class names that do not match', () => {
  const head = fittedHead(2);
  const uint8Backbone: ModelDescriptor = {
    ...DESCRIPTOR,
    input: { ...DESCRIPTOR.input, dtype: 'uint8', layout: 'NHWC' },
  };
  assert.throws(
    () => buildClassifier(tinyBackbone(), uint8Backbone, { layer: 'final', classes: ['a', 'b'], head }, 'float'),
    ConfigError,
  );
  assert.throws(
    () => buildClassifier(tinyBackbone(), DESCRIPTOR, { layer: 'final', classes: ['a', 'b', 'c'], head }),
    /2 classes but 3 class names/,
  );
  const wide = { ...DESCRIPTOR, cutPoints: { final: { tensor: 'features', dim: 4 } } };
  assert.throws(
    () => buildClassifier(tinyBackbone(), wide, { layer: 'final', classes: ['a', 'b'], head }),
    /expects 3 features/,
  );
  assert.throws(() => readClassifierInfo(tinyBackbone(), 'plain.onnx'), /not a cnn-codes classifier/);
});

/** A head.json as train writes it, for codes of `descriptor` at the tiny backbone's cut point. */
function headArtefact(descriptor: ModelDescriptor): HeadArtefact {
  return {
    version: HEAD_ARTEFACT_VERSION,
    model: { name: descriptor.name, sha256: descriptor.sha256 },
    layer: 'final',
    namespace: namespaceOf(descriptor, 'final').id,
    classes: ['ant', 'bee'],
    options: { kind: 'logistic', C: 1 },
    cv: null,
    head: fittedHead(2),
    trainedOn: 60,
    fitSeconds: 0,
    cacheKey: 'test',
  };
}

for (const trained of ['fast', 'exact'] as const) {
  for (const setting of ['fast', 'exact'] as const) {
    test(`export names the decode the head was trained with (${trained}), whatever the model's setting (${setting})`, async () => {
      const head = headArtefact(withDecode(DESCRIPTOR, trained));
      const exported = await exportClassifier(
        { readModel: async () => tinyBackbone() },
        { head, model: { descriptor: withDecode(DESCRIPTOR, setting) } },
      );
      const expected: DecodeSetting = trained;
      assert.equal(exported.summary.decode, expected);
      const info = readClassifierInfo(exported.bytes, 'tiny classifier');
      assert.deepEqual(info.preprocess, withDecode(DESCRIPTOR, trained).preprocess);
    });
  }
}
