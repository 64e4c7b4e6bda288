import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handleStateOrSqs, lambdaRuntime } from '../shared/sqs-lambda.js';

/**
 * The state machine's Plan and Train steps (invoked with the state's input on AWS; fed by a queue of callback tasks in
 * the emulator): plan a run (list, shard, write the shard manifest), and fit the head on the assembled manifest, or
 * answer that it belongs on the Batch CPU job. Neither needs a backbone.
 */
const runtime = lambdaRuntime('train-head', { withBackbone: false });

export const handler = (event: SQSEvent | { message: unknown }): Promise<SQSBatchResponse | unknown> =>
  handleStateOrSqs(runtime.get(), event, new Set(['train', 'run']));

export const dispose = runtime.dispose;
