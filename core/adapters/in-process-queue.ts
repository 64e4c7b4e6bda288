import { randomUUID } from 'node:crypto';
import type { ReceivedMessage, WorkQueue } from '../ports/work-queue.js';

interface Entry<T> {
  id: string;
  body: T;
  receiveCount: number;
  visibleAt: number;
  handle?: string;
}

/**
 * The embedded default queue: same at-least-once semantics as SQS (a received message is invisible until acked or
 * its visibility timeout passes), so code tested against it behaves the same against SQS.
 */
export class InProcessQueue<T = unknown> implements WorkQueue<T> {
  readonly name: string;
  private readonly entries: Array<Entry<T>> = [];
  private readonly visibilityMs: number;
  private readonly waiters = new Set<() => void>();

  constructor(name: string, options: { visibilityTimeoutSeconds?: number } = {}) {
    this.name = name;
    this.visibilityMs = (options.visibilityTimeoutSeconds ?? 30) * 1000;
  }

  get size(): number {
    return this.entries.length;
  }

  async send(body: T, options: { delaySeconds?: number } = {}): Promise<void> {
    // Round-trip through JSON so that a handler can never mutate what another delivery will see, as with SQS.
    const copy = JSON.parse(JSON.stringify(body)) as T;
    this.entries.push({ id: randomUUID(), body: copy, receiveCount: 0, visibleAt: Date.now() + (options.delaySeconds ?? 0) * 1000 });
    for (const wake of this.waiters) wake();
  }

  async receive(options: { max?: number; waitSeconds?: number } = {}): Promise<Array<ReceivedMessage<T>>> {
    const max = options.max ?? 1;
    const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
    for (;;) {
      const now = Date.now();
      const ready = this.entries.filter((e) => e.visibleAt <= now).slice(0, max);
      if (ready.length > 0 || now >= deadline) {
        return ready.map((e) => {
          e.receiveCount += 1;
          e.visibleAt = now + this.visibilityMs;
          e.handle = randomUUID();
          return { id: e.id, body: JSON.parse(JSON.stringify(e.body)) as T, receiveCount: e.receiveCount, handle: e.handle };
        });
      }
      await this.waitForWork(Math.min(deadline - now, this.nextVisibleIn(now)));
    }
  }

  async ack(message: ReceivedMessage<T>): Promise<void> {
    const index = this.entries.findIndex((e) => e.id === message.id && e.handle === message.handle);
    if (index >= 0) this.entries.splice(index, 1);
  }

  async release(message: ReceivedMessage<T>, delaySeconds = 0): Promise<void> {
    const entry = this.entries.find((e) => e.id === message.id && e.handle === message.handle);
    if (entry) entry.visibleAt = Date.now() + delaySeconds * 1000;
    for (const wake of this.waiters) wake();
  }

  private nextVisibleIn(now: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const e of this.entries) soonest = Math.min(soonest, e.visibleAt - now);
    return Math.max(1, soonest);
  }

  private waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.waiters.add(done);
    });
  }
}
