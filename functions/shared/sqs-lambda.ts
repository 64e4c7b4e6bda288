import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage } from '../../core/errors.js';
import { parseMessageBody } from '../../core/messages/schema.js';
import type { ReceivedMessage } from '../../core/ports/work-queue.js';
import { handleBatch, handleStateInput, type Accepts } from '../../core/use-cases/distributed/router.js';
import { buildRuntime, jsonLog, type Runtime, type RuntimeOptions } from './runtime.js';
import { settingsFromEnv } from './settings.js';

/**
 * An SQS-triggered Lambda over the core router, with ReportBatchItemFailures: a message to retry is reported as a
 * failure (and only it is redelivered); a poison message is copied to its DLQ and reported as processed.
 */
export async function handleSqsEvent(runtime: Runtime, event: SQSEvent, accepts: Accepts): Promise<SQSBatchResponse> {
  const messages = event.Records.map(toReceived);
  const outcomes = await handleBatch(runtime.deps, messages, accepts);
  const failures: string[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const record = event.Records[i]!;
    if (outcome.kind === 'retry') failures.push(record.messageId);
    if (outcome.kind !== 'poison') continue;
    try {
      const queue = runtime.queueForArn(record.eventSourceARN);
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

/** A function the state machine invokes directly (AWS), or that an SQS queue of callback tasks feeds (emulator). */
export function handleStateOrSqs(
  runtime: Runtime,
  event: SQSEvent | { message: unknown },
  accepts: Accepts,
): Promise<SQSBatchResponse | unknown> {
  return 'Records' in event ? handleSqsEvent(runtime, event, accepts) : handleStateInput(runtime.deps, event);
}

function toReceived(record: SQSRecord): ReceivedMessage<unknown> {
  return {
    id: record.messageId,
    body: parseMessageBody(record.body),
    raw: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
    handle: record.receiptHandle,
  };
}

/**
 * A Lambda's runtime, from its environment, logging as `role`: built on the first invocation and kept for the
 * container's life (never at import time). `dispose` releases it (backbone threads, sockets): for tests, which must
 * let their process exit.
 */
export function lambdaRuntime(
  role: string,
  { withBackbone }: Pick<RuntimeOptions, 'withBackbone'>,
): { get(): Runtime; dispose(): Promise<void> } {
  let runtime: Runtime | undefined;
  return {
    get: () => (runtime ??= buildRuntime(settingsFromEnv(), { withBackbone, log: jsonLog({ role }) })),
    dispose: async () => {
      const current = runtime;
      runtime = undefined;
      await current?.close();
    },
  };
}
