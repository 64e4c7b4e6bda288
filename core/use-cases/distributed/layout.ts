/**
 * Where a run keeps its coordination state, relative to its workspace. Everything is an immutable object written
 * with putIfAbsent or a deterministic put, so the state is a set of facts that redelivery can only re-assert.
 */
export const RUN_KEYS = {
  plan: 'plan.json',
  /** Written last by an extract, atomically: its existence is the shard's done marker. */
  part: (index: number) => `parts/${String(index).padStart(6, '0')}.json`,
  partsPrefix: 'parts/',
  /** A group's parts compacted into one object, its codes into one cache shard per cut: what train reads. */
  group: (index: number) => `groups/${String(index).padStart(4, '0')}.json`,
  /** The join's counters (bitmaps updated by compare-and-swap): shards done per group, groups done per run. */
  groupCounter: (index: number) => `join/group-${String(index).padStart(4, '0')}.json`,
  runCounter: 'join/groups.json',
  /** Who won the right to send a downstream message, and whether it went out. */
  claim: (name: string) => `claims/${name}.json`,
  sent: (name: string) => `claims/${name}.sent`,
  /** One object per message handled: the audit trail `status` and the tests count. */
  event: (stage: string, messageId: string) => `events/${stage}/${messageId}.json`,
  eventsPrefix: (stage: string) => `events/${stage}/`,
} as const;

/** Names of the one-time sends: the fan-out of extracts, the join's train, train's evaluate. */
export const ONCE = { fanOut: 'fan-out', train: 'train', trainBatch: 'train-batch', evaluate: 'evaluate' } as const;
