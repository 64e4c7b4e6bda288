import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../../ports/blob-store.js';
import { hasConditionalWrites } from '../../ports/conditional-writes.js';
import { updateJson } from '../../util/update-json.js';

/**
 * Ingest on upload and a run over the same objects overlap: the run's shards arrive while the last notices are being
 * embedded. Each ingest batch announces the identities it is embedding in one registry object of the cache
 * (`inflight.json`, updated by compare-and-swap); a shard naming any of them waits for that batch to finish (its
 * codes are then in the cache index) instead of reading and embedding the same images a second time. The registry
 * holds only batches in flight (≤ one per worker), so reading it is one small GET and never a listing; a crashed
 * batch stops counting when its lease ends, and the next announcement drops it.
 */
interface InFlightRegistry {
  v: 1;
  batches: Record<string, { at: string; leaseSeconds: number; sources: string[] }>;
}

const KEY = 'inflight.json';
const LEASE_SECONDS = 60;
const POLL_MS = 500;

function live(registry: InFlightRegistry | undefined, now: number): InFlightRegistry['batches'] {
  return Object.fromEntries(
    Object.entries(registry?.batches ?? {}).filter(([, b]) => Date.parse(b.at) + b.leaseSeconds * 1000 > now),
  );
}

export interface InFlightClaim {
  /** Withdraws the announcement: call it once the codes are registered (a no-op when nothing was announced). */
  withdraw(): Promise<void>;
  /**
   * Identities another live batch announced first (a notice redelivered while its first copy is still being embedded):
   * not announced here; wait for them (`awaitInFlight`) and they are then found in the cache instead of embedded twice.
   */
  elsewhere: ReadonlySet<string>;
}

/** Announces a batch's identities, except those another live batch holds, in the same compare-and-swap. */
export async function announceInFlight(cache: BlobStore, sources: readonly string[]): Promise<InFlightClaim> {
  const nothing: InFlightClaim = { withdraw: async () => {}, elsewhere: new Set() };
  if (sources.length === 0 || !hasConditionalWrites(cache)) return nothing;
  const id = randomUUID();
  let elsewhere = new Set<string>();
  let announced = false;
  await updateJson<InFlightRegistry>(cache, KEY, (registry) => {
    const batches = live(registry, Date.now());
    const held = new Set(Object.values(batches).flatMap((b) => b.sources));
    elsewhere = new Set(sources.filter((s) => held.has(s)));
    const mine = sources.filter((s) => !held.has(s));
    announced = mine.length > 0;
    if (!announced) return undefined;
    return {
      v: 1,
      batches: { ...batches, [id]: { at: new Date().toISOString(), leaseSeconds: LEASE_SECONDS, sources: mine } },
    };
  });
  if (!announced) return { ...nothing, elsewhere };
  const withdraw = async () => {
    // A failed withdrawal only makes shards wait for the lease to end: never fatal.
    await updateJson<InFlightRegistry>(cache, KEY, (registry) => {
      if (!registry?.batches[id]) return undefined;
      const { [id]: _done, ...rest } = registry.batches;
      return { v: 1, batches: live({ v: 1, batches: rest }, Date.now()) };
    }).catch(() => undefined);
  };
  return { withdraw, elsewhere };
}

/** Waits until no live batch is embedding any of `sources`; returns how many batches it waited for. */
export async function awaitInFlight(cache: BlobStore, sources: ReadonlySet<string>): Promise<number> {
  if (sources.size === 0) return 0;
  const overlapping = (registry: InFlightRegistry | undefined) =>
    Object.entries(live(registry, Date.now()))
      .filter(([, b]) => b.sources.some((s) => sources.has(s)))
      .map(([id]) => id);
  const first = overlapping(await cache.getJson<InFlightRegistry>(KEY));
  let waiting = first;
  while (waiting.length > 0) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const now = overlapping(await cache.getJson<InFlightRegistry>(KEY));
    waiting = waiting.filter((id) => now.includes(id));
  }
  return first.length;
}

/** Every identity a live ingest batch is embedding now (one GET): the planner counts them as cached. */
export async function inFlightSources(cache: BlobStore): Promise<Set<string>> {
  const batches = live(await cache.getJson<InFlightRegistry>(KEY), Date.now());
  return new Set(Object.values(batches).flatMap((b) => b.sources));
}
