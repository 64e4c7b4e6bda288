import type { BlobStore } from '../../ports/blob-store.js';
import { readEvaluation } from '../../workspace/evaluation.js';
import { METRICS_KEY } from '../../workspace/keys.js';
import { ONCE, RUN_KEYS } from './layout.js';
import { groupLayout } from './compaction.js';
import { readCounter } from './join-counter.js';
import { readRunPlan } from './plan-run.js';

export interface RunStatus {
  runId: string;
  state: 'planning' | 'extracting' | 'training' | 'evaluating' | 'done';
  images: number;
  shards: { done: number; total: number };
  /** Messages handled per stage (one per message, however often it was delivered). */
  events: Record<string, number>;
  sent: Record<string, boolean>;
  accuracy?: number;
  evaluatedOn?: number;
}

/**
 * Where a run stands, read from its workspace alone: no queue involved. Shards done come from the join's counters
 * (the run's counter, then at most 100 group counters, read in parallel), so the cost does not grow with the shards;
 * the only listing is of the run's own `events/` (one page per thousand messages).
 */
export async function runStatus(workspace: BlobStore, runId: string): Promise<RunStatus> {
  const plan = await readRunPlan(workspace);
  const total = plan?.shards.length ?? 0;
  const [partsDone, counts, evaluated] = await Promise.all([
    plan ? shardsDone(workspace, total, plan.cuts.length) : 0,
    eventCounts(workspace),
    workspace.exists(METRICS_KEY),
  ]);
  const sent = Object.fromEntries(
    await Promise.all(
      Object.values(ONCE).map(async (name) => [name, await workspace.exists(RUN_KEYS.sent(name))] as const),
    ),
  );
  const metrics = evaluated ? await readEvaluation(workspace) : undefined;
  const state: RunStatus['state'] = metrics
    ? 'done'
    : !plan
      ? 'planning'
      : partsDone < total
        ? 'extracting'
        : sent[ONCE.evaluate]
          ? 'evaluating'
          : 'training';
  return {
    runId,
    state,
    images: plan?.shards.reduce((n, s) => n + s.length, 0) ?? 0,
    shards: { done: partsDone, total },
    events: counts,
    sent,
    ...(metrics ? { accuracy: metrics.metrics.accuracy, evaluatedOn: metrics.metrics.n } : {}),
  };
}

async function shardsDone(workspace: BlobStore, shards: number, cuts: number): Promise<number> {
  const layout = groupLayout(shards, cuts);
  if ((await readCounter(workspace, RUN_KEYS.runCounter)) === layout.groups) return shards;
  const groups = await Promise.all(
    Array.from({ length: layout.groups }, (_, g) => readCounter(workspace, RUN_KEYS.groupCounter(g))),
  );
  return groups.reduce((n, done) => n + done, 0);
}

async function eventCounts(workspace: BlobStore): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const blob of workspace.list('events/')) {
    const stage = blob.key.split('/')[1]!;
    counts[stage] = (counts[stage] ?? 0) + 1;
  }
  return counts;
}
