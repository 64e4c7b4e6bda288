import { DataError } from '../../errors.js';
import type { EvaluateMessage } from '../../messages/schema.js';
import { evaluate } from '../evaluate.js';
import { recordEvent } from './claims.js';
import type { Delivery, DistributedDeps } from './deps.js';
import { readRunPlan } from './plan-run.js';
import type { Evaluation } from '../../workspace/evaluation.js';
import { readHeadArtefact } from '../../workspace/head-artefact.js';
import { cachedHeadKey, HEAD_KEY } from '../../workspace/keys.js';

export interface EvaluateOutcome {
  evaluation: Evaluation;
}

/**
 * evaluate → the core evaluate on the named head artefact → metrics.json, report.md and report.html in the run's
 * workspace.
 * Deterministic for a given head, so a repeated evaluate message rewrites the same files.
 */
export async function evaluateRun(
  deps: DistributedDeps,
  message: EvaluateMessage,
  delivery: Delivery,
): Promise<EvaluateOutcome> {
  const workspace = deps.openStore(message.workspace);
  const named = cachedHeadKey(message.head);
  const artefact = await readHeadArtefact(workspace, named);
  if (!artefact) throw new DataError(`no head artefact ${workspace.location}/${named}`);
  // An unreadable head.json is replaced by the named artefact, like a stale one.
  const current = await readHeadArtefact(workspace).catch(() => undefined);
  if (current?.cacheKey !== message.head) await workspace.put(HEAD_KEY, JSON.stringify(artefact));
  // The plan names the dataset, so report.html can show the misclassified images (incremental runs have no plan).
  const plan = await readRunPlan(workspace);
  const data = plan ? { data: deps.openStore(plan.dataset) } : {};
  const evaluation = await evaluate(
    { workspace, features: deps.openFeatures(message.cache, 'read'), ...data },
    { split: message.split },
  );
  const { accuracy, balancedAccuracy, n } = evaluation.metrics;
  await recordEvent(
    workspace,
    'evaluate',
    delivery,
    { outcome: 'evaluated', split: message.split, accuracy, balancedAccuracy, n },
    deps.workerId,
  );
  deps.log?.({ event: 'evaluate:done', runId: message.runId, split: message.split, accuracy, n });
  return { evaluation };
}
