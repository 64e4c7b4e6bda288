import type onnxProto from 'onnx-proto';
import type { InferenceSession, Tensor } from '../backbone/onnx-runtime.js';

type Onnx = typeof onnxProto.onnx;

/**
 * The two dense products of a linear model's loss and gradient over a chunk of float32 rows, run by onnxruntime
 * (MLAS SGEMM, intra-op threads across the cores): scores S = (X − c)·Wᵀ and back-propagation G = Rᵀ·(X − c). The
 * centring by a fixed vector c (the training mean) happens inside the graph, on the chunk while it is in cache, so the
 * float32 products never sum large uncentred values and no standardized copy of X is ever made. Per-feature scaling
 * and per-model offsets are folded into W and b by the caller, in float64 (see dense-objective.ts).
 *
 * onnxruntime and the protobuf encoder are imported when a head is first fitted, not when the CLI starts: `extract`
 * reaches this module through the command table, and loading both costs its start-up ~60 ms of one core.
 */
export class OnnxGemm {
  private constructor(
    private readonly scoreSession: InferenceSession,
    private readonly backpropSession: InferenceSession,
    private readonly tensor: typeof Tensor,
    private readonly centerTensor: Tensor,
    /** c, as float64 (the value the graph subtracts, rounded to float32, widened back). */
    readonly center: Float64Array,
    readonly dim: number,
  ) {}

  static async create(centerValues: ArrayLike<number>, threads?: number): Promise<OnnxGemm> {
    const [{ openSession, Tensor }, { default: proto }] = await Promise.all([
      import('../backbone/onnx-runtime.js'),
      import('onnx-proto'),
    ]);
    const center = Float32Array.from(centerValues);
    const settings = { threads };
    const [scores, backprop] = await Promise.all([
      openSession(scoresGraph(proto.onnx), settings, 'heads: scores graph'),
      openSession(backpropGraph(proto.onnx), settings, 'heads: gradient graph'),
    ]);
    return new OnnxGemm(
      scores,
      backprop,
      Tensor,
      new Tensor('float32', center, [center.length]),
      Float64Array.from(center),
      center.length,
    );
  }

  /** (X − c)·Wᵀ for `rows` rows: X is rows × d, W is m × d (row-major), the result rows × m. */
  async scores(X: Float32Array, rows: number, W: Float32Array, m: number): Promise<Float32Array> {
    const out = await this.scoreSession.run({
      x: new this.tensor('float32', X.subarray(0, rows * this.dim), [rows, this.dim]),
      center: this.centerTensor,
      w: new this.tensor('float32', W, [m, this.dim]),
    });
    return out['scores']!.data as Float32Array;
  }

  /** Rᵀ·(X − c): R is rows × m, the result m × d. */
  async backprop(R: Float32Array, X: Float32Array, rows: number, m: number): Promise<Float32Array> {
    const out = await this.backpropSession.run({
      r: new this.tensor('float32', R.subarray(0, rows * m), [rows, m]),
      x: new this.tensor('float32', X.subarray(0, rows * this.dim), [rows, this.dim]),
      center: this.centerTensor,
    });
    return out['gradient']!.data as Float32Array;
  }

  async release(): Promise<void> {
    await Promise.all([this.scoreSession.release(), this.backpropSession.release()]);
  }
}

function scoresGraph(onnx: Onnx): Uint8Array {
  return model(
    onnx,
    'cnn_codes_head_scores',
    [input(onnx, 'x', ['N', 'D']), input(onnx, 'center', ['D']), input(onnx, 'w', ['M', 'D'])],
    [
      node('Sub', ['x', 'center'], 'centred'),
      node('Gemm', ['centred', 'w'], 'scores', [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
    ],
    [input(onnx, 'scores', ['N', 'M'])],
  );
}

function backpropGraph(onnx: Onnx): Uint8Array {
  return model(
    onnx,
    'cnn_codes_head_gradient',
    [input(onnx, 'r', ['N', 'M']), input(onnx, 'x', ['N', 'D']), input(onnx, 'center', ['D'])],
    [
      node('Sub', ['x', 'center'], 'centred'),
      node('Gemm', ['r', 'centred'], 'gradient', [
        { name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      ]),
    ],
    [input(onnx, 'gradient', ['M', 'D'])],
  );
}

function model(
  onnx: Onnx,
  name: string,
  inputs: onnxProto.onnx.IValueInfoProto[],
  nodes: onnxProto.onnx.INodeProto[],
  outputs: onnxProto.onnx.IValueInfoProto[],
): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cnn-codes',
    graph: { name, input: inputs, node: nodes, output: outputs },
  }).finish();
}

function input(onnx: Onnx, name: string, dims: string[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimParam: d })) } },
    },
  };
}

function node(
  opType: string,
  inputs: string[],
  output: string,
  attribute: onnxProto.onnx.IAttributeProto[] = [],
): onnxProto.onnx.INodeProto {
  return { opType, input: inputs, output: [output], name: output, attribute, domain: '' };
}
