import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { InProcessQueue } from './in-process-queue.js';
import { FeatureStore } from '../../core/features/feature-store.js';
import { parseStoreUri, splitLastSegment } from '../../core/messages/store-uri.js';
import { MESSAGE_VERSION, type RunMessage } from '../../core/messages/schema.js';
import { ModelRegistry, type RegisteredModel } from '../../core/models/registry.js';
import type { BlobInfo, BlobStore } from '../../core/ports/blob-store.js';
import type { Embedder, EmbedResult } from '../../core/ports/embedder.js';
import type { DistributedDeps } from '../../core/use-cases/distributed/deps.js';
import type { TaskCallbacks } from '../../core/ports/task-callbacks.js';
import type { PlanOutput } from '../../core/use-cases/distributed/plan-run.js';
import type { TrainOutcome } from '../../core/use-cases/distributed/train-run.js';
import { TASK_ERRORS } from '../../core/use-cases/distributed/state-machine.js';
import { indexCachingFeatureStore } from '../../core/features/shard-list-catalog.js';

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
  engine: InProcessEngine;
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
  const engine = new InProcessEngine(queues);
  const deps: DistributedDeps = {
    tasks: engine,
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
    ingest: { cache: `${root}/cache`, model: 'mobilenetv2-12-int8', cuts: ['final'] },
    workerId: 'test',
  };
  return {
    deps,
    engine,
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

type StageQueues = Record<'extract' | 'train' | 'evaluate' | 'run', InProcessQueue<unknown>>;

/**
 * Step Functions' part in the unit tests: each step of the run's state machine (state-machine.ts) as a callback task
 * on its queue, answered by the workers through TaskCallbacks, in the machine's order: plan, every shard of the
 * manifest (retried as its Retry says: a lapsed heartbeat or transient error 3 more times, a permanent one once),
 * train (the Batch step when train answers "batch"), evaluate. The real engine runs the same
 * definition in test/integration.
 */
export class InProcessEngine implements TaskCallbacks {
  beatSeconds = 0.02;
  heartbeats = 0;
  /** Answered tasks per message type, late answers apart. */
  answered: Record<string, number> = {};
  late = 0;
  private readonly pending = new Map<string, { type: string; resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(private readonly queues: StageQueues) {}

  async succeed(token: string, output: unknown): Promise<'answered' | 'late'> {
    return this.settle(token, (p) => p.resolve(output));
  }

  async fail(token: string, error: string, cause: string): Promise<'answered' | 'late'> {
    return this.settle(token, (p) => p.reject(Object.assign(new Error(cause), { name: error })));
  }

  async heartbeat(): Promise<void> {
    this.heartbeats += 1;
  }

  private settle(token: string, answer: (p: { resolve(v: unknown): void; reject(e: Error): void }) => void) {
    const found = this.pending.get(token);
    if (!found) {
      this.late += 1;
      return 'late' as const;
    }
    this.pending.delete(token);
    this.answered[found.type] = (this.answered[found.type] ?? 0) + 1;
    answer(found);
    return 'answered' as const;
  }

  task(queue: InProcessQueue<unknown>, message: { type: string }): Promise<unknown> {
    const token = randomUUID();
    const answered = new Promise<unknown>((resolve, reject) =>
      this.pending.set(token, { type: message.type, resolve, reject }),
    );
    void queue.send({ task: token, message });
    return answered;
  }

  private async retried(queue: InProcessQueue<unknown>, message: { type: string }): Promise<unknown> {
    let permanent = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.task(queue, message);
      } catch (err) {
        const name = (err as Error).name;
        if (name === TASK_ERRORS.permanent && ++permanent <= 1) continue;
        if (name !== TASK_ERRORS.permanent && attempt < 3) continue;
        throw err;
      }
    }
  }

  /** One execution: the run message in, the evaluate step's output out; fails as the state machine would. */
  async run(message: { type: 'run'; toleratedFailures?: number }): Promise<unknown> {
    const plan = (await this.retried(this.queues.run, message)) as PlanOutput;
    const items = JSON.parse(await readFile(plan.manifest.key, 'utf8')) as Array<{ type: string }>;
    const shards = await Promise.allSettled(items.map((item) => this.retried(this.queues.extract, item)));
    const failed = shards.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > plan.toleratedFailures) throw failed[0]!;
    const train = (await this.retried(this.queues.train, plan.train)) as TrainOutcome;
    if (train.compute === 'batch' && !train.cacheKey) await this.retried(this.queues.train, plan.train);
    return this.retried(this.queues.evaluate, plan.evaluate);
  }
}
