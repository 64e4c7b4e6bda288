import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { useExactInt8Kernels } from '../../../core/models/onnx-int8-weights.js';

const { onnx } = onnxProto;
const { FLOAT, UINT8, INT8 } = onnx.TensorProto.DataType;

/**
 * A 1×1 convolution over 8 channels of 255 with weights of 127: the exact sum is 8·255·127 = 259 080, requantized
 * to 200. A u8·s8 kernel that adds pairs of products in int16 saturates at 2·32 767 per pair and gives ~101.
 */
const CHANNELS = 8;
const Y_SCALE = (CHANNELS * 255 * 127) / 200;

const scalar = (name: string, dataType: number, value: number) =>
  dataType === FLOAT
    ? { name, dims: [], dataType, floatData: [value] }
    : { name, dims: [], dataType, int32Data: [value] };
const value = (name: string, elemType: number, dims: number[]) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
});

function model(nodes: onnxProto.onnx.INodeProto[], extra: onnxProto.onnx.ITensorProto[]): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'saturation-probe',
      input: [value('x', UINT8, [1, CHANNELS, 1, 1])],
      output: [value('y', UINT8, [1, 1, 1, 1])],
      initializer: [
        { name: 'w', dims: [1, CHANNELS, 1, 1], dataType: INT8, rawData: new Uint8Array(CHANNELS).fill(127) },
        scalar('x_scale', FLOAT, 1),
        scalar('x_zp', UINT8, 0),
        scalar('w_scale', FLOAT, 1),
        scalar('w_zp', INT8, 0),
        scalar('y_scale', FLOAT, Y_SCALE),
        scalar('y_zp', UINT8, 0),
        ...extra,
      ],
      node: nodes,
    },
  });
}

const qoperator = () =>
  model(
    [
      {
        opType: 'QLinearConv',
        input: ['x', 'x_scale', 'x_zp', 'w', 'w_scale', 'w_zp', 'y_scale', 'y_zp'],
        output: ['y'],
        name: 'conv',
      },
    ],
    [],
  );
const qdq = () =>
  model(
    [
      { opType: 'DequantizeLinear', input: ['x', 'x_scale', 'x_zp'], output: ['x_float'], name: 'dq_x' },
      { opType: 'DequantizeLinear', input: ['w', 'w_scale', 'w_zp'], output: ['w_float'], name: 'dq_w' },
      { opType: 'Conv', input: ['x_float', 'w_float'], output: ['y_float'], name: 'conv' },
      { opType: 'QuantizeLinear', input: ['y_float', 'y_scale', 'y_zp'], output: ['y'], name: 'q_y' },
    ],
    [],
  );

async function run(m: onnxProto.onnx.ModelProto): Promise<number> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(m).finish());
  const out = await session.run({
    x: new ort.Tensor('uint8', new Uint8Array(CHANNELS).fill(255), [1, CHANNELS, 1, 1]),
  });
  await session.release();
  return (out.y!.data as Uint8Array)[0]!;
}

for (const [format, build] of [
  ['QOperator (QLinearConv)', qoperator],
  ['QDQ (DequantizeLinear → Conv)', qdq],
] as const) {
  test(`${format}: int8 weights become uint8 + 128 and the convolution is exact on this CPU`, async (t) => {
    t.diagnostic(`without the rewrite this CPU gives ${await run(build())} (exact: 200)`);
    const m = build();
    assert.equal(useExactInt8Kernels(m.graph as onnxProto.onnx.GraphProto), 1);
    const weights = m.graph!.initializer!.find((i) => i.name === 'w/u8')!;
    assert.equal(weights.dataType, UINT8);
    assert.deepEqual([...weights.rawData!], new Array(CHANNELS).fill(255));
    assert.deepEqual([...m.graph!.initializer!.find((i) => i.name === 'w_zp/u8')!.rawData!], [128]);
    assert.ok(
      !m.graph!.initializer!.some((i) => i.name === 'w'),
      'the int8 original is gone (onnxruntime would warn about it)',
    );
    assert.equal(await run(m), 200);
  });
}

test('int8 activations (s8·s8) are left alone', () => {
  const m = qoperator();
  const g = m.graph as onnxProto.onnx.GraphProto;
  g.initializer.find((i) => i.name === 'x_zp')!.dataType = INT8;
  assert.equal(useExactInt8Kernels(g), 0);
  assert.equal(g.initializer.find((i) => i.name === 'w')!.dataType, INT8);
});
