import { randomUUID } from 'node:crypto';
import type { ReceivedMessage, WorkQueue } from '../../core/ports/work-queue.js';

interface Entry<T> {
  id: string;
  body: T;
  receiveCount: number;
  visibleAt: number;
  handle?: string;
  /** Why it was dead-lettered, when it sits in a dead-letter queue. */
  reason?: string;
}

export interface InProcessQueueOptions {
  visibilityTimeoutSeconds?: number;
  /** Where dead-lettered messages go; with `maxReceiveCount`, also the redrive target, as with SQS. */
  deadLetterQueue?: InProcessQueue<unknown>;
  maxReceiveCount?: number;
}

/**
 * A WorkQueue for tests (no runtime uses it; it lived in core/adapters until nothing but tests did): the same
 * at-least-once semantics as SQS (a received message is invisible until acked or its visibility timeout passes;
 * redrive after `maxReceiveCount` receives), so unit tests of the worker loop see what they would see on SQS.
 */
export class InProcessQueue<T = unknown> implements WorkQueue<T> {
  readonly name: string;
  private readonly entries: Array<Entry<T>> = [];
  private readonly visibilityMs: number;
  private readonly waiters = new Set<() => void>();
  private readonly options: InProcessQueueOptions;

  constructor(name: string, options: InProcessQueueOptions = {}) {
    this.name = name;
    this.options = options;
    this.visibilityMs = (options.visibilityTimeoutSeconds ?? 30) * 1000;
  }

  get size(): number {
    return this.entries.length;
  }

  /** What the queue holds, in order, with dead-letter reasons: for tests and status. */
  peek(): Array<{ body: T; receiveCount: number; reason?: string }> {
    return this.entries.map((e) => ({
      body: e.body,
      receiveCount: e.receiveCount,
      ...(e.reason ? { reason: e.reason } : {}),
    }));
  }

  async send(body: T, options: { delaySeconds?: number } = {}): Promise<void> {
    this.push(body, options.delaySeconds ?? 0);
  }

  async receive(
    options: { max?: number; waitSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<Array<ReceivedMessage<T>>> {
    const max = options.max ?? 1;
    const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
    for (;;) {
      const now = Date.now();
      this.redrive(now);
      const ready = this.entries.filter((e) => e.visibleAt <= now).slice(0, max);
      if (ready.length > 0 || now >= deadline || options.signal?.aborted) {
        return ready.map((e) => {
          e.receiveCount += 1;
          e.visibleAt = now + this.visibilityMs;
          e.handle = randomUUID();
          return {
            id: e.id,
            body: JSON.parse(JSON.stringify(e.body)) as T,
            receiveCount: e.receiveCount,
            handle: e.handle,
          };
        });
      }
      await this.waitForWork(Math.min(deadline - now, this.nextVisibleIn(now)), options.signal);
    }
  }

  async ack(message: ReceivedMessage<T>): Promise<void> {
    const index = this.indexOf(message);
    if (index >= 0) this.entries.splice(index, 1);
  }

  async ackAll(messages: ReadonlyArray<ReceivedMessage<T>>): Promise<void> {
    for (const m of messages) await this.ack(m);
  }

  async release(message: ReceivedMessage<T>, delaySeconds = 0): Promise<void> {
    this.setVisibility(message, delaySeconds);
    for (const wake of this.waiters) wake();
  }

  async extendVisibility(message: ReceivedMessage<T>, seconds: number): Promise<void> {
    this.setVisibility(message, seconds);
  }

  async extendVisibilityAll(messages: ReadonlyArray<ReceivedMessage<T>>, seconds: number): Promise<void> {
    for (const m of messages) this.setVisibility(m, seconds);
  }

  async deadLetter(message: ReceivedMessage<T>, reason: string): Promise<void> {
    const index = this.indexOf(message);
    if (index < 0) return;
    const [entry] = this.entries.splice(index, 1);
    this.options.deadLetterQueue?.push(entry!.body, 0, reason);
  }

  private push(body: unknown, delaySeconds: number, reason?: string): void {
    // Round-trip through JSON so that a handler can never mutate what another delivery will see, as with SQS.
    const copy = JSON.parse(JSON.stringify(body)) as T;
    this.entries.push({
      id: randomUUID(),
      body: copy,
      receiveCount: 0,
      visibleAt: Date.now() + delaySeconds * 1000,
      ...(reason ? { reason } : {}),
    });
    for (const wake of this.waiters) wake();
  }

  /** SQS moves a message to its DLQ when it would be received more than maxReceiveCount times. */
  private redrive(now: number): void {
    const { maxReceiveCount, deadLetterQueue } = this.options;
    if (!maxReceiveCount || !deadLetterQueue) return;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.visibleAt <= now && e.receiveCount >= maxReceiveCount) {
        this.entries.splice(i, 1);
        deadLetterQueue.push(e.body, 0, `received ${e.receiveCount} times without success`);
      }
    }
  }

  private indexOf(message: ReceivedMessage<T>): number {
    return this.entries.findIndex((e) => e.id === message.id && e.handle === message.handle);
  }

  private setVisibility(message: ReceivedMessage<T>, seconds: number): void {
    const entry = this.entries[this.indexOf(message)];
    if (entry) entry.visibleAt = Date.now() + seconds * 1000;
  }

  private nextVisibleIn(now: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const e of this.entries) soonest = Math.min(soonest, e.visibleAt - now);
    return Math.max(1, soonest);
  }

  private waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
