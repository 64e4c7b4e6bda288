import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { OnnxBackbone } from '../../../core/backbone/onnx-backbone.js';
import { ModelError } from '../../../core/errors.js';
import { decodeToRgb, toTensor } from '../../../core/image/preprocess.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import type { ModelDescriptor } from '../../../core/models/descriptor.js';
import { prepareGraph } from '../../../core/models/onnx-graph.js';
import { useExactInt8Kernels } from '../../../core/models/onnx-int8-weights.js';
import { HYMENOPTERA, MODELS_DIR } from '../../helpers/paths.js';

const { onnx } = onnxProto;
const byName = (name: string): ModelDescriptor => BUILTIN_MODELS.find((d) => d.name === name)!;
const IMAGES = ['val/ants/1053149811_f62a3410d3.jpg', 'val/bees/10870992_eebeeb3a12.jpg'].map((p) =>
  path.join(HYMENOPTERA, p),
);

/**
 * The reference runs the *unmodified* model the way its PROVENANCE.md describes (JS-normalized float tensor, raw
 * graph tensor as an extra output) and dequantizes/averages in plain JavaScript. Our graph surgery (raw-RGB input
 * with in-graph normalization, DequantizeLinear, GlobalAveragePool) must give the same vectors.
 */
async function referenceCodes(
  d: ModelDescriptor,
  modelBytes: Uint8Array,
  tensor: string,
  crops: Buffer[],
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph as onnxProto.onnx.GraphProto;
  // Exact integer arithmetic, as on a VNNI CPU or in WASM: without it an AVX2-only CPU saturates u8·s8 products.
  useExactInt8Kernels(graph);
  graph.output.push({ name: tensor });
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
  const [h, w] = d.input.size;
  const input =
    d.input.dtype === 'uint8'
      ? new ort.Tensor('uint8', Uint8Array.from(Buffer.concat(crops)), [crops.length, h, w, 3])
      : new ort.Tensor(
          'float32',
          toTensor(crops, d.preprocess, d.input.layout),
          d.input.layout === 'NCHW' ? [crops.length, 3, h, w] : [crops.length, h, w, 3],
        );
  const out = (await session.run({ [d.input.name]: input }, [tensor]))[tensor]!;
  await session.release();
  let data: Float32Array;
  if (out.type === 'uint8') {
    const init = (name: string) => graph.initializer.find((t) => t.name === name)!;
    const scaleT = init(`${tensor.replace(/_quantized$/, '')}_scale`);
    const zpT = init(`${tensor.replace(/_quantized$/, '')}_zero_point`);
    const raw = (t: typeof scaleT) => t.rawData ?? new Uint8Array(0);
    const scale = scaleT.floatData?.length
      ? scaleT.floatData[0]!
      : new DataView(raw(scaleT).buffer, raw(scaleT).byteOffset).getFloat32(0, true);
    const zp = zpT.int32Data?.length ? zpT.int32Data[0]! : raw(zpT)[0]!;
    data = Float32Array.from(out.data as Uint8Array, (q) => (q - zp) * scale);
  } else {
    data = out.data as Float32Array;
  }
  return { data, dims: out.dims };
}

function spatialMean(data: Float32Array, dims: readonly number[]): Float32Array {
  const [n, c] = [dims[0]!, dims[1]!];
  const hw = dims.length === 4 ? dims[2]! * dims[3]! : 1;
  const out = new Float32Array(n * c);
  for (let i = 0; i < n * c; i++) {
    let s = 0;
    for (let j = 0; j < hw; j++) s += data[i * hw + j]!;
    out[i] = s / hw;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const [name, cuts] of [
  ['mobilenetv2-12-int8', ['block13', 'block17', 'final']],
  ['st-mobilenetv2-1.0-224-int8-qdq', ['block12', 'final']],
] as const) {
  test(`${name}: one pass through the cut graph equals the unmodified model's tensors, pooled in JS`, async () => {
    const d = byName(name);
    const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
    const crops = await Promise.all(IMAGES.map(async (p) => decodeToRgb(await readFile(p), d.preprocess)));
    const backbone = await OnnxBackbone.create(bytes, d, cuts);
    const codes = await backbone.embed(crops);
    await backbone.dispose();
    for (const cut of cuts) {
      const ref = await referenceCodes(d, bytes, d.cutPoints[cut]!.tensor, crops);
      const expected = spatialMean(ref.data, ref.dims);
      assert.equal(codes[cut]!.length, crops.length * d.cutPoints[cut]!.dim, `${cut} dim`);
      // Float rounding only: normalization in-graph vs in JS differs in the last bits, and the int8 layers quantize
      // those away or pass them on; a wrong mean/std, layout or scale would be off by orders of magnitude more.
      const diff = maxAbsDiff(codes[cut]!, expected);
      const scale = Math.max(...expected.map(Math.abs));
      assert.ok(diff <= 0.02 * scale, `${name}/${cut}: max |diff| ${diff} vs max |code| ${scale}`);
    }
  });
}

test('a cut point naming a tensor that is not in the graph is a ModelError', async () => {
  const d = byName('mobilenetv2-12-int8');
  const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
  const broken: ModelDescriptor = { ...d, cutPoints: { final: { tensor: 'no_such_tensor', dim: 3 } } };
  assert.throws(
    () => prepareGraph(bytes, broken, ['final']),
    (err: unknown) => err instanceof ModelError && /no_such_tensor/.test(err.message),
  );
  assert.throws(() => prepareGraph(bytes, d, ['nope']), /no cut point "nope"/);
  assert.throws(() => prepareGraph(new Uint8Array([1, 2, 3, 4]), d, ['final']), ModelError);
});

test('shufflenet (batch fixed at 1) refuses bigger batches with a clear error', async () => {
  const d = byName('shufflenet-v2-12-qdq');
  const backbone = await OnnxBackbone.create(await readFile(path.join(MODELS_DIR, d.name, d.file)), d, ['final']);
  const crop = await decodeToRgb(await readFile(IMAGES[0]!), d.preprocess);
  assert.equal((await backbone.embed([crop])).final!.length, 1024);
  await assert.rejects(backbone.embed([crop, crop]), /batches of 1/);
  await backbone.dispose();
});
