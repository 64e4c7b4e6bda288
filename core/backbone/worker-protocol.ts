import type { ModelDescriptor } from '../models/descriptor.js';
import type { EmbedItem, EmbedResult } from '../ports/embedder.js';
import type { ExecutionProvider } from './onnx-backbone.js';

export interface WorkerInit {
  modelPath: string;
  descriptor: ModelDescriptor;
  cuts: string[];
  threadsPerWorker: number;
  executionProvider: ExecutionProvider;
  limitInputPixels: number;
}

export interface WorkerRequest {
  batchId: number;
  items: EmbedItem[];
}

export type WorkerReply = { ready: true } | { batchId: number; results: EmbedResult[] } | { batchId: number; fatal: string };
