import onnxProto from 'onnx-proto';
import { ModelError } from '../errors.js';
import type { FloatConversion } from './onnx-float-graph.js';
import { floatNode as node, installConversion, opsetOf } from './onnx-float-graph.js';
import { dimsOf, floatTensor, tensorValues } from './onnx-tensors.js';

type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.GraphProto;
type Tensor = onnxProto.onnx.ITensorProto;
const T = onnxProto.onnx.TensorProto.DataType;
/** Ops that only move elements: on a quantized tensor they run on its integers. */
const MOVES_DATA = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);

/**
 * Rewrites a QOperator graph (QuantizeLinear, QLinearConv, QLinearAdd, QLinearGlobalAveragePool, QLinearMatMul,
 * DequantizeLinear of activations), in place, into float32 ops that compute what onnxruntime's CPU kernels compute,
 * bit for bit for QuantizeLinear, QLinearConv and QLinearAdd (checked layer by layer on mobilenetv2-12-int8); the
 * pooling and MatMul follow the same formula but were not checked that way (no built-in cut point reads them). Every quantized tensor `t` becomes `t/int`, its integer value less the zero point held in float32, and
 * each QLinear op becomes its float op on such integers (weights as w − w_zero_point, the int32 bias as is), times
 * the requantization scale in float32 as onnxruntime forms it (x_scale · w_scale / y_scale), Round (half to even, as
 * MLAS) and a Clip to the type's range less the output zero point. Products of 8-bit integers and their sums stay exact
 * in float32 while a sum stays under 2^24, so every rounding sees the same value the int8 kernel rounded.
 *
 * Why not the clamp of `dequantizeModel`: an int8 MobileNetV2's codes move as much for a one-step change of a few
 * activations as for leaving the rounding out altogether (docs/deploy.md, "GPU graph fidelity"): only a graph that
 * rounds exactly as the int8 one reproduces them. `t` itself (the dequantized value) is computed where a cut point or a
 * float op reads it; dead copies are pruned later. Only float32 holds these integers' sums: the graph stays float32.
 */
export function integerValuedModel(model: Model, modelName: string): FloatConversion {
  const graph = model.graph as Graph;
  if (opsetOf(model) < 11)
    throw new ModelError(`${modelName}: exact int8 emulation needs opset ≥ 11 (Round, Clip with inputs)`);
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const constant = (name: string): Tensor => {
    const t = initializers.get(name);
    if (!t) throw new ModelError(`${modelName}: "${name}" must be a constant (initializer) to emulate int8 exactly`);
    return t;
  };
  const values = (name: string | undefined): number[] => (name ? tensorValues(constant(name)) : [0]);
  const signed = (zeroPoint: string | undefined): boolean =>
    zeroPoint ? constant(zeroPoint).dataType === T.INT8 : false;
  const added: Tensor[] = [];
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const aliases = new Map<string, string>();
  const integer = new Map<string, { scale: number; zeroPoint: number }>();
  let converted = 0;
  const f32 = Math.fround;

  const constantOf = (name: string, dims: number[], data: number[]): string => {
    added.push(floatTensor(name, dims, data));
    return name;
  };
  /** acc · scale → Round → Clip: the requantization of MLAS, into the integer tensor `${out}/int`; `out` dequantized. */
  const requantize = (
    acc: string,
    scales: number[],
    out: string,
    yScale: string,
    yZero: string | undefined,
    rank: number,
  ): void => {
    const zp = values(yZero)[0]!;
    const [qMin, qMax] = signed(yZero) ? [-128, 127] : [0, 255];
    const dims = scales.length === 1 ? [] : [scales.length, ...Array<number>(rank - 2).fill(1)];
    // Scale first: onnxruntime's ConvMulFusion folds a Conv → Mul(x, constant) into the weights, which makes them
    // non-integers and moves the roundings; it does not match Mul(constant, x).
    nodes.push(node('Mul', [constantOf(`${out}/requant_scale`, dims, scales), acc], `${out}/scaled`));
    nodes.push(node('Round', [`${out}/scaled`], `${out}/rounded`));
    nodes.push(
      node(
        'Clip',
        [
          `${out}/rounded`,
          constantOf(`${out}/int_min`, [], [qMin - zp]),
          constantOf(`${out}/int_max`, [], [qMax - zp]),
        ],
        `${out}/int`,
      ),
    );
    dequantized(out, values(yScale)[0]!, zp);
  };
  const dequantized = (out: string, scale: number, zeroPoint: number): void => {
    integer.set(out, { scale, zeroPoint });
    nodes.push(node('Mul', [`${out}/int`, constantOf(`${out}/scale`, [], [scale])], out));
  };
  const intOf = (name: string): string => {
    if (!integer.has(name))
      throw new ModelError(`${modelName}: "${name}" is not a quantized activation this conversion made`);
    return `${name}/int`;
  };
  /**
   * A quantized weight less its zero point, as float32 integers: per tensor, or per output channel (a Conv weight's
   * axis 0, a MatMul weight's last axis).
   */
  const centeredWeight = (w: string, zeroPoint: string | undefined, channelAxisFirst: boolean): string => {
    const t = constant(w);
    const dims = dimsOf(t);
    const zps = values(zeroPoint);
    const inner = dims.slice(1).reduce((a, b) => a * b, 1);
    const channel = (i: number): number =>
      zps.length === 1 ? 0 : channelAxisFirst ? Math.floor(i / inner) : i % zps.length;
    return constantOf(
      `${w}/int`,
      dims,
      tensorValues(t).map((v, i) => v - zps[channel(i)]!),
    );
  };

  for (const n of graph.node) {
    const op = n.opType ?? '';
    const inputs = (n.input ?? []).map((i) => aliases.get(i) ?? i);
    const out = n.output?.[0] ?? '';
    if (op === 'QuantizeLinear' && !initializers.has(inputs[0]!)) {
      // The graph's one float → int8 step: onnxruntime's own QuantizeLinear, then the integer less its zero point.
      const [x, scale, zp] = inputs as [string, string, string | undefined];
      nodes.push(node('QuantizeLinear', zp ? [x, scale, zp] : [x, scale], `${out}/quantized`));
      nodes.push(
        node(
          'DequantizeLinear',
          zp
            ? [`${out}/quantized`, constantOf(`${out}/unit`, [], [1]), zp]
            : [`${out}/quantized`, constantOf(`${out}/unit`, [], [1])],
          `${out}/int`,
        ),
      );
      dequantized(out, values(scale)[0]!, values(zp)[0]!);
    } else if (op === 'DequantizeLinear' && integer.has(inputs[0]!)) {
      aliases.set(out, inputs[0]!);
      continue;
    } else if (op === 'QLinearConv' || op === 'QLinearMatMul') {
      const [x, xScale, , w, wScale, wZero, yScale, yZero, bias] = inputs as string[];
      const weight = centeredWeight(w!, wZero, op === 'QLinearConv');
      const xs = values(xScale)[0]!;
      const ys = values(yScale)[0]!;
      // onnxruntime: output_scales[i] = X_scale * W_scale[i] / Y_scale, in float32.
      const scales = values(wScale).map((ws) => f32(f32(xs * ws) / ys));
      const floatInputs = [intOf(x!), weight];
      if (bias) floatInputs.push(constantOf(`${bias}/int`, dimsOf(constant(bias)), values(bias)));
      nodes.push(node(op === 'QLinearConv' ? 'Conv' : 'MatMul', floatInputs, `${out}/acc`, n.attribute ?? []));
      requantize(`${out}/acc`, scales, out, yScale!, yZero, op === 'QLinearConv' ? 4 : 2);
    } else if (op === 'QLinearAdd') {
      const [a, aScale, aZero, b, bScale, bZero, cScale, cZero] = inputs as string[];
      const cs = values(cScale)[0]!;
      // MLAS: (A_scale / C_scale) · (A − A_zp) + (B_scale / C_scale) · (B − B_zp), rounded to even.
      const term = (x: string, scale: string, zeroPoint: string | undefined, suffix: string): string => {
        // A constant operand (a classifier's bias) is centered here once.
        const operand = initializers.has(x)
          ? constantOf(
              `${x}/int`,
              dimsOf(constant(x)),
              values(x).map((v) => v - values(zeroPoint)[0]!),
            )
          : intOf(x);
        nodes.push(
          node(
            'Mul',
            [operand, constantOf(`${out}/${suffix}_ratio`, [], [f32(values(scale)[0]! / cs)])],
            `${out}/${suffix}`,
          ),
        );
        return `${out}/${suffix}`;
      };
      nodes.push(node('Add', [term(a!, aScale!, aZero, 'a'), term(b!, bScale!, bZero, 'b')], `${out}/sum`));
      requantize(`${out}/sum`, [1], out, cScale!, cZero, 4);
    } else if (op === 'QLinearGlobalAveragePool') {
      const [x, xScale, , yScale, yZero] = inputs as string[];
      nodes.push(node('GlobalAveragePool', [intOf(x!)], `${out}/mean`));
      requantize(`${out}/mean`, [f32(values(xScale)[0]! / values(yScale)[0]!)], out, yScale!, yZero, 4);
    } else if (
      op.startsWith('QLinear') ||
      op.endsWith('Integer') ||
      op === 'QuantizeLinear' ||
      op === 'DequantizeLinear' ||
      (n.domain ?? '') !== ''
    ) {
      throw new ModelError(
        `${modelName}: exact int8 emulation covers QOperator graphs; cannot convert ${op} ("${n.name}")`,
      );
    } else if (MOVES_DATA.has(op) && integer.has(inputs[0]!)) {
      // Reshape, Transpose, …: they move the integers as they moved the bytes.
      const q = integer.get(inputs[0]!)!;
      nodes.push({ ...n, input: [intOf(inputs[0]!), ...inputs.slice(1)], output: [`${out}/int`] });
      dequantized(out, q.scale, q.zeroPoint);
    } else {
      // Any other float op (Shape, Gather, …) reads the dequantized values, as in the int8 graph.
      nodes.push({ ...n, input: inputs });
      continue;
    }
    converted += 1;
  }
  return installConversion(graph, nodes, added, aliases, converted);
}
