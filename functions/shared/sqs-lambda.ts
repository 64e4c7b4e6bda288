import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorMessage } from '../../core/errors.js';
import { receivedMessage } from '../../aws/sqs-queue.js';
import { handleBatch, handleStateInput } from '../../core/use-cases/distributed/router.js';
import { buildRuntime, jsonLog, type Runtime } from './runtime.js';
import { settingsFromEnv } from './settings.js';

/**
 * An SQS-triggered Lambda over the core router, with ReportBatchItemFailures: a message to retry is reported as a
 * failure (and only it is redelivered); a poison message is copied to its DLQ and reported as processed.
 */
export async function handleSqsEvent(runtime: Runtime, event: SQSEvent): Promise<SQSBatchResponse> {
  const messages = event.Records.map((r) =>
    receivedMessage(r.messageId, r.body, r.attributes.ApproximateReceiveCount, r.receiptHandle),
  );
  const outcomes = await handleBatch(runtime.deps, messages);
  const failures: string[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const record = event.Records[i]!;
    if (outcome.kind === 'retry') failures.push(record.messageId);
    if (outcome.kind !== 'poison') continue;
    try {
      // The configured queue the record came from, matched by name in its ARN.
      const name = record.eventSourceARN.slice(record.eventSourceARN.lastIndexOf(':') + 1);
      const queue = Object.values(runtime.queues).find((q) => q.name === name);
      const moved = (await queue?.forwardToDeadLetter(messages[i]!, outcome.reason)) ?? false;
      runtime.deps.log?.({
        event: 'message:dead-lettered',
        messageId: record.messageId,
        reason: outcome.reason,
        moved,
      });
    } catch (err) {
      // Could not park it: let the queue's own redrive take it after maxReceiveCount.
      runtime.deps.log?.({ event: 'queue:dead-letter-failed', messageId: record.messageId, error: errorMessage(err) });
      failures.push(record.messageId);
    }
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * A Lambda entry point: an SQS event (partial batch response), or a state's input when the state machine invokes the
 * function directly (AWS). Its runtime is built from the environment on the first invocation and kept for the
 * container's life (never at import time); `dispose` releases it (backbone threads, sockets): for tests, which must
 * let their process exit.
 */
export function lambdaHandler(role: string, withBackbone: boolean) {
  let runtime: Runtime | undefined;
  const get = () => (runtime ??= buildRuntime(settingsFromEnv(), { withBackbone, log: jsonLog({ role }) }));
  return {
    handler: (event: SQSEvent | { message: unknown }): Promise<SQSBatchResponse | unknown> =>
      'Records' in event ? handleSqsEvent(get(), event) : handleStateInput(get().deps, event),
    dispose: async () => {
      const current = runtime;
      runtime = undefined;
      await current?.close();
    },
  };
}
