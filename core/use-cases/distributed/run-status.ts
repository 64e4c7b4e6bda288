import type { BlobStore } from '../../ports/blob-store.js';
import { readEvaluation } from '../../workspace/evaluation.js';
import { METRICS_KEY } from '../../workspace/keys.js';
import { ONCE, RUN_KEYS } from './layout.js';
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

/** Where a run stands, read from its workspace alone (plan, parts, claims, events, metrics): no queue involved. */
export async function runStatus(workspace: BlobStore, runId: string): Promise<RunStatus> {
  const plan = await readRunPlan(workspace);
  const counts: Record<string, number> = {};
  let partsDone = 0;
  let evaluated = false;
  for await (const blob of workspace.list('')) {
    if (blob.key.startsWith(RUN_KEYS.partsPrefix)) partsDone += 1;
    else if (blob.key.startsWith('events/')) {
      const stage = blob.key.split('/')[1]!;
      counts[stage] = (counts[stage] ?? 0) + 1;
    } else if (blob.key === METRICS_KEY) evaluated = true;
  }
  const sent = Object.fromEntries(await Promise.all(Object.values(ONCE).map(async (name) => [name, await workspace.exists(RUN_KEYS.sent(name))] as const)));
  const metrics = evaluated ? await readEvaluation(workspace) : undefined;
  const total = plan?.shards.length ?? 0;
  const state: RunStatus['state'] = metrics ? 'done' : !plan ? 'planning' : partsDone < total ? 'extracting' : sent[ONCE.evaluate] ? 'evaluating' : 'training';
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
