import type { BlobStore } from '../../ports/blob-store.js';
import type { Delivery } from './deps.js';
import { RUN_KEYS } from './layout.js';

interface Claim {
  owner: string;
  at: string;
}

/** Another delivery of the same logical message holds a fresh claim and may be sending right now: ask again later. */
export class ClaimBusyError extends Error {
  readonly retryAfterSeconds: number;
  constructor(name: string, retryAfterSeconds: number) {
    super(
      `the ${name} claim is held by another delivery of this message; its lease ends in ${retryAfterSeconds.toFixed(1)} s`,
    );
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

export type SendOnceResult = 'sent' | 'already-sent' | 'claimed-by-another';

/**
 * Sends a downstream message once per run. The claim (putIfAbsent, so exactly one owner) names a logical owner
 * taken from the message body (the shard that completed the join, the run), not the SQS message id: a message
 * redriven from a DLQ gets a new id but is still the owner. A `.sent` marker records the send.
 *
 * A delivery that finds the claim already held by its own owner is a redelivery (crash between claim and send:
 * it sends) or a concurrent duplicate (its twin may be sending now: it must not). It cannot tell which, so it waits
 * until the claim's lease has passed; by then a live twin has written `.sent`. The only double send left is a crash
 * after the send and before the marker, or a send stalled past the lease; the next stage is idempotent for that.
 */
export async function sendOnce(
  workspace: BlobStore,
  name: string,
  owner: string,
  send: () => Promise<void>,
  leaseSeconds = 30,
): Promise<SendOnceResult> {
  const mine: Claim = { owner, at: new Date().toISOString() };
  if (!(await workspace.putIfAbsent(RUN_KEYS.claim(name), JSON.stringify(mine)))) {
    const claim = await workspace.getJson<Claim>(RUN_KEYS.claim(name));
    if (claim?.owner !== owner) return 'claimed-by-another';
    if (await workspace.exists(RUN_KEYS.sent(name))) return 'already-sent';
    const age = (Date.now() - Date.parse(claim.at)) / 1000;
    if (age < leaseSeconds) throw new ClaimBusyError(name, leaseSeconds - age);
  }
  await send();
  await workspace.put(RUN_KEYS.sent(name), new Date().toISOString());
  return 'sent';
}

/**
 * One audit object per handled message: what its first completed delivery did. Later deliveries of the same message
 * leave it alone, so the events count messages (not attempts) and keep the original outcome.
 */
export async function recordEvent(
  workspace: BlobStore,
  stage: string,
  delivery: Delivery,
  fields: Record<string, unknown>,
  workerId?: string,
): Promise<void> {
  const body = {
    stage,
    messageId: delivery.id,
    receiveCount: delivery.receiveCount,
    worker: workerId ?? null,
    at: new Date().toISOString(),
    ...fields,
  };
  await workspace.putIfAbsent(RUN_KEYS.event(stage, delivery.id), JSON.stringify(body));
}
