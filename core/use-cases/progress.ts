/** Progress the core reports; the CLI draws bars from it, workers log it, `--json` ignores it. */
export interface ProgressEvent {
  phase: 'list' | 'extract' | 'train' | 'evaluate' | 'export';
  done: number;
  total: number;
  /** Phase-specific counters (cached, embedded, rejected, …). */
  detail?: Record<string, number>;
  message?: string;
}

export type ProgressSink = (event: ProgressEvent) => void;
