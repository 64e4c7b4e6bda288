import { lambdaHandler } from '../shared/sqs-lambda.js';

/** evaluate → the core evaluate → metrics.json and report.md in the run's workspace. */
export const { handler, dispose } = lambdaHandler('evaluate', false);
