import onnxProto from 'onnx-proto';
import { ConfigError, ModelError } from '../errors.js';
import type { HeadJSON } from '../heads/head.js';
import type { ModelDescriptor } from './descriptor.js';
import { decodeModel, extendModel } from './onnx-graph.js';
import {
  classifierMetadata,
  CLASSIFIER_INPUT,
  CLASSIFIER_OUTPUT,
  LABEL_OUTPUT,
  type ClassifierInputKind,
  type ExportableHead,
} from './onnx-export-metadata.js';
import { pruneDeadNodes, renameTensor } from './onnx-export-prune.js';

export type { ExportableHead };

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.GraphProto;
type Node = onnxProto.onnx.INodeProto;
const INT = onnx.AttributeProto.AttributeType.INT;

/**
 * Backbone (cut at the head's layer, pooled) + the head as ONNX nodes → one model file that maps an image crop to class
 * probabilities. The head's standardization stays two explicit nodes (Sub, Div) instead of being folded into the Gemm
 * weights: in float32 the fold (b − W·mean/scale) cancels large terms and costs digits the 1e-4 parity needs.
 */
export function buildClassifier(
  modelBytes: Uint8Array,
  descriptor: ModelDescriptor,
  exported: ExportableHead,
  input: ClassifierInputKind = 'rgb',
): Uint8Array {
  if (input === 'float' && descriptor.input.dtype !== 'float32') {
    throw new ConfigError(
      `${descriptor.name} takes ${descriptor.input.dtype} input; a float-input classifier needs a float32 backbone`,
    );
  }
  const { head, classes, layer } = exported;
  if (head.nClasses !== classes.length)
    throw new ConfigError(`head has ${head.nClasses} classes but ${classes.length} class names`);
  const cut = descriptor.cutPoints[layer];
  if (!cut) throw new ModelError(`${descriptor.name} has no cut point "${layer}"`);
  if (cut.dim !== head.nFeatures)
    throw new ConfigError(`head expects ${head.nFeatures} features, cut point "${layer}" gives ${cut.dim}`);

  const model = decodeModel(modelBytes, descriptor.name);
  const prepared = extendModel(model, descriptor, [layer], { rawRgbInput: input === 'rgb' });
  const graph = model.graph as Graph;
  appendHead(graph, prepared.outputs[layer]!, head);
  renameTensor(graph, prepared.inputName, CLASSIFIER_INPUT);
  const batch = descriptor.input.batch === 'dynamic' ? { dimParam: 'N' } : { dimValue: descriptor.input.batch };
  graph.output = [
    {
      name: CLASSIFIER_OUTPUT,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [batch, { dimValue: classes.length }] },
        },
      },
    },
    {
      name: LABEL_OUTPUT,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [batch] } } },
    },
  ];
  pruneDeadNodes(graph);
  graph.name = `${descriptor.name}/${layer}/${head.options.kind}`;
  model.producerName = 'cnn-codes';
  model.docString = `${descriptor.name} cut at "${layer}", pooled, standardized, ${head.options.kind} head (C = ${head.options.C}${head.temperature !== undefined && head.temperature !== 1 ? `, temperature ${head.temperature.toPrecision(4)}` : ''}), softmax over ${classes.join(', ')}`;
  model.metadataProps = Object.entries(classifierMetadata(descriptor, exported, input)).map(([key, value]) => ({
    key,
    value,
  }));
  return onnx.ModelProto.encode(model).finish();
}

/** code → (code − mean) / scale → Gemm (→ × 1/T when calibrated) → Softmax; a binary head's single score s becomes logits [0, s]: softmax = sigmoid. */
function appendHead(graph: Graph, code: string, head: HeadJSON): void {
  const d = head.nFeatures;
  const rows = head.nClasses === 2 ? [new Array<number>(d).fill(0), head.weights[0]!] : head.weights;
  const intercepts = head.nClasses === 2 ? [0, head.intercepts[0]!] : head.intercepts;
  const calibrated = head.temperature !== undefined && head.temperature !== 1;
  if (calibrated)
    graph.initializer.push(floatTensor('cnn_codes/head/inverse_temperature', [], [1 / head.temperature!]));
  graph.initializer.push(
    floatTensor('cnn_codes/head/mean', [d], head.standardizer.mean),
    floatTensor('cnn_codes/head/scale', [d], head.standardizer.scale),
    floatTensor('cnn_codes/head/weights', [rows.length, d], rows.flat()),
    floatTensor('cnn_codes/head/intercepts', [rows.length], intercepts),
  );
  graph.node.push(
    node('Sub', [code, 'cnn_codes/head/mean'], 'cnn_codes/head/centered'),
    node('Div', ['cnn_codes/head/centered', 'cnn_codes/head/scale'], 'cnn_codes/head/standardized'),
    node(
      'Gemm',
      ['cnn_codes/head/standardized', 'cnn_codes/head/weights', 'cnn_codes/head/intercepts'],
      calibrated ? 'cnn_codes/head/scores' : 'cnn_codes/head/logits',
      [{ name: 'transB', type: INT, i: 1 }],
    ),
    // The calibration temperature: logits = scores / T (a Mul by 1/T), so the softmax is the head's predictProba.
    ...(calibrated
      ? [node('Mul', ['cnn_codes/head/scores', 'cnn_codes/head/inverse_temperature'], 'cnn_codes/head/logits')]
      : []),
    // axis=1 on a 2-D tensor means the same before and after opset 13's Softmax change.
    node('Softmax', ['cnn_codes/head/logits'], CLASSIFIER_OUTPUT, [{ name: 'axis', type: INT, i: 1 }]),
    node('ArgMax', [CLASSIFIER_OUTPUT], LABEL_OUTPUT, [
      { name: 'axis', type: INT, i: 1 },
      { name: 'keepdims', type: INT, i: 0 },
    ]),
  );
}

function node(opType: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []): Node {
  return { opType, input, output: [output], name: `${output}/${opType}`, attribute, domain: '' };
}

function floatTensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}
