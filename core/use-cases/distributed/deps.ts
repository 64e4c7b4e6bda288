import { CnnCodesError } from '../../errors.js';
import type { FeatureStore } from '../../features/feature-store.js';
import type { Target } from '../../models/targets.js';
import type { RegisteredModel } from '../../models/registry.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { Embedder } from '../../ports/embedder.js';
import type { TaskCallbacks } from '../../ports/task-callbacks.js';
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
  /** Incremental mode: where codes of newly uploaded images go, and with which model. Absent: notices are ignored. */
  ingest?: { cache: string; model: string; cuts: string[] };
  log?: (entry: LogEntry) => void;
  /** Shard size for run messages without one; absent: sized for `extractCompute` (shard-sizing.ts). */
  defaultShardSize?: number;
  /** What runs extract messages in this deployment (default: a CPU worker), for shard sizing. */
  extractCompute?: ExtractCompute;
  /** Images read from the dataset store at once while extracting (default 8); a GPU worker needs more in flight. */
  readConcurrency?: number;
  /** Extract takes each read image's signature (extractItems' imageSignatures); false where objects are not images. */
  imageSignatures?: boolean;
  /**
   * Where this process fits heads. A Lambda answers train messages too large for its envelope with `where: 'batch'`
   * (the state machine then runs the Batch CPU job, see train-compute.ts); absent: train everything here.
   */
  trainCompute?: { runsOn: 'lambda'; envelope: LambdaEnvelope; batchJob: boolean } | { runsOn: 'batch' };
  /** Names this process in logs and shard parts (host:pid). */
  workerId?: string;
  tasks: TaskCallbacks;
}

export interface LogEntry {
  event: string;
  [field: string]: unknown;
}

/** Wrong input or wrong data: the same message would fail the same way on every try. */
const PERMANENT = new Set(['CONFIG', 'DATA', 'NOT_FOUND']);

export function isPermanent(err: unknown): boolean {
  return err instanceof CnnCodesError && PERMANENT.has(err.code);
}
