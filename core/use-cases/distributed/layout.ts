/**
 * Where a run keeps its files, relative to its workspace: the plan and its shard manifest (what the state machine's
 * Distributed Map reads), one part per extracted shard (what train joins), a failure per poison shard.
 */
export const RUN_KEYS = {
  plan: 'plan.json',
  /** The Distributed Map's items: one extract message per shard. */
  shards: 'shards.json',
  /** Written last by an extract, atomically: its existence is the shard's done marker. */
  part: (index: number) => `parts/${String(index).padStart(6, '0')}.json`,
  /** Why a shard failed for good (a tolerated failure is named in the report, an intolerable one fails the run). */
  failure: (index: number) => `failures/${String(index).padStart(6, '0')}.json`,
} as const;
