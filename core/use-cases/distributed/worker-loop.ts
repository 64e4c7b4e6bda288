import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../errors.js';
import type { ReceivedMessage, WorkQueue } from '../../ports/work-queue.js';
import type { LogEntry } from './deps.js';
import type { Outcome } from './router.js';

export interface WorkerLoopOptions {
  queue: WorkQueue<unknown>;
  handle: (messages: ReadonlyArray<ReceivedMessage<unknown>>) => Promise<Outcome[]>;
  /** Abort = graceful shutdown: finish and settle what is in hand, let the current poll end (≤ waitSeconds), return. */
  signal: AbortSignal;
  waitSeconds?: number;
  /** The heartbeat keeps messages in hand this long past each beat (the queue's visibility timeout is a fine value). */
  visibilityTimeoutSeconds: number;
  /** Return after this many seconds without a message (drain mode for batch jobs and tests); default: never. */
  idleExitSeconds?: number;
  log?: (entry: LogEntry) => void;
}

export interface LoopStats {
  received: number;
  done: number;
  poison: number;
  retried: number;
}

/** Polls one queue until shut down: long-poll, handle with a visibility heartbeat, then settle every message. */
export async function runWorkerLoop(options: WorkerLoopOptions): Promise<LoopStats> {
  const { queue, signal, log } = options;
  const stats: LoopStats = { received: 0, done: 0, poison: 0, retried: 0 };
  let idleSince = Date.now();
  let failures = 0;
  while (!signal.aborted) {
    let messages: Array<ReceivedMessage<unknown>>;
    try {
      // The poll is not aborted on shutdown: an SQS long poll cut off client-side can still take a message, which
      // then stays invisible for a whole visibility timeout. Let it return and hand back what it brought.
      // One message per receive: one shard already fills every core (the extract workers top S3 notices up to a batch).
      messages = await queue.receive({ max: 1, waitSeconds: options.waitSeconds ?? 20 });
      failures = 0;
    } catch (err) {
      if (signal.aborted) break;
      failures += 1;
      log?.({ event: 'queue:receive-failed', queue: queue.name, error: errorMessage(err) });
      // A shutdown cuts the backoff short (the timer rejects with an AbortError, which only ends the wait).
      await sleep(Math.min(30, 2 ** failures) * 1000, undefined, { signal }).catch(() => undefined);
      continue;
    }
    if (signal.aborted) {
      await Promise.allSettled(messages.map((m) => queue.release(m, 0)));
      break;
    }
    if (messages.length === 0) {
      if (options.idleExitSeconds !== undefined && Date.now() - idleSince >= options.idleExitSeconds * 1000) break;
      continue;
    }
    stats.received += messages.length;
    const outcomes = await withHeartbeat(options, messages);
    await settle(options, messages, outcomes, stats);
    idleSince = Date.now();
  }
  return stats;
}

/** Handles `messages` while keeping them invisible: a beat three times per timeout, so one lost call does no harm. */
async function withHeartbeat(
  { queue, visibilityTimeoutSeconds: visibility, log, handle }: WorkerLoopOptions,
  messages: ReadonlyArray<ReceivedMessage<unknown>>,
): Promise<Outcome[]> {
  const beat = () =>
    queue.extendVisibilityAll(messages, visibility).catch((err: unknown) => {
      log?.({
        event: 'queue:heartbeat-failed',
        queue: queue.name,
        messages: messages.length,
        error: errorMessage(err),
      });
    });
  const timer = setInterval(beat, Math.max(100, (visibility * 1000) / 3));
  try {
    return await handle(messages);
  } finally {
    clearInterval(timer);
  }
}

async function settle(
  { queue, log }: WorkerLoopOptions,
  messages: ReadonlyArray<ReceivedMessage<unknown>>,
  outcomes: Outcome[],
  stats: LoopStats,
): Promise<void> {
  const done = messages.filter((_, i) => outcomes[i]?.kind === 'done');
  stats.done += done.length;
  const settling: Array<Promise<void>> = [queue.ackAll(done)];
  messages.forEach((m, i) => {
    const outcome = outcomes[i]!;
    if (outcome.kind === 'poison') {
      stats.poison += 1;
      log?.({ event: 'message:dead-lettered', queue: queue.name, messageId: m.id, reason: outcome.reason });
      settling.push(queue.deadLetter(m, outcome.reason));
    } else if (outcome.kind === 'retry') {
      stats.retried += 1;
      settling.push(queue.release(m, outcome.delaySeconds));
    }
  });
  // A failed ack or move only means the message comes back; its handler is idempotent.
  for (const result of await Promise.allSettled(settling)) {
    if (result.status === 'rejected')
      log?.({ event: 'queue:settle-failed', queue: queue.name, error: errorMessage(result.reason) });
  }
}
