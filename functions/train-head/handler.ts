import { lambdaHandler } from '../shared/sqs-lambda.js';

/**
 * The state machine's Plan and Train steps (invoked with the state's input on AWS; fed by a queue of callback tasks in
 * the emulator): plan a run (list, shard, write the shard manifest), and fit the head on the assembled manifest, or
 * answer that it belongs on the Batch CPU job. Neither needs a backbone.
 */
export const { handler, dispose } = lambdaHandler('train-head', false);
