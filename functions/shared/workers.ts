import { errorMessage } from '../../core/errors.js';
import { looksLikeS3Notification } from '../../core/messages/s3-event.js';
import type { WorkQueue } from '../../core/ports/work-queue.js';
import { decorate } from '../../core/util/decorate.js';
import { optional } from '../../core/util/optional.js';
import { handleBatch } from '../../core/use-cases/distributed/router.js';
import { runWorkerLoop, type LoopStats } from '../../core/use-cases/distributed/worker-loop.js';
import { ENV, type Stage } from '../../contracts/cross-process.js';
import type { Runtime } from './runtime.js';

export interface WorkerOptions {
  stages: readonly Stage[];
  signal: AbortSignal;
  /** null or absent: never. */
  idleExitSeconds?: number | null;
}

/** Long-running consumers (the Batch/ECS mode and `cnn-codes worker`): one polling loop per queue, one process. */
export async function runWorkers(runtime: Runtime, options: WorkerOptions): Promise<Partial<Record<Stage, LoopStats>>> {
  const loops = options.stages.map(async (stage) => {
    const queue = runtime.queues[stage];
    if (!queue) throw new Error(`${ENV.queueUrl[stage]} is not set: the ${stage} queue this worker polls`);
    const visibility = await queue.visibilityTimeout().catch((err: unknown) => {
      runtime.deps.log?.({ event: 'queue:attributes-failed', url: queue.url, error: errorMessage(err) });
      return 30;
    });
    const stats = await runWorkerLoop({
      queue: stage === 'extract' ? withNoticeTopUp(queue, visibility / 3) : queue,
      handle: (messages) => handleBatch(runtime.deps, messages),
      signal: options.signal,
      waitSeconds: runtime.settings.pollSeconds,
      visibilityTimeoutSeconds: visibility,
      ...optional('idleExitSeconds', options.idleExitSeconds ?? undefined),
      ...optional('log', runtime.deps.log),
    });
    return [stage, stats] as const;
  });
  return Object.fromEntries(await Promise.all(loops));
}

/**
 * Up to this many S3 notices (one image each) are extracted as one batch: one index load, one in-flight announcement
 * and one shard write, about a dozen S3 requests, so 0.05 a image at 250 (0.12 at 100; ~4 s of one core's work).
 */
export const NOTICE_BATCH = 250;

/**
 * Shards are taken one at a time, so idle workers get the next one; S3 notices are one image each, so when one
 * arrives, whatever else is waiting is picked up at once (without waiting), up to NOTICE_BATCH notices, and extracted
 * as one batch: per-batch requests are spread over hundreds of images instead of ten. Gathering stops after
 * `gatherSeconds` with what it has (the worker gives it a third of the visibility timeout): the notices taken first are
 * not under the heartbeat yet, and on a slow queue (an emulator holding thousands of messages answers a receive of ten
 * in seconds) they must not reappear to another worker meanwhile.
 */
export function withNoticeTopUp(queue: WorkQueue<unknown>, gatherSeconds: number): WorkQueue<unknown> {
  return decorate(queue, {
    receive: async (options = {}) => {
      const batch = await queue.receive(options);
      if (batch.length !== 1 || !looksLikeS3Notification(batch[0]!.body)) return batch;
      const until = Date.now() + gatherSeconds * 1000;
      while (batch.length < NOTICE_BATCH && Date.now() < until) {
        const more = await queue.receive({ max: Math.min(10, NOTICE_BATCH - batch.length), waitSeconds: 0 });
        if (more.length === 0) break;
        batch.push(...more);
      }
      return batch;
    },
  });
}
