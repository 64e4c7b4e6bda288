import { copyFile, mkdir, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { ExtractionPool } from '../../core/backbone/extraction-pool.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import { ModelRegistry, resolveModelFile, type RegisteredModel } from '../../core/models/registry.js';
import type { Embedder } from '../../core/ports/embedder.js';
import type { ExtractDeps } from '../../core/use-cases/extract.js';
import { HYMENOPTERA, MODELS_DIR } from './paths.js';

/** Local dependencies as the CLI builds them, plus a count of images that reached the backbone. */
export async function localPipeline(dataDir: string, workDir: string, modelName = 'mobilenetv2-12-int8') {
  const workspace = new FsBlobStore(workDir);
  const model = await new ModelRegistry().lookup(modelName, [MODELS_DIR]);
  const counter = { embedded: 0, opened: 0 };
  const openEmbedder = async (m: RegisteredModel, cuts: string[]): Promise<Embedder> => {
    counter.opened += 1;
    const resolved = await resolveModelFile(m, { modelsDirs: [MODELS_DIR], allowDownload: false });
    const pool = await ExtractionPool.start({ modelPath: resolved.path, descriptor: m.descriptor, cuts, workers: 2 });
    return {
      parallelism: pool.parallelism,
      batchSize: pool.batchSize,
      embedBatch: async (items) => {
        counter.embedded += items.length;
        return pool.embedBatch(items);
      },
      close: () => pool.close(),
    };
  };
  const deps: ExtractDeps = {
    data: new FsBlobStore(dataDir),
    workspace,
    features: new FeatureStore(workspace),
    model,
    openEmbedder,
  };
  return { deps, counter, workspace };
}

/** Copies the first `perClass` images of each class of each split of hymenoptera into `dir`. */
export async function copyHymenopteraSubset(dir: string, perClass: number, skip = 0): Promise<string[]> {
  const copied: string[] = [];
  for (const split of ['train', 'val']) {
    for (const cls of ['ants', 'bees']) {
      const from = path.join(HYMENOPTERA, split, cls);
      const files = (await readdir(from)).sort().slice(skip, skip + perClass);
      await mkdir(path.join(dir, split, cls), { recursive: true });
      for (const f of files) {
        await copyFile(path.join(from, f), path.join(dir, split, cls, f));
        copied.push(`${split}/${cls}/${f}`);
      }
    }
  }
  return copied;
}
