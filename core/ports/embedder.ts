/** Turns encoded images into codes for a fixed model and set of cut points. The worker-thread pool implements it. */
export interface EmbedItem {
  id: string;
  bytes: Uint8Array;
}

export interface EmbedFailure {
  kind: string;
  message: string;
}

export type EmbedResult = { id: string; codes: Record<string, Float32Array> } | { id: string; error: EmbedFailure };

export interface Embedder {
  /** How many batches it can work on at once; callers keep about twice that many in flight. */
  readonly parallelism: number;
  /** Preferred number of images per call. */
  readonly batchSize: number;
  embedBatch(items: EmbedItem[]): Promise<EmbedResult[]>;
  close(): Promise<void>;
}
