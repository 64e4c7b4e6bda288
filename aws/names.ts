import { BUCKET_PREFIX, STAGES, type Stage } from '../contracts/cross-process.js';

export { STAGES, type Stage };

/** Resource names `up` creates and the CLI finds again by name: `<prefix>-<stage>` and `<prefix>-<stage>-dlq`. */
export function queueName(prefix: string, stage: Stage, deadLetter = false): string {
  return `${prefix}-${stage}${deadLetter ? '-dlq' : ''}`;
}

/** What `cnn-codes up` creates unless told otherwise. */
export const DEFAULT_PROVISION = {
  queuePrefix: 'cnn-codes',
  bucket: 'cnn-codes',
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 3,
  notifyPrefix: BUCKET_PREFIX.datasets,
} as const;
