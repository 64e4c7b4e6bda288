import * as ort from 'onnxruntime-node';
import { ModelError, errorMessage } from '../errors.js';

/**
 * The one module that imports onnxruntime (test/unit/architecture keeps it so): sessions are opened here, with the
 * same providers, threading and error mapping for every graph (backbone, exported classifier, the heads' GEMMs). The other modules see
 * a session and tensors only.
 */

export type ExecutionProvider = 'cpu' | 'cuda';
export type InferenceSession = ort.InferenceSession;
export const Tensor = ort.Tensor;
export type Tensor = ort.Tensor;

export interface SessionOptions {
  /** Intra-op threads per session. One per session and several sessions beat one wide session for small models. */
  threads?: number;
  executionProvider?: ExecutionProvider;
}

/** Opens a session on an ONNX graph; `what` names it in the ModelError a graph onnxruntime refuses becomes. */
export async function openSession(bytes: Uint8Array, options: SessionOptions, what: string): Promise<InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      executionProviders: options.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
  } catch (err) {
    throw new ModelError(`${what}: onnxruntime could not load it: ${errorMessage(err)}`, { cause: err });
  }
}
