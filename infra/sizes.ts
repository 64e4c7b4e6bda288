import { Duration, Size } from 'aws-cdk-lib';

/**
 * Compute sizes and the timeouts the queues' visibility is derived from. The figures behind them (bench/, this
 * repository's machines, one thread):
 * - heads: logistic regression or linear SVM with C by 5-fold CV over 8 values on 245×1280 codes ≈ 1.2–1.9 s;
 *   the work grows with rows × dims × grid. Lambda gives one full vCPU from 1,769 MB, and the heads are single
 *   threaded, so more memory than that only buys room for the codes (100,000×1280 float32 ≈ 0.5 GB, plus copies).
 * - extract: decode ≈ 115 img/s per thread is the bottleneck once the GPU does inference, so a g5/g6.xlarge (4 vCPU)
 *   embeds ~400 img/s; a 4 GB Lambda (≈ 2.3 vCPU) with MobileNetV2-int8 on CPU (≈ 240 img/s per thread) ~180 img/s,
 *   ResNet18 fp32 (≈ 26 img/s per thread) ~60 img/s: a shard of hundreds of images fits a 5-minute timeout.
 */
export const SIZES = {
  // Also plans runs (lists the dataset, writes the plan, sends one message per shard), which needs no backbone.
  // Cross-validation on large code sets is the long pole: give it Lambda's whole 15 minutes.
  trainHead: { memorySize: 4096, timeout: Duration.minutes(15) },
  evaluate: { memorySize: 1769, timeout: Duration.minutes(3) },
  dispatch: { memorySize: 256, timeout: Duration.minutes(1) },
  extractLambda: { memorySize: 4096, timeout: Duration.minutes(5) },
  extractWorker: {
    vcpus: 4,
    // g5/g6.xlarge have 16 GiB; ECS keeps some for itself, and a job asking for all of it would never be placed.
    memory: Size.gibibytes(14),
    timeout: Duration.hours(6),
    /** The worker's heartbeat extends its message by this every third of it; a dead worker's shard returns after it. */
    visibility: Duration.minutes(5),
  },
  fineTune: {
    vcpus: 4,
    memory: Size.gibibytes(14),
    timeout: Duration.hours(12),
    /** The job's heartbeat (every 60 s) pushes visibility 300 s ahead; this only covers start-up. */
    visibility: Duration.minutes(10),
  },
  /**
   * Heads too large for the train-head Lambda (train-compute.ts: over half its timeout or 60 % of its memory by the
   * bench's cost model). Fargate's 4 vCPU allow up to 30 GiB: 36 bytes a value in memory covers ~800 M values
   * (e.g. 600k × 1280). The worker's heartbeat extends its message every third of `visibility`.
   */
  trainBatch: {
    vcpus: 4,
    memory: Size.gibibytes(30),
    timeout: Duration.hours(6),
    visibility: Duration.minutes(5),
    maxvCpus: 16,
  },
  dispatchInterval: Duration.minutes(1),
} as const;

/** Deliveries before a message goes to its dead-letter queue. Extract tolerates more: Spot reclaims count too. */
export const MAX_RECEIVE_COUNT = { extract: 5, train: 3, trainBatch: 2, evaluate: 3, run: 3, fineTune: 2 } as const;
