import type { BlobStore } from '../../ports/blob-store.js';
import type { Delivery } from './deps.js';
import { RUN_KEYS } from './layout.js';

interface Claim {
  owner: string;
  at: string;
}

/**
 * Whether `owner` holds the claim `name`: it just created it, or created it on an earlier delivery of the same
 * message (same id). Exactly one owner ever holds a claim, because creation is putIfAbsent.
 */
export async function holdsClaim(workspace: BlobStore, name: string, owner: string): Promise<{ created: boolean; at: number } | false> {
  const mine: Claim = { owner, at: new Date().toISOString() };
  if (await workspace.putIfAbsent(RUN_KEYS.claim(name), JSON.stringify(mine))) return { created: true, at: Date.parse(mine.at) };
  const claim = await workspace.getJson<Claim>(RUN_KEYS.claim(name));
  return claim?.owner === owner ? { created: false, at: Date.parse(claim.at) } : false;
}

/** Another delivery of the same message holds a fresh claim and may be sending right now: ask again later. */
export class ClaimBusyError extends Error {
  readonly retryAfterSeconds: number;
  constructor(name: string, retryAfterSeconds: number) {
    super(`the ${name} claim is held by another delivery of this message, taken ${retryAfterSeconds.toFixed(1)} s before its lease ends`);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

export type SendOnceResult = 'sent' | 'already-sent' | 'claimed-by-another';

/**
 * Sends a downstream message once per run. Only the claim's owner (one message id) may send, and a `.sent` marker
 * records that it did. A crash between claim and send leaves the message unacknowledged; its redelivery (same id)
 * finds no marker and, once the claim's lease has passed, sends. Within the lease a second delivery of the same
 * message (SQS may deliver one message twice at once) waits instead: the first may be sending at this moment.
 * The one window that can still send twice is a crash after the send and before the marker, or a send stalled past
 * the lease; the receiving stage claims its work by message id, so a second copy is recognised and skipped there.
 */
export async function sendOnce(workspace: BlobStore, name: string, delivery: Delivery, send: () => Promise<void>, leaseSeconds = 30): Promise<SendOnceResult> {
  const claim = await holdsClaim(workspace, name, delivery.id);
  if (!claim) return 'claimed-by-another';
  if (!claim.created) {
    if (await workspace.exists(RUN_KEYS.sent(name))) return 'already-sent';
    const age = (Date.now() - claim.at) / 1000;
    if (age < leaseSeconds) throw new ClaimBusyError(name, leaseSeconds - age);
  }
  await send();
  await workspace.put(RUN_KEYS.sent(name), new Date().toISOString());
  return 'sent';
}

/** One audit object per handled message, overwritten by its redeliveries: counts messages, not attempts. */
export async function recordEvent(workspace: BlobStore, stage: string, delivery: Delivery, fields: Record<string, unknown>, workerId?: string): Promise<void> {
  const body = { stage, messageId: delivery.id, receiveCount: delivery.receiveCount, worker: workerId ?? null, at: new Date().toISOString(), ...fields };
  await workspace.put(RUN_KEYS.event(stage, delivery.id), JSON.stringify(body));
}
