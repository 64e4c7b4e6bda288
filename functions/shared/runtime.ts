import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { hostname } from 'node:os';
import { optional } from '../../core/util/optional.js';
import { withDecode } from '../../core/use-cases/tta.js';
import { ModelRegistry } from '../../core/models/registry.js';
import { childUri } from '../../core/messages/store-uri.js';
import type { DistributedDeps, LogEntry } from '../../core/use-cases/distributed/deps.js';
import { s3ClientConfig, sqsClientConfig } from '../../aws/endpoints.js';
import { sfnClientConfig, sfnTaskCallbacks } from '../../aws/step-functions.js';
import type { Stage } from '../../aws/names.js';
import { BUCKET_PREFIX, bucketKey, EXTRACT_TARGET } from '../../contracts/cross-process.js';
import { SqsQueue } from '../../aws/sqs-queue.js';
import { StoreResolver } from '../../aws/stores.js';
import { SharedBackbone } from '../../core/backbone/shared-backbone.js';
import type { ServerlessSettings } from './settings.js';

const GPU_READ_CONCURRENCY = 64;

/** A process's clients, queues and (for extract) backbone: built once, shared by every message it handles. */
export interface Runtime {
  settings: ServerlessSettings;
  deps: DistributedDeps;
  queues: Partial<Record<Stage, SqsQueue>>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Load the backbone on demand (extract); train and evaluate functions never do. */
  withBackbone: boolean;
  log?: (entry: LogEntry) => void;
  /** Where prepared graphs are cached between processes (the CLI worker: the user's cache); absent: prepared per process. */
  preparedGraphCacheDir?: string;
}

export function buildRuntime(settings: ServerlessSettings, options: RuntimeOptions): Runtime {
  const s3 = new S3Client(s3ClientConfig(settings.aws));
  const sqs = new SQSClient(sqsClientConfig(settings.aws));
  const sfn = new SFNClient(sfnClientConfig(settings.aws));
  const stores = new StoreResolver(s3, { buckets: new Set([settings.bucket]) });
  const queues: Runtime['queues'] = {};
  for (const [stage, url] of Object.entries(settings.queueUrls) as Array<[Stage, string]>)
    queues[stage] = new SqsQueue(sqs, url);
  const registry = new ModelRegistry();
  const backbone = options.withBackbone
    ? new SharedBackbone({
        modelsDirs: settings.modelsDirs,
        executionProvider: settings.executionProvider,
        ...(settings.sessionProvider ? { sessionProvider: settings.sessionProvider } : {}),
        ...(settings.threads ? { threads: settings.threads } : {}),
        int8Weights: settings.int8Weights,
        ...(options.preparedGraphCacheDir ? { preparedGraphCacheDir: options.preparedGraphCacheDir } : {}),
      })
    : undefined;
  const cacheUri = childUri(`s3://${settings.bucket}`, bucketKey(BUCKET_PREFIX.cache));
  const deps: DistributedDeps = {
    openStore: stores.open,
    openFeatures: stores.features,
    // The decode setting is part of the preprocessing, hence of the namespaces the planner and the extractors use.
    lookupModel: async (name) => withDecode(await registry.lookup(name, settings.modelsDirs), settings.decode),
    ...(backbone ? { openEmbedder: backbone.open } : {}),
    // The codes an extract process writes are its own graph's; a process without a backbone (the planner) looks them
    // up where the deployment's extract compute writes them.
    extractTarget:
      backbone || !settings.extractCompute ? settings.executionProvider : EXTRACT_TARGET[settings.extractCompute.kind],
    tasks: sfnTaskCallbacks(sfn),
    // Incremental extraction (S3 notices) needs a backbone: the deployment's model and cuts, into its code cache.
    ...optional('ingest', backbone && { cache: cacheUri, model: settings.model, cuts: settings.cuts }),
    ...(options.log ? { log: options.log } : {}),
    ...(settings.shardSize ? { defaultShardSize: settings.shardSize } : {}),
    ...(settings.extractCompute ? { extractCompute: settings.extractCompute } : {}),
    // A GPU worker drains 128-image batches: 8 GETs in flight (the CPU default) would starve it on S3 latency.
    ...(settings.executionProvider === 'cuda' ? { readConcurrency: GPU_READ_CONCURRENCY } : {}),
    ...optional('trainCompute', settings.trainCompute),
    workerId: `${hostname()}:${process.pid}`,
  };
  return {
    settings,
    deps,
    queues,
    async close() {
      await backbone?.close();
      s3.destroy();
      sqs.destroy();
      sfn.destroy();
    },
  };
}

/** One JSON line per event on stderr: CloudWatch and `docker logs` both keep it, tests parse it. */
export function jsonLog(fields: Record<string, unknown> = {}): (entry: LogEntry) => void {
  return (entry) => process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), ...fields, ...entry })}\n`);
}
