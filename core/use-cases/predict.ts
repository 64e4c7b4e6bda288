import { loadHead } from '../heads/index.js';
import type { RegisteredModel } from '../models/registry.js';
import type { Embedder, EmbedFailure, EmbedItem } from '../ports/embedder.js';
import { ConfigError, InvalidImageError } from '../errors.js';
import type { ProgressSink } from './progress.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';

export interface PredictDeps {
  model: RegisteredModel;
  head: HeadArtefact;
  openEmbedder: (model: RegisteredModel, cuts: string[]) => Promise<Embedder>;
  onProgress?: ProgressSink;
}

export type PredictResult =
  | { key: string; top: Array<{ label: string; probability: number }>; probabilities: number[] }
  | { key: string; error: { kind: string; message: string } };

export type ImageInput = { key: string; read: () => Promise<Uint8Array> };

/** One exported classifier file (backbone + head), decoding included: the other way to predict. */
export interface ImageClassifier {
  readonly classes: string[];
  readonly batchSize: number;
  classify(items: EmbedItem[]): Promise<ClassifyResult[]>;
  close(): Promise<void>;
}

export type ClassifyResult = { id: string; probabilities: number[] } | { id: string; error: EmbedFailure };

/** New images → the head's top-k labels. Images that cannot be decoded get an error entry, never a crash. */
export async function predict(deps: PredictDeps, images: ImageInput[], topK = 1): Promise<PredictResult[]> {
  if (deps.head.model.sha256 !== deps.model.descriptor.sha256) {
    throw new ConfigError(`head was trained on ${deps.head.model.name} codes, not ${deps.model.descriptor.name}`);
  }
  const head = loadHead(deps.head.head);
  const embedder = await deps.openEmbedder(deps.model, [deps.head.layer]);
  const classify = async (items: EmbedItem[]): Promise<ClassifyResult[]> =>
    (await embedder.embedBatch(items)).map((r) => {
      if ('error' in r) return r;
      const code = r.codes[deps.head.layer]!;
      return {
        id: r.id,
        probabilities: Array.from(
          head.predictProba({ rows: 1, cols: code.length, data: Float64Array.from(code) }).data,
        ),
      };
    });
  try {
    return await predictInBatches(
      { classes: deps.head.classes, batchSize: embedder.batchSize, classify },
      images,
      topK,
      deps.onProgress,
    );
  } finally {
    await embedder.close();
  }
}

/** The same answers from an exported classifier (`cnn-codes export`), with no head file or model registry. */
export async function predictWithClassifier(
  deps: { openClassifier: () => Promise<ImageClassifier>; onProgress?: ProgressSink },
  images: ImageInput[],
  topK = 1,
): Promise<PredictResult[]> {
  const classifier = await deps.openClassifier();
  try {
    return await predictInBatches(classifier, images, topK, deps.onProgress);
  } finally {
    await classifier.close();
  }
}

async function predictInBatches(
  classifier: Pick<ImageClassifier, 'classes' | 'batchSize' | 'classify'>,
  images: ImageInput[],
  topK: number,
  onProgress?: ProgressSink,
): Promise<PredictResult[]> {
  const results: PredictResult[] = [];
  for (let start = 0; start < images.length; start += classifier.batchSize) {
    const slice = images.slice(start, start + classifier.batchSize);
    // A file that cannot be read (a FIFO, a device, one over the size limit) is a reject like an undecodable one.
    const unread: ClassifyResult[] = [];
    const read = await Promise.all(
      slice.map(async (img, i): Promise<EmbedItem | undefined> => {
        const id = String(start + i);
        try {
          return { id, bytes: await img.read() };
        } catch (err) {
          if (!(err instanceof InvalidImageError)) throw err;
          unread.push({ id, error: { kind: err.kind, message: err.message } });
          return undefined;
        }
      }),
    );
    const items = read.filter((item): item is EmbedItem => item !== undefined);
    const classified = [...(items.length > 0 ? await classifier.classify(items) : []), ...unread];
    for (const r of classified.sort((a, b) => Number(a.id) - Number(b.id))) {
      const key = images[Number(r.id)]!.key;
      if ('error' in r) {
        results.push({ key, error: r.error });
        continue;
      }
      const top = r.probabilities
        .map((probability, i) => ({ label: classifier.classes[i]!, probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, Math.max(1, topK));
      results.push({ key, top, probabilities: r.probabilities });
    }
    onProgress?.({
      phase: 'evaluate',
      done: Math.min(start + slice.length, images.length),
      total: images.length,
      message: 'predict',
    });
  }
  return results;
}
