import { InvalidImageError, ModelError, errorMessage } from '../errors.js';
import { decodeToRgb, toTensor } from '../image/preprocess.js';
import {
  readClassifierInfo,
  CLASSIFIER_INPUT,
  CLASSIFIER_OUTPUT,
  type ClassifierInfo,
} from '../models/onnx-export-metadata.js';
import type { EmbedFailure, EmbedItem } from '../ports/embedder.js';
import type { ClassifyResult, ImageClassifier } from '../use-cases/predict.js';
import type { BackboneOptions } from './onnx-backbone.js';
import { openSession, Tensor, type InferenceSession } from './onnx-runtime.js';

/**
 * A classifier written by `cnn-codes export`: one session from image crop to probabilities. Decoding uses the same
 * preprocessing as extraction (resize and crop from the model's metadata), so its answers match predict --head.
 */
export class OnnxClassifier implements ImageClassifier {
  readonly batchSize: number;

  private constructor(
    readonly info: ClassifierInfo,
    private readonly session: InferenceSession,
    batchSize: number,
  ) {
    this.batchSize = batchSize;
  }

  static async create(
    modelBytes: Uint8Array,
    source: string,
    options: BackboneOptions & { batchSize?: number } = {},
  ): Promise<OnnxClassifier> {
    const info = readClassifierInfo(modelBytes, source);
    const session = await openSession(modelBytes, options, `classifier ${source}`);
    return new OnnxClassifier(info, session, options.batchSize ?? 8);
  }

  get classes(): string[] {
    return this.info.classes;
  }

  /** Raw RGB crops (H×W×3 uint8, the metadata's input size) → one probability row per crop. */
  async classifyCrops(crops: readonly Uint8Array[]): Promise<Float32Array[]> {
    if (crops.length === 0) return [];
    const [h, w] = this.info.input.size;
    const input =
      this.info.input.kind === 'rgb'
        ? new Tensor('uint8', concat(crops), [crops.length, h, w, 3])
        : new Tensor(
            'float32',
            toTensor(
              crops.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)),
              this.info.preprocess,
              this.info.input.layout,
            ),
            this.info.input.layout === 'NCHW' ? [crops.length, 3, h, w] : [crops.length, h, w, 3],
          );
    const output = (await this.session.run({ [CLASSIFIER_INPUT]: input }, [CLASSIFIER_OUTPUT]))[CLASSIFIER_OUTPUT];
    if (!output) throw new ModelError(`classifier has no "${CLASSIFIER_OUTPUT}" output`);
    const k = this.info.classes.length;
    const data = output.data as Float32Array;
    return crops.map((_, i) => data.slice(i * k, (i + 1) * k));
  }

  async classify(items: EmbedItem[]): Promise<ClassifyResult[]> {
    const decoded = await Promise.all(
      items.map(async (item): Promise<{ id: string; crop: Buffer } | { id: string; error: EmbedFailure }> => {
        try {
          return { id: item.id, crop: await decodeToRgb(item.bytes, this.info.preprocess) };
        } catch (err) {
          return {
            id: item.id,
            error: { kind: err instanceof InvalidImageError ? err.kind : 'decode-failed', message: errorMessage(err) },
          };
        }
      }),
    );
    const good = decoded.filter((d) => 'crop' in d);
    const probabilities = await this.classifyCrops(good.map((d) => d.crop));
    const byId = new Map(good.map((d, i) => [d.id, Array.from(probabilities[i]!)]));
    return decoded.map((d) =>
      'error' in d ? { id: d.id, error: d.error } : { id: d.id, probabilities: byId.get(d.id)! },
    );
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function concat(crops: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(crops.reduce((s, c) => s + c.byteLength, 0));
  let offset = 0;
  for (const c of crops) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
