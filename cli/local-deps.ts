import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { SqliteManifestIndex, WORKSPACE_INDEX_FILE } from '../core/adapters/sqlite-manifest-index.js';
import { SqliteStampIndex } from '../core/adapters/sqlite-stamp-index.js';
import { startExtractionPool } from '../core/backbone/start-pool.js';
import type { ExecutionProvider } from '../core/backbone/onnx-backbone.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { ModelRegistry, resolveModelFile, type RegisteredModel } from '../core/models/registry.js';
import type { Embedder } from '../core/ports/embedder.js';
import type { ProgressSink } from '../core/use-cases/progress.js';
import type { CliEnvironment } from './config.js';

export interface LocalOptions {
  out: string;
  cache?: string;
  modelsDirs: string[];
  allowDownload: boolean;
  workers?: number;
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  /** Open the workspace's stamp index (`<out>/index.sqlite`): commands that extract or verify. */
  stamps?: boolean;
}

/** The workspace index: content hashes of images and checked shards by file version, and the manifest's entries. */
export const STAMP_INDEX_FILE = WORKSPACE_INDEX_FILE;

/** The embedded default: files for storage, worker threads for extraction, no cloud. */
export function localDeps(env: CliEnvironment, options: LocalOptions, onProgress?: ProgressSink) {
  const workspace = new FsBlobStore(options.out);
  const stamps = options.stamps ? new SqliteStampIndex(path.join(options.out, STAMP_INDEX_FILE)) : undefined;
  // Opened on first use: commands that read no manifest (predict, export) never create the file.
  const manifestIndex = new SqliteManifestIndex(path.join(options.out, STAMP_INDEX_FILE));
  const features = new FeatureStore(options.cache ? new FsBlobStore(options.cache) : workspace, 'codes', stamps);
  const modelsDirs = [...options.modelsDirs.map((d) => path.resolve(d)), ...env.modelsDirs];
  const registry = new ModelRegistry();
  const openEmbedder = async (model: RegisteredModel, cuts: string[]): Promise<Embedder> => {
    const resolved = await resolveModelFile(model, {
      modelsDirs,
      cacheDir: env.modelCacheDir,
      allowDownload: options.allowDownload,
      onDownload: (p) =>
        onProgress?.({
          phase: 'extract',
          done: p.receivedBytes,
          total: p.totalBytes ?? p.receivedBytes,
          message: `download ${model.descriptor.file}`,
        }),
    });
    const pool = await startExtractionPool({
      modelPath: resolved.path,
      descriptor: model.descriptor,
      cuts,
      preparedGraphCacheDir: env.preparedGraphCacheDir,
      int8Weights: env.int8Weights,
      ...(options.workers ? { workers: options.workers } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.executionProvider ? { executionProvider: options.executionProvider } : {}),
    });
    return env.embedLog ? loggingEmbeds(pool, env.embedLog) : pool;
  };
  return {
    workspace,
    features,
    manifestIndex,
    registry,
    modelsDirs,
    openEmbedder,
    target: options.executionProvider ?? 'cpu',
    ...(stamps ? { stamps } : {}),
  };
}

/**
 * Appends each batch's content hashes to `file` before the batch is embedded (synchronously, so a kill -9 right after
 * cannot lose the line), after a header with the pool's shape: what bench/scale compares across runs to count the
 * images a resume embeds again.
 */
function loggingEmbeds(pool: Embedder, file: string): Embedder {
  appendFileSync(file, `# parallelism ${pool.parallelism} batch ${pool.batchSize}\n`);
  return {
    parallelism: pool.parallelism,
    batchSize: pool.batchSize,
    embedBatch: (items) => {
      appendFileSync(file, items.map((item) => `${item.id}\n`).join(''));
      return pool.embedBatch(items);
    },
    close: () => pool.close(),
  };
}
