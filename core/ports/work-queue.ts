/**
 * A queue of work messages with at-least-once delivery: a received message comes back unless acknowledged, so every
 * handler must be idempotent. The in-process queue and SQS both implement this.
 */
export interface WorkQueue<T = unknown> {
  readonly name: string;
  send(body: T, options?: { delaySeconds?: number }): Promise<void>;
  /** Waits up to `waitSeconds` for up to `max` messages; an aborted `signal` ends the wait early with []. */
  receive(options?: { max?: number; waitSeconds?: number; signal?: AbortSignal }): Promise<Array<ReceivedMessage<T>>>;
  ack(message: ReceivedMessage<T>): Promise<void>;
  /** Acknowledges several at once (SQS: one DeleteMessageBatch per 10). */
  ackAll(messages: ReadonlyArray<ReceivedMessage<T>>): Promise<void>;
  /** Gives the message back for redelivery after `delaySeconds` (0 = now). */
  release(message: ReceivedMessage<T>, delaySeconds?: number): Promise<void>;
  /** Keeps a message in hand `seconds` longer from now: the heartbeat of long work. */
  extendVisibility(message: ReceivedMessage<T>, seconds: number): Promise<void>;
  /**
   * The heartbeat of a batch in hand (SQS: one ChangeMessageVisibilityBatch per 10): a batch of 250 notices beating
   * one request each was 250 requests every beat.
   */
  extendVisibilityAll(messages: ReadonlyArray<ReceivedMessage<T>>, seconds: number): Promise<void>;
  /**
   * Moves a message that can never succeed (malformed, invalid) to the dead-letter queue at once, with the reason,
   * instead of letting it burn its redeliveries. Its body goes there exactly as it was received.
   */
  deadLetter(message: ReceivedMessage<T>, reason: string): Promise<void>;
}

export interface ReceivedMessage<T> {
  /** Stable across redeliveries of the same message (SQS MessageId); distinct for every send. */
  id: string;
  body: T;
  /** How many times this message has been delivered, this time included. */
  receiveCount: number;
  /** Adapter-specific handle (SQS receipt handle). */
  handle: string;
  /** The body as it came over the wire, when the transport has one (a malformed body is not JSON at all). */
  raw?: string;
}
