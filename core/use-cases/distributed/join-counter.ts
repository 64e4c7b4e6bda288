import { ConfigError } from '../../errors.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { hasConditionalWrites, type VersionedBlobStore } from '../../ports/conditional-writes.js';

/** Conflicts are resolved by re-reading; this many in a row means something other than contention is wrong. */
const MAX_ATTEMPTS = 64;

export function requireConditionalWrites(store: BlobStore): VersionedBlobStore {
  if (!hasConditionalWrites(store))
    throw new ConfigError(`${store.location} offers no conditional writes, which the join needs`);
  return store;
}

/**
 * Read-modify-write of one JSON object by compare-and-swap: `change` gets the current value (undefined: no object
 * yet) and returns the next one, or `undefined` to leave it as it is. Returns what was last read or written, and how
 * many writes lost to another writer on the way.
 */
export async function updateJson<T>(
  store: VersionedBlobStore,
  key: string,
  change: (current: T | undefined) => T | undefined,
): Promise<{ value: T | undefined; conflicts: number }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.getVersioned(key);
    const value = current ? (JSON.parse(Buffer.from(current.body).toString('utf8')) as T) : undefined;
    const next = change(value);
    if (next === undefined) return { value, conflicts: attempt };
    if (await store.putIfVersion(key, JSON.stringify(next), current?.version))
      return { value: next, conflicts: attempt };
    // Lost the race: back off a little (with jitter, so the losers do not collide again) and read the new state.
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 5))));
  }
  // A plain Error: the router retries the message later, when the contention has passed.
  throw new Error(`${store.location}/${key}: ${MAX_ATTEMPTS} conditional writes in a row lost to other writers`);
}

/**
 * Which of `total` members (shards of a group, groups of a run) are done: a bitmap in one object. Marking is
 * idempotent (a redelivered shard sets a bit already set), so the count stays exact under redelivery, and one GET
 * plus one conditional PUT per member replaces a listing that grows with the run.
 */
interface CounterState {
  v: 1;
  total: number;
  done: number;
  /** base64 bitmap, bit i = member i done. */
  bits: string;
}

export interface CounterReading {
  done: number;
  complete: boolean;
  /** True when this call set the bit (false: a redelivery found it set). */
  marked: boolean;
  /** Conditional writes that lost to another writer before this one won (contention). */
  conflicts: number;
}

export async function markDone(
  store: VersionedBlobStore,
  key: string,
  member: number,
  total: number,
): Promise<CounterReading> {
  if (!Number.isInteger(member) || member < 0 || member >= total)
    throw new RangeError(`member ${member} is outside 0..${total - 1}`);
  let marked = false;
  const { value, conflicts } = await updateJson<CounterState>(store, key, (current) => {
    const state = current ?? { v: 1, total, done: 0, bits: Buffer.alloc(Math.ceil(total / 8)).toString('base64') };
    if (state.total !== total)
      throw new ConfigError(`${key} counts ${state.total} members, this message says ${total}`);
    const bits = Buffer.from(state.bits, 'base64');
    const mask = 1 << (member % 8);
    marked = (bits[member >> 3]! & mask) === 0;
    if (!marked) return undefined;
    bits[member >> 3] = bits[member >> 3]! | mask;
    return { v: 1, total, done: state.done + 1, bits: bits.toString('base64') };
  });
  const done = value!.done;
  return { done, complete: done === total, marked, conflicts };
}

/** How many members are done, without marking (status, tests). */
export async function readCounter(store: BlobStore, key: string): Promise<number> {
  return (await store.getJson<CounterState>(key))?.done ?? 0;
}
