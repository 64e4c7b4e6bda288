import { ConfigError } from '../errors.js';
import { buildClassifier } from '../models/onnx-export.js';
import type { ClassifierInputKind } from '../models/onnx-export-metadata.js';
import { withDecode, type DecodeSetting } from '../models/descriptor.js';
import type { RegisteredModel } from '../models/registry.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import { modelForHead } from './tta.js';

export interface ExportDeps {
  /** The backbone's verified bytes (the adapter resolves and checks the file). */
  readModel: (model: RegisteredModel) => Promise<Uint8Array>;
}

export interface ExportRequest {
  head: HeadArtefact;
  model: RegisteredModel;
  /** 'rgb' (default): uint8 NHWC crops, normalization in the graph. 'float': the backbone's normalized input. */
  input?: ClassifierInputKind;
}

export interface ExportedClassifier {
  bytes: Uint8Array;
  summary: {
    model: string;
    layer: string;
    head: string;
    C: number;
    classes: string[];
    input: ClassifierInputKind;
    /** The JPEG decode the head was trained with, which the classifier's metadata names for its callers. */
    decode: DecodeSetting;
    bytes: number;
  };
}

/** A trained head + its backbone → one ONNX file that maps an image crop to class probabilities. */
export async function exportClassifier(deps: ExportDeps, request: ExportRequest): Promise<ExportedClassifier> {
  const { head, model } = request;
  if (head.model.sha256 !== model.descriptor.sha256) {
    throw new ConfigError(`head was trained on ${head.model.name} codes, not ${model.descriptor.name}`);
  }
  const input = request.input ?? 'rgb';
  const decode = trainedDecode(model, head);
  const bytes = buildClassifier(
    await deps.readModel(model),
    withDecode(model.descriptor, decode),
    { layer: head.layer, classes: head.classes, head: head.head },
    input,
  );
  return {
    bytes,
    summary: {
      model: model.descriptor.name,
      layer: head.layer,
      head: head.options.kind,
      C: head.options.C,
      classes: head.classes,
      input,
      decode,
      bytes: bytes.length,
    },
  };
}

/**
 * The decode the head's codes came from, read from its namespace: a head trained on the near-exact decode's codes is
 * exported with that decode in its metadata, so whoever feeds the classifier crops it the way the head was trained
 * (the setting the export itself runs under says nothing about the head). Test-time augmentation is not carried: the
 * exported graph classifies one crop. A head whose namespace matches neither decode keeps the model's own setting.
 */
function trainedDecode(model: RegisteredModel, head: HeadArtefact): DecodeSetting {
  return modelForHead(model, head).descriptor.preprocess.decode ?? 'exact';
}
