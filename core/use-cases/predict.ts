import { loadHead } from '../heads/index.js';
import type { RegisteredModel } from '../models/registry.js';
import type { Embedder, EmbedItem } from '../ports/embedder.js';
import { ConfigError } from '../errors.js';
import type { ProgressSink } from './progress.js';
import type { HeadArtefact } from './train-head.js';

export interface PredictDeps {
  model: RegisteredModel;
  head: HeadArtefact;
  openEmbedder: (model: RegisteredModel, cuts: string[]) => Promise<Embedder>;
  onProgress?: ProgressSink;
}

export type PredictResult =
  | { key: string; top: Array<{ label: string; probability: number }>; probabilities: number[] }
  | { key: string; error: { kind: string; message: string } };

/** New images → the head's top-k labels. Images that cannot be decoded get an error entry, never a crash. */
export async function predict(deps: PredictDeps, images: Array<{ key: string; read: () => Promise<Uint8Array> }>, topK = 1): Promise<PredictResult[]> {
  if (deps.head.model.sha256 !== deps.model.descriptor.sha256) {
    throw new ConfigError(`head was trained on ${deps.head.model.name} codes, not ${deps.model.descriptor.name}`);
  }
  const head = loadHead(deps.head.head);
  const embedder = await deps.openEmbedder(deps.model, [deps.head.layer]);
  const results: PredictResult[] = [];
  try {
    for (let start = 0; start < images.length; start += embedder.batchSize) {
      const slice = images.slice(start, start + embedder.batchSize);
      const items: EmbedItem[] = await Promise.all(slice.map(async (img, i) => ({ id: String(start + i), bytes: await img.read() })));
      const embedded = await embedder.embedBatch(items);
      for (const r of embedded.sort((a, b) => Number(a.id) - Number(b.id))) {
        const key = images[Number(r.id)]!.key;
        if ('error' in r) {
          results.push({ key, error: r.error });
          continue;
        }
        const code = r.codes[deps.head.layer]!;
        const proba = head.predictProba({ rows: 1, cols: code.length, data: Float64Array.from(code) });
        const probabilities = Array.from(proba.data);
        const top = probabilities
          .map((probability, i) => ({ label: deps.head.classes[i]!, probability }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, Math.max(1, topK));
        results.push({ key, top, probabilities });
      }
      deps.onProgress?.({ phase: 'evaluate', done: Math.min(start + slice.length, images.length), total: images.length, message: 'predict' });
    }
  } finally {
    await embedder.close();
  }
  return results;
}
