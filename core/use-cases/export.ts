import { ConfigError } from '../errors.js';
import { buildClassifier } from '../models/onnx-export.js';
import type { ClassifierInputKind } from '../models/onnx-export-metadata.js';
import type { RegisteredModel } from '../models/registry.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';

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
  const bytes = buildClassifier(
    await deps.readModel(model),
    model.descriptor,
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
      bytes: bytes.length,
    },
  };
}
