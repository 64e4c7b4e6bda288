import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type { WorkQueue } from './work-queue.js';

/** AWS's rule for Lambda consumers: a message stays hidden for at least six times the function's timeout. */
export const VISIBILITY_PER_TIMEOUT = 6;

export function visibilityFor(functionTimeout: Duration): Duration {
  return Duration.seconds(functionTimeout.toSeconds() * VISIBILITY_PER_TIMEOUT);
}

/**
 * Feeds a queue to a function one message per invocation (each message is a whole unit of work sized against the
 * timeout), reporting partial failures so only the failed message is retried.
 */
export function consumeWith(fn: lambda.IFunction, workQueue: WorkQueue, maxConcurrency?: number): void {
  workQueue.grantConsume(fn);
  fn.addEventSource(
    new sources.SqsEventSource(workQueue.queue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    }),
  );
}
