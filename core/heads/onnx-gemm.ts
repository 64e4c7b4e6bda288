import onnxProto from 'onnx-proto';
import { openSession, Tensor, type InferenceSession } from '../backbone/onnx-runtime.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * The two dense products of a linear model's loss and gradient over a chunk of float32 rows, run by onnxruntime
 * (MLAS SGEMM, intra-op threads across the cores): scores S = (X − c)·Wᵀ and back-propagation G = Rᵀ·(X − c). The
 * centring by a fixed vector c (the training mean) happens inside the graph, on the chunk while it is in cache, so the
 * float32 products never sum large uncentred values and no standardized copy of X is ever made. Per-feature scaling
 * and per-model offsets are folded into W and b by the caller, in float64 (see dense-objective.ts).
 */
export class OnnxGemm {
  private constructor(
    private readonly scoreSession: InferenceSession,
    private readonly backpropSession: InferenceSession,
    private readonly centerTensor: Tensor,
    /** c, as float64 (the value the graph subtracts, rounded to float32, widened back). */
    readonly center: Float64Array,
    readonly dim: number,
  ) {}

  static async create(centerValues: ArrayLike<number>, threads?: number): Promise<OnnxGemm> {
    const center = Float32Array.from(centerValues);
    const settings = { threads };
    const [scores, backprop] = await Promise.all([
      openSession(scoresGraph(), settings, 'heads: scores graph'),
      openSession(backpropGraph(), settings, 'heads: gradient graph'),
    ]);
    return new OnnxGemm(scores, backprop, new Tensor('float32', center, [center.length]), Float64Array.from(center), center.length);
  }

  /** (X − c)·Wᵀ for `rows` rows: X is rows × d, W is m × d (row-major), the result rows × m. */
  async scores(X: Float32Array, rows: number, W: Float32Array, m: number): Promise<Float32Array> {
    const out = await this.scoreSession.run({
      x: new Tensor('float32', X.subarray(0, rows * this.dim), [rows, this.dim]),
      center: this.centerTensor,
      w: new Tensor('float32', W, [m, this.dim]),
    });
    return out['scores']!.data as Float32Array;
  }

  /** Rᵀ·(X − c): R is rows × m, the result m × d. */
  async backprop(R: Float32Array, X: Float32Array, rows: number, m: number): Promise<Float32Array> {
    const out = await this.backpropSession.run({
      r: new Tensor('float32', R.subarray(0, rows * m), [rows, m]),
      x: new Tensor('float32', X.subarray(0, rows * this.dim), [rows, this.dim]),
      center: this.centerTensor,
    });
    return out['gradient']!.data as Float32Array;
  }

  async release(): Promise<void> {
    await Promise.all([this.scoreSession.release(), this.backpropSession.release()]);
  }
}

function scoresGraph(): Uint8Array {
  return model('cnn_codes_head_scores', [input('x', ['N', 'D']), input('center', ['D']), input('w', ['M', 'D'])], [
    node('Sub', ['x', 'center'], 'centred'),
    node('Gemm', ['centred', 'w'], 'scores', [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
  ], [input('scores', ['N', 'M'])]);
}

function backpropGraph(): Uint8Array {
  return model('cnn_codes_head_gradient', [input('r', ['N', 'M']), input('x', ['N', 'D']), input('center', ['D'])], [
    node('Sub', ['x', 'center'], 'centred'),
    node('Gemm', ['r', 'centred'], 'gradient', [{ name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
  ], [input('gradient', ['M', 'D'])]);
}

function model(
  name: string, inputs: onnxProto.onnx.IValueInfoProto[], nodes: onnxProto.onnx.INodeProto[], outputs: onnxProto.onnx.IValueInfoProto[],
): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cnn-codes',
    graph: { name, input: inputs, node: nodes, output: outputs },
  }).finish();
}

function input(name: string, dims: string[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimParam: d })) } } } };
}

function node(opType: string, inputs: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto {
  return { opType, input: inputs, output: [output], name: output, attribute, domain: '' };
}
