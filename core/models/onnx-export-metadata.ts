import { ModelError } from '../errors.js';
import type { HeadJSON } from '../heads/head.js';
import type { ModelDescriptor, PreprocessSpec } from './descriptor.js';
import { decodeModel } from './onnx-graph.js';

/** What of a trained head goes into the classifier: the cut point it reads and the fitted linear model. */
export interface ExportableHead {
  layer: string;
  classes: string[];
  head: HeadJSON;
}

/** Names of the exported classifier's interface: stable, because deployed callers hard-code them. */
export const CLASSIFIER_INPUT = 'image';
export const CLASSIFIER_OUTPUT = 'probabilities';
export const LABEL_OUTPUT = 'label';
export const CLASSIFIER_FORMAT = 'cnn-codes.classifier/1';

/** 'rgb': uint8 [N, H, W, 3] crops, normalized in the graph. 'float': the backbone's own normalized float input. */
export type ClassifierInputKind = 'rgb' | 'float';

/** What a caller needs to feed the classifier, read back from its metadata_props. */
export interface ClassifierInfo {
  classes: string[];
  input: {
    kind: ClassifierInputKind;
    name: string;
    layout: 'NHWC' | 'NCHW';
    dtype: 'uint8' | 'float32';
    size: [number, number];
  };
  /** The resize and crop (and, for 'float', the normalization) that must happen before the model. */
  preprocess: PreprocessSpec;
  backbone: { name: string; sha256: string; layer: string };
  head: { kind: string; C: number };
}

/**
 * metadata_props as string pairs. `classes` is a JSON array under a plain key so any ONNX reader finds it;
 * `cnn_codes.info` holds everything else as one JSON document.
 */
export function classifierMetadata(
  descriptor: ModelDescriptor,
  exported: ExportableHead,
  kind: ClassifierInputKind,
): Record<string, string> {
  const info: ClassifierInfo = {
    classes: exported.classes,
    input:
      kind === 'rgb'
        ? { kind, name: CLASSIFIER_INPUT, layout: 'NHWC', dtype: 'uint8', size: descriptor.input.size }
        : {
            kind,
            name: CLASSIFIER_INPUT,
            layout: descriptor.input.layout,
            dtype: 'float32',
            size: descriptor.input.size,
          },
    preprocess: descriptor.preprocess,
    backbone: { name: descriptor.name, sha256: descriptor.sha256, layer: exported.layer },
    head: { kind: exported.head.options.kind, C: exported.head.options.C },
  };
  return {
    format: CLASSIFIER_FORMAT,
    classes: JSON.stringify(exported.classes),
    'cnn_codes.info': JSON.stringify(info),
  };
}

export function parseClassifierMetadata(
  props: ReadonlyArray<{ key?: string | null; value?: string | null }>,
  source: string,
): ClassifierInfo {
  const get = (key: string) => props.find((p) => p.key === key)?.value ?? undefined;
  if (get('format') !== CLASSIFIER_FORMAT) {
    throw new ModelError(
      `${source} is not a cnn-codes classifier (metadata "format" is ${JSON.stringify(get('format') ?? null)}); export one with "cnn-codes export"`,
    );
  }
  try {
    return JSON.parse(get('cnn_codes.info') ?? '') as ClassifierInfo;
  } catch (err) {
    throw new ModelError(`${source}: unreadable cnn_codes.info metadata`, { cause: err });
  }
}

export function readClassifierInfo(modelBytes: Uint8Array, source: string): ClassifierInfo {
  return parseClassifierMetadata(decodeModel(modelBytes, source).metadataProps ?? [], source);
}
