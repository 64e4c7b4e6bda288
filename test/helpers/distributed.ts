import { createHash } from 'node:crypto';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { InProcessQueue } from './in-process-queue.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import { parseStoreUri, splitLastSegment } from '../../core/messages/store-uri.js';
import { MESSAGE_VERSION, type RunMessage } from '../../core/messages/schema.js';
import { ModelRegistry, type RegisteredModel } from '../../core/models/registry.js';
import type { BlobInfo, BlobStore } from '../../core/ports/blob-store.js';
import type { Embedder, EmbedResult } from '../../core/ports/embedder.js';
import type { DistributedDeps } from '../../core/use-cases/distributed/deps.js';
import { indexCachingFeatureStore } from '../../core/use-cases/distributed/index-caching-features.js';

/**
 * A stand-in backbone for the distributed unit tests: codes are a pure function of the image bytes, so any
 * scheduling gives the same cache; bytes starting with "BAD" are rejected like an undecodable image.
 */
export function fakeEmbedder(model: RegisteredModel, cuts: string[], counter = { embedded: 0 }): Embedder {
  return {
    parallelism: 2,
    batchSize: 4,
    async embedBatch(items) {
      await new Promise((r) => setTimeout(r, 1));
      return items.map((item): EmbedResult => {
        counter.embedded += 1;
        const text = Buffer.from(item.bytes.subarray(0, 3)).toString('latin1');
        if (item.bytes.length === 0) return { id: item.id, error: { kind: 'empty', message: 'empty file: 0 bytes' } };
        if (text === 'BAD') return { id: item.id, error: { kind: 'decode-failed', message: 'not an image' } };
        const codes: Record<string, Float32Array> = {};
        for (const cut of cuts) {
          const dim = model.descriptor.cutPoints[cut]!.dim;
          const seed = createHash('sha256').update(cut).update(item.bytes).digest();
          codes[cut] = Float32Array.from({ length: dim }, (_, i) => (seed[i % 32]! - 128) / 64 + Math.sin(i));
        }
        return { id: item.id, codes };
      });
    },
    async close() {},
  };
}

/**
 * FsBlobStore.list stats each file after readdir, so a concurrent putIfAbsent's temp file that vanishes in between
 * fails the whole listing with ENOENT. Until core/adapters/fs-blob-store.ts skips vanished files, list again.
 */
class ConcurrentFsBlobStore extends FsBlobStore {
  override async *list(prefix: string): AsyncIterable<BlobInfo> {
    for (let attempt = 1; ; attempt++) {
      try {
        const all: BlobInfo[] = [];
        for await (const blob of super.list(prefix)) all.push(blob);
        yield* all;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
      }
    }
  }
}

export interface InProcessSetup {
  deps: DistributedDeps;
  queues: Record<'extract' | 'train' | 'evaluate' | 'run', InProcessQueue<unknown>>;
  deadLetters: Record<'extract' | 'train' | 'evaluate' | 'run', InProcessQueue<unknown>>;
  counter: { embedded: number };
  runMessage(runId: string, overrides?: Partial<RunMessage>): RunMessage;
}

/** Folders for stores, in-process queues with DLQs: the whole distributed pipeline with no network. */
export function inProcessSetup(
  root: string,
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): InProcessSetup {
  const stores = new Map<string, BlobStore>();
  const openStore = (uri: string): BlobStore => {
    const parsed = parseStoreUri(uri);
    if (parsed.scheme !== 'file') throw new Error(`test deps serve folders only: ${uri}`);
    if (!stores.has(uri)) stores.set(uri, new ConcurrentFsBlobStore(parsed.path));
    return stores.get(uri)!;
  };
  const writers = new Map<string, FeatureStore>();
  const deadLetters = {
    run: new InProcessQueue<unknown>('run-dlq'),
    extract: new InProcessQueue<unknown>('extract-dlq'),
    train: new InProcessQueue<unknown>('train-dlq'),
    evaluate: new InProcessQueue<unknown>('evaluate-dlq'),
  };
  const queueOptions = (stage: keyof typeof deadLetters) => ({
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
    deadLetterQueue: deadLetters[stage],
    maxReceiveCount: options.maxReceiveCount ?? 3,
  });
  const queues = {
    run: new InProcessQueue<unknown>('run', queueOptions('run')),
    extract: new InProcessQueue<unknown>('extract', queueOptions('extract')),
    train: new InProcessQueue<unknown>('train', queueOptions('train')),
    evaluate: new InProcessQueue<unknown>('evaluate', queueOptions('evaluate')),
  };
  const registry = new ModelRegistry();
  const counter = { embedded: 0 };
  const deps: DistributedDeps = {
    openStore,
    openFeatures: (uri, purpose) => {
      const { parent, name } = splitLastSegment(uri);
      if (purpose === 'read') return new FeatureStore(openStore(parent), name);
      const key = `${purpose} ${uri}`;
      if (!writers.has(key))
        writers.set(key, indexCachingFeatureStore(openStore(parent), name, { readOnly: purpose === 'lookup' }));
      return writers.get(key)!;
    },
    lookupModel: (name) => registry.lookup(name),
    openEmbedder: async (model, cuts) => fakeEmbedder(model, cuts, counter),
    queues: { extract: queues.extract, train: queues.train, evaluate: queues.evaluate },
    ingest: { cache: `${root}/cache`, model: 'mobilenetv2-12-int8', cuts: ['final'] },
    workerId: 'test',
  };
  return {
    deps,
    queues,
    deadLetters,
    counter,
    runMessage: (runId, overrides = {}) => ({
      v: MESSAGE_VERSION,
      type: 'run',
      runId,
      dataset: `${root}/data`,
      workspace: `${root}/runs/${runId}`,
      cache: `${root}/cache`,
      model: 'mobilenetv2-12-int8',
      cuts: ['final'],
      shardSize: 3,
      train: { C: 1 },
      ...overrides,
    }),
  };
}

/** A tiny ImageFolder of fake images (distinct bytes each): train/val × two classes × n. */
export async function writeFakeDataset(root: string, perClass: number, bad: string[] = []): Promise<string[]> {
  const store = new FsBlobStore(root);
  const keys: string[] = [];
  for (const split of ['train', 'val']) {
    for (const cls of ['ants', 'bees']) {
      for (let i = 0; i < perClass; i++) {
        const key = `${split}/${cls}/${String(i).padStart(3, '0')}.jpg`;
        await store.put(key, bad.includes(key) ? 'BAD image' : `${cls}:${split}:${i}`);
        keys.push(key);
      }
    }
  }
  return keys;
}
