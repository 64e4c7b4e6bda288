import onnxProto from 'onnx-proto';
import { ModelError } from '../errors.js';
import type { ActivationMode } from './targets.js';
import { dimsOf, floatTensor, int64Tensor, tensorValues } from './onnx-tensors.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.GraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;
type Attribute = onnxProto.onnx.IAttributeProto;
const T = onnx.TensorProto.DataType;

/** QOperator ops → their float twin and where their float inputs sit (the rest are scales and zero points). */
const QOPERATORS: Record<string, { op: string; data: number[]; output: [number, number]; drop?: string[] }> = {
  QLinearConv: { op: 'Conv', data: [0], output: [6, 7] },
  QLinearMatMul: { op: 'MatMul', data: [0], output: [6, 7] },
  QLinearAdd: { op: 'Add', data: [0, 3], output: [6, 7] },
  QLinearMul: { op: 'Mul', data: [0, 3], output: [6, 7] },
  QLinearGlobalAveragePool: { op: 'GlobalAveragePool', data: [0], output: [3, 4], drop: ['channels_last'] },
  QLinearAveragePool: { op: 'AveragePool', data: [0], output: [3, 4], drop: ['channels_last'] },
  QLinearSigmoid: { op: 'Sigmoid', data: [0], output: [3, 4] },
  QLinearLeakyRelu: { op: 'LeakyRelu', data: [0], output: [3, 4] },
};

export interface FloatConversion {
  /** Tensors that no longer exist, each mapped to the float tensor that now carries its value. */
  aliases: Map<string, string>;
  /** Weights dequantized offline, Q/DQ pairs folded, QOperator nodes rewritten. */
  converted: number;
}

/**
 * Rewrites a quantized backbone, in place, as a float graph with the same tensor names: QOperator nodes
 * (QLinearConv, QLinearAdd, QLinearGlobalAveragePool, QLinearMatMul, …) become their float op on weights dequantized
 * offline (w − zero point) · scale, with int32 biases scaled by x_scale · w_scale; in QDQ graphs weight
 * DequantizeLinear nodes fold into float initializers and activation QuantizeLinear → DequantizeLinear pairs go.
 * Every place the int8 graph quantized an activation keeps the clamp that quantization implied, as a Clip to
 * [(q_min − zp) · s, (q_max − zp) · s]: a fused ReLU6 lives only in that range. With 'int8-rounding' each such
 * place becomes QuantizeLinear → DequantizeLinear instead (float32 in and out), which also rounds; it measured no
 * closer to the int8 codes than the clamp (docs/deploy.md, "GPU graph fidelity": float arithmetic flips a few
 * near-tie roundings, and an int8 MobileNetV2 amplifies any one-step change), and is kept to reproduce that table.
 * The exact alternative for QOperator graphs is `integerValuedModel`. A float graph passes through unchanged.
 */
export function dequantizeModel(
  model: Model,
  modelName: string,
  activations: ActivationMode = 'clamp',
): FloatConversion {
  const graph = model.graph as Graph;
  const opset = opsetOf(model);
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const graphInputs = new Set(graph.input.map((i) => i.name ?? ''));
  const aliases = new Map<string, string>();
  const resolve = (name: string): string => aliases.get(name) ?? name;
  const constant = (name: string): Tensor => {
    const t = initializers.get(name);
    if (!t) throw new ModelError(`${modelName}: "${name}" must be a constant (initializer) to be dequantized offline`);
    return t;
  };
  const scalar = (name: string): number => tensorValues(constant(name))[0] ?? 0;
  const added: Tensor[] = [];
  const nodes: Node[] = [];
  let converted = 0;

  /** The Clip a quantized activation implied; its output takes the quantized tensor's name. */
  const clampLike = (input: string, scale: string, zeroPoint: string | undefined, output: string): void => {
    if (activations === 'int8-rounding') {
      nodes.push(
        floatNode('QuantizeLinear', zeroPoint ? [input, scale, zeroPoint] : [input, scale], `${output}/requantized`),
      );
      nodes.push(
        floatNode(
          'DequantizeLinear',
          zeroPoint ? [`${output}/requantized`, scale, zeroPoint] : [`${output}/requantized`, scale],
          output,
        ),
      );
      return;
    }
    const s = scalar(scale);
    const zp = zeroPoint ? scalar(zeroPoint) : 0;
    const signed = zeroPoint ? constant(zeroPoint).dataType === T.INT8 : false;
    const [qMin, qMax] = signed ? [-128, 127] : [0, 255];
    const [lo, hi] = [(qMin - zp) * s, (qMax - zp) * s];
    if (opset >= 11) {
      added.push(floatTensor(`${output}/min`, [], [lo]), floatTensor(`${output}/max`, [], [hi]));
      nodes.push(floatNode('Clip', [input, `${output}/min`, `${output}/max`], output));
    } else {
      nodes.push(floatNode('Clip', [input], output, [floatAttr('min', lo), floatAttr('max', hi)]));
    }
  };
  /** Offline (q − zp) · scale of a constant, per tensor or along `axis`; returns the float initializer's name. */
  const dequantizeConstant = (
    q: string,
    scale: string,
    zeroPoint: string | undefined,
    axis: number | undefined,
    name: string,
  ): string => {
    const t = constant(q);
    const dims = dimsOf(t);
    const values = tensorValues(t);
    const scales = tensorValues(constant(scale));
    const zps = zeroPoint ? tensorValues(constant(zeroPoint)) : [0];
    const along = axis === undefined ? undefined : axis < 0 ? dims.length + axis : axis;
    const inner = along === undefined ? 1 : dims.slice(along + 1).reduce((a, b) => a * b, 1);
    const channels = along === undefined ? 1 : (dims[along] ?? 1);
    const channel = (i: number): number => (scales.length === 1 ? 0 : Math.floor(i / inner) % channels);
    added.push(
      floatTensor(
        name,
        dims,
        values.map((v, i) => (v - (zps[zps.length === 1 ? 0 : channel(i)] ?? 0)) * scales[channel(i)]!),
      ),
    );
    return name;
  };

  for (const n of graph.node) {
    const op = n.opType ?? '';
    const inputs = (n.input ?? []).map(resolve);
    const out = n.output?.[0] ?? '';
    if (op === 'QuantizeLinear') {
      clampLike(inputs[0]!, inputs[1]!, inputs[2], out);
    } else if (op === 'DequantizeLinear') {
      const [q, scale, zp] = inputs as [string, string, string | undefined];
      if (initializers.has(q))
        dequantizeConstant(
          q,
          scale,
          zp || undefined,
          intAttr(n, 'axis') ?? (tensorValues(constant(scale)).length > 1 ? 1 : undefined),
          out,
        );
      else if (graphInputs.has(q)) nodes.push({ ...n, input: inputs });
      else aliases.set(out, q);
    } else if (op === 'QLinearConcat') {
      // y_scale, y_zero_point, then (x, x_scale, x_zero_point) per input.
      const data = inputs.slice(2).filter((_, i) => i % 3 === 0);
      nodes.push(
        floatNode(
          'Concat',
          data,
          `${out}/float`,
          (n.attribute ?? []).filter((a) => a.name === 'axis'),
        ),
      );
      clampLike(`${out}/float`, inputs[0]!, inputs[1], out);
    } else if (op === 'QLinearConv' || op === 'QLinearMatMul') {
      const [x, xScale, , w, wScale, wZero, yScale, yZero, bias] = inputs;
      const weight = initializers.has(w!)
        ? dequantizeConstant(w!, wScale!, wZero, op === 'QLinearConv' ? 0 : -1, `${w}/float`)
        : w!;
      const floatInputs = [x!, weight];
      if (bias) {
        const xs = scalar(xScale!);
        const ws = tensorValues(constant(wScale!));
        const b = tensorValues(constant(bias));
        added.push(
          floatTensor(
            `${bias}/float`,
            [b.length],
            b.map((v, c) => v * xs * ws[ws.length === 1 ? 0 : c]!),
          ),
        );
        floatInputs.push(`${bias}/float`);
      }
      nodes.push(floatNode(QOPERATORS[op]!.op, floatInputs, `${out}/float`, n.attribute ?? []));
      clampLike(`${out}/float`, yScale!, yZero, out);
    } else if (QOPERATORS[op]) {
      const spec = QOPERATORS[op];
      const data = spec.data.map((i) => {
        const name = inputs[i]!;
        return initializers.has(name)
          ? dequantizeConstant(name, inputs[i + 1]!, inputs[i + 2], undefined, `${name}/float`)
          : name;
      });
      const attributes = (n.attribute ?? []).filter((a) => !(spec.drop ?? []).includes(a.name ?? ''));
      nodes.push(floatNode(spec.op, data, `${out}/float`, attributes));
      clampLike(`${out}/float`, inputs[spec.output[0]]!, inputs[spec.output[1]], out);
    } else if (op.startsWith('QLinear') || op.endsWith('Integer') || (n.domain ?? '') !== '') {
      throw new ModelError(
        `${modelName}: cannot convert ${n.domain ? `${n.domain}.` : ''}${op} ("${n.name}") to a float graph`,
      );
    } else {
      nodes.push({ ...n, input: inputs });
      continue;
    }
    converted += 1;
  }
  return installConversion(graph, nodes, added, aliases, converted);
}

/** Puts a rewritten node list and its new constants in place; outputs follow their aliases. */
export function installConversion(
  graph: Graph,
  nodes: Node[],
  added: Tensor[],
  aliases: Map<string, string>,
  converted: number,
): FloatConversion {
  graph.node = nodes;
  graph.initializer.push(...added);
  // Element types changed (uint8 → float): stale value infos would make the runtime refuse the graph.
  graph.valueInfo = [];
  for (const o of graph.output) o.name = aliases.get(o.name ?? '') ?? o.name;
  return { aliases, converted };
}

/**
 * Gives a graph exported with a fixed batch of `batch` a dynamic one: the input's first dimension becomes symbolic and
 * every constant Reshape target that starts with that batch copies the input's first dimension instead (0).
 */
export function makeBatchDynamic(graph: Graph, inputName: string, batch: number): void {
  const input = graph.input.find((i) => i.name === inputName);
  const first = input?.type?.tensorType?.shape?.dim?.[0];
  if (first) {
    delete first.dimValue;
    first.dimParam = 'N';
  }
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  for (const n of graph.node) {
    if (n.opType !== 'Reshape' || intAttr(n, 'allowzero') === 1) continue;
    const shape = initializers.get(n.input?.[1] ?? '');
    const values = shape ? tensorValues(shape) : [];
    if (values[0] !== batch) continue;
    const name = `${shape!.name}/dynamic_batch`;
    if (!initializers.has(name)) {
      const t = int64Tensor(name, dimsOf(shape!), [0, ...values.slice(1)]);
      initializers.set(name, t);
      graph.initializer.push(t);
    }
    n.input![1] = name;
  }
}

export function opsetOf(model: Model): number {
  const entry = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return Number(entry?.version ?? 1);
}

/** A node in the default domain, named after its output. */
export function floatNode(opType: string, input: string[], output: string, attribute: Attribute[] = []): Node {
  return { opType, input, output: [output], name: `${output}/${opType}`, attribute, domain: '' };
}

function floatAttr(name: string, f: number): Attribute {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

function intAttr(n: Node, name: string): number | undefined {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a ? Number(a.i ?? 0) : undefined;
}
