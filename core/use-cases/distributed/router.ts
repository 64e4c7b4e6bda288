import { CnnCodesError, errorMessage } from '../../errors.js';
import { looksLikeS3Notification, parseS3Notification, type S3ObjectRef } from '../../messages/s3-event.js';
import { MESSAGE_TYPES, parseWorkMessage, type MessageType, type WorkMessage } from '../../messages/schema.js';
import { InvalidMessageError } from '../../messages/validate.js';
import type { ReceivedMessage } from '../../ports/work-queue.js';
import { ClaimBusyError } from './claims.js';
import type { Delivery, DistributedDeps } from './deps.js';
import { evaluateRun } from './evaluate-run.js';
import { extractShard } from './extract-shard.js';
import { ingestObjects } from './ingest.js';
import { planRun } from './plan-run.js';
import { trainRun } from './train-run.js';

/**
 * What to do with a message after handling it. `poison` goes to the dead-letter queue at once (it can never
 * succeed); `retry` comes back after a backoff and, after the queue's maxReceiveCount, is redriven to the DLQ.
 */
export type Outcome =
  | { kind: 'done'; result?: unknown }
  | { kind: 'poison'; reason: string }
  | { kind: 'retry'; reason: string; delaySeconds: number };

/** Message kinds one consumer serves: work types, plus 's3' for S3 event notifications (incremental mode). */
export type Accepts = ReadonlySet<MessageType | 's3'>;

/** Wrong input or wrong data: the same message would fail the same way on every delivery. */
const PERMANENT = new Set(['CONFIG', 'DATA', 'NOT_FOUND']);

export function classifyFailure(err: unknown, receiveCount: number): Outcome {
  if (err instanceof CnnCodesError && PERMANENT.has(err.code))
    return { kind: 'poison', reason: `${err.code}: ${errorMessage(err)}` };
  if (err instanceof ClaimBusyError)
    return { kind: 'retry', reason: errorMessage(err), delaySeconds: err.retryAfterSeconds };
  return { kind: 'retry', reason: errorMessage(err), delaySeconds: Math.min(300, 2 ** Math.min(receiveCount, 8)) };
}

type Parsed = { kind: 'work'; message: WorkMessage } | { kind: 's3'; objects: S3ObjectRef[] };

function parseDelivery(body: unknown, accepts: Accepts): Parsed {
  if (looksLikeS3Notification(body)) {
    if (!accepts.has('s3'))
      throw new InvalidMessageError([
        'an S3 event notification reached a queue that does not serve incremental extraction',
      ]);
    const notice = parseS3Notification(body);
    return { kind: 's3', objects: notice.kind === 'objects' ? notice.objects : [] };
  }
  // Misrouting is named before field errors: it is the more useful thing to know about such a message.
  const type = (body as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && MESSAGE_TYPES.includes(type as MessageType) && !accepts.has(type as MessageType)) {
    throw new InvalidMessageError([
      `type: "${type}" is not served here (this consumer takes ${[...accepts].join(', ')}); send it to the ${type} queue`,
    ]);
  }
  return { kind: 'work', message: parseWorkMessage(body) };
}

export function handleWork(deps: DistributedDeps, message: WorkMessage, delivery: Delivery): Promise<unknown> {
  switch (message.type) {
    case 'run':
      return planRun(deps, message, delivery);
    case 'extract':
      return extractShard(deps, message, delivery);
    case 'train':
      return trainRun(deps, message, delivery);
    case 'evaluate':
      return evaluateRun(deps, message, delivery);
  }
}

/**
 * Handles one received batch; returns one outcome per message, in order. Never throws: a failure becomes an
 * outcome, so one bad message cannot take its batch (or its worker) down. S3 notices in a batch are extracted
 * together, as one batch of images through the backbone.
 */
export async function handleBatch(
  deps: DistributedDeps,
  messages: ReadonlyArray<ReceivedMessage<unknown>>,
  accepts: Accepts,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(messages.length);
  const notices: number[] = [];
  const objects: S3ObjectRef[] = [];
  const work: Array<{ i: number; message: WorkMessage }> = [];
  const fail = (i: number, err: unknown): void => {
    const m = messages[i]!;
    outcomes[i] = classifyFailure(err, m.receiveCount);
    deps.log?.({ event: 'message:failed', messageId: m.id, receiveCount: m.receiveCount, ...outcomes[i] });
  };
  for (const [i, m] of messages.entries()) {
    try {
      const parsed = parseDelivery(m.body, accepts);
      if (parsed.kind === 'work') work.push({ i, message: parsed.message });
      else {
        notices.push(i);
        objects.push(...parsed.objects);
      }
    } catch (err) {
      fail(i, err);
    }
  }
  // Notices first: a shard picked up in the same batch then finds those images cached instead of embedding them.
  if (notices.length > 0) {
    let outcome: Outcome;
    try {
      outcome = { kind: 'done', result: await ingestObjects(deps, objects) };
    } catch (err) {
      outcome = classifyFailure(err, Math.max(...notices.map((i) => messages[i]!.receiveCount)));
      deps.log?.({ event: 'message:failed', messageIds: notices.map((i) => messages[i]!.id), ...outcome });
    }
    for (const i of notices) outcomes[i] = outcome;
  }
  for (const { i, message } of work) {
    try {
      outcomes[i] = {
        kind: 'done',
        result: await handleWork(deps, message, { id: messages[i]!.id, receiveCount: messages[i]!.receiveCount }),
      };
    } catch (err) {
      fail(i, err);
    }
  }
  return outcomes;
}
