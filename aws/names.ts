/** The stages that have a queue each, in pipeline order. */
export const STAGES = ['run', 'extract', 'train', 'evaluate'] as const;
export type Stage = (typeof STAGES)[number];

/** Resource names `up` creates and the CLI finds again by name: `<prefix>-<stage>` and `<prefix>-<stage>-dlq`. */
export function queueName(prefix: string, stage: Stage, deadLetter = false): string {
  return `${prefix}-${stage}${deadLetter ? '-dlq' : ''}`;
}

/** Bucket layout, shared with the CDK stack (infra/layout.ts PREFIX): datasets/, cache/, runs/. */
export const BUCKET_PREFIX = { datasets: 'datasets', cache: 'cache', runs: 'runs' } as const;

/** What `cnn-codes up` creates unless told otherwise. */
export const DEFAULT_PROVISION = { queuePrefix: 'cnn-codes', bucket: 'cnn-codes', visibilityTimeoutSeconds: 60, maxReceiveCount: 3, notifyPrefix: `${BUCKET_PREFIX.datasets}/` } as const;
