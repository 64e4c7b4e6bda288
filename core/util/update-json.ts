import type { VersionedBlobStore } from '../ports/conditional-writes.js';

/** Conflicts are resolved by re-reading; this many in a row means something other than contention is wrong. */
const MAX_ATTEMPTS = 64;

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
  // A plain Error: transient, so the message or task is retried later, when the contention has passed.
  throw new Error(`${store.location}/${key}: ${MAX_ATTEMPTS} conditional writes in a row lost to other writers`);
}
