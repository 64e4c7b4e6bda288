/**
 * A queue of work messages with at-least-once delivery: a received message comes back unless acknowledged, so every
 * handler must be idempotent. The in-process queue and SQS both implement this.
 */
export interface WorkQueue<T = unknown> {
  readonly name: string;
  send(body: T, options?: { delaySeconds?: number }): Promise<void>;
  /** Waits up to `waitSeconds` for up to `max` messages. */
  receive(options?: { max?: number; waitSeconds?: number }): Promise<Array<ReceivedMessage<T>>>;
  ack(message: ReceivedMessage<T>): Promise<void>;
  /** Gives the message back for redelivery after `delaySeconds` (0 = now). */
  release(message: ReceivedMessage<T>, delaySeconds?: number): Promise<void>;
}

export interface ReceivedMessage<T> {
  id: string;
  body: T;
  /** How many times this message has been delivered, this time included. */
  receiveCount: number;
  /** Adapter-specific handle (SQS receipt handle). */
  handle: string;
}
