import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handleSqsEvent, lambdaRuntime } from '../shared/sqs-lambda.js';

/**
 * The extract container as an SQS Lambda (small CPU deployments): the state machine's shard tasks, and S3
 * notifications.
 * The backbone is created on the first shard and kept for the container's life.
 */
const runtime = lambdaRuntime('extract-lambda', { withBackbone: true });

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleSqsEvent(runtime.get(), event, new Set(['extract', 's3']));

export const dispose = runtime.dispose;
