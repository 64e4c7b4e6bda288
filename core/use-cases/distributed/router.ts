import { errorMessage } from '../../errors.js';
import { looksLikeS3Notification, parseS3Notification, type S3ObjectRef } from '../../messages/s3-event.js';
import {
  InvalidMessageError,
  looksLikeTask,
  parseStateMessage,
  parseTask,
  parseWorkMessage,
  type TaskEnvelope,
  type WorkMessage,
} from '../../messages/schema.js';
import type { ReceivedMessage } from '../../ports/work-queue.js';
import { isPermanent, type DistributedDeps } from './deps.js';
import { evaluateRun } from './evaluate-run.js';
import { extractShard } from './extract-shard.js';
import { ingestObjects } from './ingest.js';
import { planRun } from './plan-run.js';
import { TASK_ERRORS } from './state-machine.js';
import { trainRun } from './train-run.js';

/**
 * What to do with a queue message after handling it. `poison` goes to the dead-letter queue at once (it can never
 * succeed); `retry` comes back after a backoff and, after the queue's maxReceiveCount, is redriven to the DLQ. A
 * state machine task is `done` once its token is answered, success or failure: retries are the engine's.
 */
export type Outcome =
  { kind: 'done' } | { kind: 'poison'; reason: string } | { kind: 'retry'; reason: string; delaySeconds: number };

export function classifyFailure(err: unknown, receiveCount: number): Outcome {
  if (isPermanent(err)) return { kind: 'poison', reason: `${(err as { code: string }).code}: ${errorMessage(err)}` };
  return { kind: 'retry', reason: errorMessage(err), delaySeconds: Math.min(300, 2 ** Math.min(receiveCount, 8)) };
}

export function handleWork(deps: DistributedDeps, message: WorkMessage): Promise<unknown> {
  switch (message.type) {
    case 'run':
      return planRun(deps, message);
    case 'extract':
      return extractShard(deps, message);
    case 'train':
      return trainRun(deps, message);
    case 'evaluate':
      return evaluateRun(deps, message);
  }
}

/** The error name a task failure is reported under: the state machine retries transient ones with backoff. */
export function taskErrorName(err: unknown): string {
  return isPermanent(err) ? TASK_ERRORS.permanent : TASK_ERRORS.transient;
}

/** A state's input to a Lambda task ({ message }), handled as the callback workers handle a task's message. */
export async function handleStateInput(deps: DistributedDeps, input: unknown): Promise<unknown> {
  try {
    return await handleWork(deps, parseStateMessage(input));
  } catch (err) {
    // Step Functions reads a Lambda task's error type from the error's name.
    throw Object.assign(new Error(errorMessage(err), { cause: err }), { name: taskErrorName(err) });
  }
}

/**
 * A task of the run's state machine: works on its message while telling the engine it is alive, then answers its token
 * either way. The queue a task arrives on is the one the state machine named, so a consumer takes whatever task
 * reaches it; a hand-sent message has no token and is poison (thrown, as is a task whose message is malformed).
 */
async function runTask(deps: DistributedDeps, body: unknown, receiveCount: number): Promise<Outcome> {
  const { tasks } = deps;
  if (!looksLikeTask(body)) {
    // Not a task of the run's state machine: say what it is wrong with, then that runs start with `submit`.
    parseWorkMessage(body);
    throw new InvalidMessageError([
      'body: a work message without a task token; runs are executions of the state machine (cnn-codes submit)',
    ]);
  }
  let envelope: TaskEnvelope;
  try {
    envelope = parseTask(body);
  } catch (err) {
    // The engine learns at once that this task can never succeed; the message itself is parked as poison.
    if (typeof body.task === 'string' && body.task)
      await tasks.fail(body.task, TASK_ERRORS.permanent, errorMessage(err));
    throw err;
  }
  const { task, message } = envelope;
  const { type, runId } = message;
  // A queue's redelivery (its visibility lapsed before the message was settled), told apart from an engine's retry.
  if (receiveCount > 1) deps.log?.({ event: 'task:redelivered', type, runId, receiveCount });
  const beat = setInterval(() => {
    tasks
      .heartbeat(task)
      .catch((err: unknown) => deps.log?.({ event: 'task:heartbeat-failed', error: errorMessage(err) }));
  }, tasks.beatSeconds * 1000);
  let answer: Promise<'answered' | 'late'>;
  try {
    answer = tasks.succeed(task, (await handleWork(deps, message)) ?? {});
  } catch (err) {
    deps.log?.({ event: 'task:failed', type, runId, error: errorMessage(err) });
    answer = tasks.fail(task, taskErrorName(err), errorMessage(err));
  } finally {
    clearInterval(beat);
  }
  // A late answer (the task timed out and was retried, or the execution ended) is harmless: the retry does the work.
  if ((await answer) === 'late') deps.log?.({ event: 'task:late-answer', type, runId });
  return { kind: 'done' };
}

/**
 * Handles one received batch; returns one outcome per message, in order. Never throws: a failure becomes an
 * outcome, so one bad message cannot take its batch (or its worker) down. S3 notices in a batch are extracted
 * together, as one batch of images through the backbone.
 */
export async function handleBatch(
  deps: DistributedDeps,
  messages: ReadonlyArray<ReceivedMessage<unknown>>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(messages.length);
  const isNotice = messages.map((m) => looksLikeS3Notification(m.body));
  const notices: number[] = [];
  const objects: S3ObjectRef[] = [];
  const fail = (i: number, err: unknown): void => {
    const m = messages[i]!;
    outcomes[i] = classifyFailure(err, m.receiveCount);
    deps.log?.({ event: 'message:failed', messageId: m.id, receiveCount: m.receiveCount, ...outcomes[i] });
  };
  for (const [i, m] of messages.entries()) {
    if (!isNotice[i]) continue;
    try {
      const notice = parseS3Notification(m.body);
      if (notice.kind === 'objects') objects.push(...notice.objects);
      notices.push(i);
    } catch (err) {
      fail(i, err);
    }
  }
  // Notices first: a shard picked up in the same batch then finds those images cached instead of embedding them.
  if (notices.length > 0) {
    let outcome: Outcome = { kind: 'done' };
    try {
      await ingestObjects(deps, objects);
    } catch (err) {
      outcome = classifyFailure(err, Math.max(...notices.map((i) => messages[i]!.receiveCount)));
      deps.log?.({ event: 'message:failed', messageIds: notices.map((i) => messages[i]!.id), ...outcome });
    }
    for (const i of notices) outcomes[i] = outcome;
  }
  for (const [i, m] of messages.entries()) {
    if (isNotice[i]) continue;
    try {
      outcomes[i] = await runTask(deps, m.body, m.receiveCount);
    } catch (err) {
      fail(i, err);
    }
  }
  return outcomes;
}
