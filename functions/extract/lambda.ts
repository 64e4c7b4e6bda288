import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildRuntime, jsonLog } from '../shared/runtime.js';
import { settingsFromEnv } from '../shared/settings.js';
import { handleSqsEvent, lazyRuntime } from '../shared/sqs-lambda.js';

/**
 * The extract container as an SQS Lambda (small CPU deployments): shards, S3 notifications and run planning.
 * The backbone is created on the first shard and kept for the container's life.
 */
const runtime = lazyRuntime(() =>
  buildRuntime(settingsFromEnv(), { withBackbone: true, log: jsonLog({ role: 'extract-lambda' }) }),
);

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleSqsEvent(runtime.get(), event, new Set(['extract', 's3', 'run']));

export const dispose = runtime.dispose;
