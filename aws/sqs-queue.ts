import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { parseMessageBody } from '../core/messages/schema.js';
import type { ReceivedMessage, WorkQueue } from '../core/ports/work-queue.js';

/** The attribute a dead-lettered message carries: why it can never succeed. */
export const DEAD_LETTER_REASON_ATTRIBUTE = 'cnn-codes-error';

/**
 * WorkQueue over one SQS queue (standard). Long polling, visibility heartbeats, batch delete; dead-lettering sends
 * the original body verbatim to the queue's own DLQ (from its RedrivePolicy), so no second URL is configured.
 */
export class SqsQueue implements WorkQueue<unknown> {
  readonly name: string;
  private deadLetterUrl?: Promise<string | undefined>;

  constructor(
    private readonly client: SQSClient,
    readonly url: string,
  ) {
    this.name = url.slice(url.lastIndexOf('/') + 1);
  }

  async send(body: unknown, options: { delaySeconds?: number } = {}): Promise<void> {
    await this.sendRaw(JSON.stringify(body), options.delaySeconds);
  }

  /** Sends text as it is: for S3-shaped notices and the poison messages tests send on purpose. */
  async sendRaw(body: string, delaySeconds?: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.url,
        MessageBody: body,
        ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  }

  async receive(
    options: { max?: number; waitSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<Array<ReceivedMessage<unknown>>> {
    if (options.signal?.aborted) return [];
    try {
      const response = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.url,
          MaxNumberOfMessages: Math.min(10, Math.max(1, options.max ?? 1)),
          WaitTimeSeconds: Math.min(20, Math.max(0, Math.round(options.waitSeconds ?? 0))),
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      return (response.Messages ?? []).map((m) =>
        receivedMessage(m.MessageId!, m.Body ?? '', m.Attributes?.ApproximateReceiveCount, m.ReceiptHandle!),
      );
    } catch (err) {
      if (options.signal?.aborted) return [];
      throw err;
    }
  }

  async ack(message: ReceivedMessage<unknown>): Promise<void> {
    await this.client.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: message.handle }));
  }

  async ackAll(messages: ReadonlyArray<ReceivedMessage<unknown>>): Promise<void> {
    for (const chunk of batchesOfTen(messages)) {
      const response = await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.url,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.handle })),
        }),
      );
      if (response.Failed?.length) {
        throw new Error(
          `${this.name}: ${response.Failed.length} of ${chunk.length} deletes failed (${response.Failed[0]!.Code}: ${response.Failed[0]!.Message})`,
        );
      }
    }
  }

  async release(message: ReceivedMessage<unknown>, delaySeconds = 0): Promise<void> {
    await this.changeVisibility(message, delaySeconds);
  }

  async extendVisibility(message: ReceivedMessage<unknown>, seconds: number): Promise<void> {
    await this.changeVisibility(message, seconds);
  }

  async extendVisibilityAll(messages: ReadonlyArray<ReceivedMessage<unknown>>, seconds: number): Promise<void> {
    const failed = await Promise.all(
      batchesOfTen(messages).map(async (chunk) => {
        const response = await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map((m, j) => ({
              Id: String(j),
              ReceiptHandle: m.handle,
              VisibilityTimeout: visibility(seconds),
            })),
          }),
        );
        return response.Failed ?? [];
      }),
    );
    const failures = failed.flat();
    if (failures.length > 0)
      throw new Error(
        `${this.name}: ${failures.length} of ${messages.length} visibility changes failed (${failures[0]!.Code}: ${failures[0]!.Message})`,
      );
  }

  async deadLetter(message: ReceivedMessage<unknown>, reason: string): Promise<void> {
    await this.forwardToDeadLetter(message, reason);
    await this.ack(message);
  }

  /**
   * Copies a message to the DLQ without deleting it here: a Lambda reports it as processed and the event source
   * mapping deletes it. Without a RedrivePolicy there is no DLQ; then the reason is only logged by the caller and
   * the message is dropped, since retrying a message that can never succeed would loop forever.
   */
  async forwardToDeadLetter(message: ReceivedMessage<unknown>, reason: string): Promise<boolean> {
    const target = await this.resolveDeadLetterUrl();
    if (!target) return false;
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: target,
        MessageBody: message.raw ?? JSON.stringify(message.body),
        MessageAttributes: {
          [DEAD_LETTER_REASON_ATTRIBUTE]: { DataType: 'String', StringValue: reason.slice(0, 4000) },
          'cnn-codes-source-queue': { DataType: 'String', StringValue: this.name },
        },
      }),
    );
    return true;
  }

  /** The queue's visibility timeout in seconds: how long a received message stays hidden without a heartbeat. */
  async visibilityTimeout(): Promise<number> {
    const found = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['VisibilityTimeout'] }),
    );
    return Number(found.Attributes?.VisibilityTimeout ?? 30);
  }

  async counts(): Promise<{ visible: number; inFlight: number; delayed: number }> {
    const attributes = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = attributes.Attributes ?? {};
    return {
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  resolveDeadLetterUrl(): Promise<string | undefined> {
    this.deadLetterUrl ??= (async () => {
      const attributes = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['RedrivePolicy'] }),
      );
      const policy = attributes.Attributes?.RedrivePolicy;
      if (!policy) return undefined;
      const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
      if (!arn) return undefined;
      const [, , , , account, name] = arn.split(':');
      const found = await this.client.send(
        new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
      );
      return found.QueueUrl;
    })().catch((err: unknown) => {
      this.deadLetterUrl = undefined;
      throw err;
    });
    return this.deadLetterUrl;
  }

  private async changeVisibility(message: ReceivedMessage<unknown>, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.url,
        ReceiptHandle: message.handle,
        VisibilityTimeout: visibility(seconds),
      }),
    );
  }
}

/** A message as SQS hands it over, from ReceiveMessage or in a Lambda's SQS event record. */
export function receivedMessage(
  id: string,
  body: string,
  receiveCount: string | undefined,
  handle: string,
): ReceivedMessage<unknown> {
  return { id, body: parseMessageBody(body), raw: body, receiveCount: Number(receiveCount ?? 1), handle };
}

/** SQS's batch calls take at most ten entries. */
function batchesOfTen<T>(items: ReadonlyArray<T>): T[][] {
  return Array.from({ length: Math.ceil(items.length / 10) }, (_, i) => items.slice(i * 10, i * 10 + 10));
}

/** SQS's range for a visibility timeout: 0 s to 12 hours, whole seconds. */
function visibility(seconds: number): number {
  return Math.min(43_200, Math.max(0, Math.round(seconds)));
}
