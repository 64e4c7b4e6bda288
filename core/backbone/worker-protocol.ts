import type { ModelDescriptor } from '../models/descriptor.js';
import type { PreparedGraphSource } from '../models/prepared-graph-cache.js';
import type { Target } from '../models/targets.js';
import type { EmbedFailure, EmbedItem, EmbedResult } from '../ports/embedder.js';
import type { ExecutionProvider } from './onnx-backbone.js';

/**
 * A worker's job: `embed` decodes and infers (the CPU pool: one session per worker); `decode` only decodes (a GPU
 * pool's CPU side, one per vCPU); `infer` only runs the session (the GPU pool's single GPU session).
 */
export type WorkerRole = 'embed' | 'decode' | 'infer';

export interface WorkerInit {
  role: WorkerRole;
  modelPath: string;
  descriptor: ModelDescriptor;
  cuts: string[];
  threadsPerWorker: number;
  executionProvider: ExecutionProvider;
  /** Which prepared graph the session runs (`prepareForTarget`); defaults to the provider's own. */
  target: Target;
  limitInputPixels: number;
  /** The graph already prepared (from the cache, or once for all workers); without it the worker prepares its own. */
  graph?: Pick<PreparedGraphSource, 'inputName' | 'outputs' | 'precision' | 'descriptor' | 'path' | 'bytes'>;
}

/** Milliseconds one batch spent in each stage inside an `embed` worker (decode includes the resize and crop). */
export interface StageTimes {
  decodeMs: number;
  inferMs: number;
}

export interface WorkerRequest {
  batchId: number;
  items: EmbedItem[];
}

/** `infer` requests: decoded crops (H×W×3 uint8) by id. */
export interface InferRequest {
  batchId: number;
  crops: Array<{ id: string; crop: Uint8Array }>;
}

export type DecodedItem = { id: string; crop: Uint8Array } | { id: string; error: EmbedFailure };

export type WorkerReply =
  | { ready: true }
  | { batchId: number; results: EmbedResult[]; times?: StageTimes }
  | { batchId: number; decoded: DecodedItem[] }
  | { batchId: number; fatal: string };
