/**
 * Where a run keeps its files, relative to its workspace: the plan and its shard manifest (what the state machine's
 * Distributed Map reads), one part per extracted shard, one summary per compacted group, a failure per poison shard.
 */
export const RUN_KEYS = {
  plan: 'plan.json',
  /** The Distributed Map's items: one extract message per shard. */
  shards: 'shards.json',
  /** Written last by an extract, atomically: its existence is the shard's done marker. */
  part: (index: number) => `parts/${String(index).padStart(6, '0')}.json`,
  /** A group's parts compacted into one object, its codes into one cache shard per cut: what train reads. */
  group: (index: number) => `groups/${String(index).padStart(4, '0')}.json`,
  /** Why a shard failed for good (a tolerated failure is named in the report, an intolerable one fails the run). */
  failure: (index: number) => `failures/${String(index).padStart(6, '0')}.json`,
} as const;

/**
 * Train reads at most this many code objects per run, however many shards there were: shards are compacted in
 * groups, each group's codes into one cache shard per cut point.
 */
export const MAX_TRAIN_CODE_OBJECTS = 100;
/**
 * Train's GETs for the compacted run: per group its summary, and per cut point the compacted code shard's .npy and
 * .json. Groups are capped so they stay within this many (32 groups for one cut point): a 50k run's second pass, its
 * items carrying content hashes and so 46 shards to a message-size cap, took 141 GETs when every shard was its own group.
 */
export const MAX_TRAIN_GETS = 96;

/** Contiguous runs of shards; group g holds shards [g·perGroup, (g+1)·perGroup). Recorded in the plan. */
export interface GroupLayout {
  groups: number;
  perGroup: number;
}

export function groupLayout(shards: number, cuts: number): GroupLayout {
  const perGroupGets = 1 + 2 * Math.max(1, cuts);
  const maxGroups = Math.max(
    1,
    Math.floor(Math.min(MAX_TRAIN_CODE_OBJECTS / Math.max(1, cuts), MAX_TRAIN_GETS / perGroupGets)),
  );
  const perGroup = Math.ceil(shards / Math.max(1, Math.min(shards, maxGroups)));
  return { groups: Math.ceil(shards / Math.max(1, perGroup)), perGroup: Math.max(1, perGroup) };
}

export function shardsOfGroup(layout: GroupLayout, group: number, shards: number): { first: number; end: number } {
  const first = group * layout.perGroup;
  return { first, end: Math.min(shards, first + layout.perGroup) };
}
