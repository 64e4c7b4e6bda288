import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handleStateOrSqs, lambdaRuntime } from '../shared/sqs-lambda.js';

/** evaluate → the core evaluate → metrics.json and report.md in the run's workspace. */
const runtime = lambdaRuntime('evaluate', { withBackbone: false });

export const handler = (event: SQSEvent | { message: unknown }): Promise<SQSBatchResponse | unknown> =>
  handleStateOrSqs(runtime.get(), event, new Set(['evaluate']));

export const dispose = runtime.dispose;
