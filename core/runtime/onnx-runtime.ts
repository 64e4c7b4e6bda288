import * as ort from 'onnxruntime-node';
import { ModelError, errorMessage } from '../errors.js';

/**
 * The one module that imports onnxruntime: the backbone, the exported classifier and the heads' dense linear algebra
 * all get their sessions and tensors here, so the runtime's version, threading and error wrapping live in one place.
 */
export { ort };

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionSettings {
  /** Intra-op threads (the width of one GEMM or convolution); onnxruntime's default (all cores) when omitted. */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Nodes run one after another: the graphs here are chains, and a second pool would only oversubscribe the cores. */
  sequential?: boolean;
}

/** Loads a graph as a session; a failure names what was being loaded. */
export async function createSession(bytes: Uint8Array, what: string, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: settings.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    ...(settings.sequential ? { executionMode: 'sequential' as const } : {}),
    ...(settings.threads ? { intraOpNumThreads: settings.threads, interOpNumThreads: 1 } : {}),
  };
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (err) {
    throw new ModelError(`${what}: onnxruntime could not load the model: ${errorMessage(err)}`, { cause: err });
  }
}
