import { lambdaHandler } from '../shared/sqs-lambda.js';

/**
 * The extract container as an SQS Lambda (small CPU deployments): the state machine's shard tasks, and S3
 * notifications. The backbone is created on the first shard and kept for the container's life.
 */
export const { handler, dispose } = lambdaHandler('extract-lambda', true);
