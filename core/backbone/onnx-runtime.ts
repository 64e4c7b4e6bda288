import { createRequire } from 'node:module';
import type * as OnnxRuntime from 'onnxruntime-node';
import { ModelError, errorMessage } from '../errors.js';

/**
 * The one module that imports onnxruntime (test/unit/architecture keeps it so): sessions are opened here, with the
 * same providers, threading and error mapping for every graph (backbone, exported classifier, the heads' GEMMs). The other modules see
 * a session and tensors only.
 */

// Loaded with require, not import: a bundler (the Lambda functions' esbuild) leaves this call alone instead of pulling in
// the native binding, and the module loads when a session is first wanted. The train-head Lambda reaches this module
// only through the streamed heads' dynamic import, which it never runs (train-run keeps it on the in-memory engine).
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof OnnxRuntime;

export type ExecutionProvider = 'cpu' | 'cuda';
export type InferenceSession = OnnxRuntime.InferenceSession;
export const Tensor = ort.Tensor;
export type Tensor = OnnxRuntime.Tensor;

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
