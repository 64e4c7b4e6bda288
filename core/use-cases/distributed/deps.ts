import type { FeatureStore } from '../../features/feature-store.js';
import type { Target } from '../../models/targets.js';
import type { RegisteredModel } from '../../models/registry.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { Embedder } from '../../ports/embedder.js';
import type { WorkQueue } from '../../ports/work-queue.js';
import type { ExtractCompute } from './shard-sizing.js';
import type { LambdaEnvelope } from './train-compute.js';

/** What the distributed stages need; the local embedded setup, the SQS worker and the Lambdas each build one. */
export interface DistributedDeps {
  /** Opens the store a message names (s3://bucket/prefix or a folder); refuses stores this worker may not touch. */
  openStore(uri: string): BlobStore;
  /**
   * The code cache at `uri` (…/codes). Extract workers may keep one per process; readers get a fresh one; 'lookup'
   * (the planner) reads through the namespaces' shard lists, kept between messages like a writer's, and writes nothing.
   */
  openFeatures(uri: string, purpose: 'write' | 'read' | 'lookup'): FeatureStore;
  lookupModel(name: string): Promise<RegisteredModel>;
  /** Absent where no backbone is deployed (train and evaluate functions). */
  openEmbedder?: (model: RegisteredModel, cuts: string[]) => Promise<Embedder>;
  /** The graph `openEmbedder` runs (default cpu): GPU codes go to namespaces of their own. */
  extractTarget?: Target;
  queues: { extract?: WorkQueue<unknown>; train?: WorkQueue<unknown>; evaluate?: WorkQueue<unknown> };
  /** Incremental mode: where codes of newly uploaded images go, and with which model. Absent: notices are ignored. */
  ingest?: { cache: string; model: string; cuts: string[] };
  log?: (entry: LogEntry) => void;
  /**
   * How long a fresh claim to send a downstream message keeps other deliveries of the same logical message from
   * sending (default 30 s). Keep it below the visibility timeout, or crash recovery waits longer than the queue.
   */
  sendLeaseSeconds?: number;
  /** Shard size for run messages without one; absent: sized for `extractCompute` (shard-sizing.ts). */
  defaultShardSize?: number;
  /** What runs extract messages in this deployment (default: a CPU worker), for shard sizing. */
  extractCompute?: ExtractCompute;
  /** Images read from the dataset store at once while extracting (default 8); a GPU worker needs more in flight. */
  readConcurrency?: number;
  /**
   * Where this process fits heads. A Lambda forwards train messages too large for its envelope to `batchQueue` (the
   * Batch CPU job's queue), see train-compute.ts; absent: train everything here.
   */
  trainCompute?: { runsOn: 'lambda'; envelope: LambdaEnvelope; batchQueue?: WorkQueue<unknown> } | { runsOn: 'batch' };
  /** Names this process in events (host:pid, Lambda request id). */
  workerId?: string;
}

export interface LogEntry {
  event: string;
  [field: string]: unknown;
}

/** One delivery of a message: its SQS id (names its audit event) and how often it came. */
export interface Delivery {
  id: string;
  receiveCount: number;
}
