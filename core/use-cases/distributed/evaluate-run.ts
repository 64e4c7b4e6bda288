import { DataError } from '../../errors.js';
import type { EvaluateMessage } from '../../messages/schema.js';
import { evaluate, type Evaluation } from '../evaluate.js';
import { HEAD_KEY, type HeadArtefact } from '../train-head.js';
import { holdsClaim, recordEvent } from './claims.js';
import type { Delivery, DistributedDeps } from './deps.js';
import { RUN_KEYS } from './layout.js';
import type { RunPlan } from './plan-run.js';

export interface EvaluateOutcome {
  outcome: 'evaluated' | 'duplicate';
  evaluation?: Evaluation;
}

/** evaluate → the core evaluate on the named head artefact → metrics.json and report.md in the run's workspace. */
export async function evaluateRun(deps: DistributedDeps, message: EvaluateMessage, delivery: Delivery): Promise<EvaluateOutcome> {
  const workspace = deps.openStore(message.workspace);
  if (!(await holdsClaim(workspace, 'evaluate-work', delivery.id))) {
    await recordEvent(workspace, 'evaluate', delivery, { outcome: 'duplicate' }, deps.workerId);
    return { outcome: 'duplicate' };
  }
  const named = `heads/${message.head}.json`;
  const artefact = await workspace.getJson<HeadArtefact>(named);
  if (!artefact) throw new DataError(`no head artefact ${workspace.location}/${named}`);
  const current = await workspace.getJson<HeadArtefact>(HEAD_KEY);
  if (current?.cacheKey !== message.head) await workspace.put(HEAD_KEY, JSON.stringify(artefact));
  // The dataset only feeds report.html's thumbnails of misclassified images; a run without a plan goes without.
  const plan = await workspace.getJson<RunPlan>(RUN_KEYS.plan);
  const data = plan ? { data: deps.openStore(plan.dataset) } : {};
  const evaluation = await evaluate({ workspace, features: deps.openFeatures(message.cache, 'read'), ...data }, { split: message.split });
  const { accuracy, balancedAccuracy, n } = evaluation.metrics;
  await recordEvent(workspace, 'evaluate', delivery, { outcome: 'evaluated', split: message.split, accuracy, balancedAccuracy, n }, deps.workerId);
  deps.log?.({ event: 'evaluate:done', runId: message.runId, split: message.split, accuracy, n });
  return { outcome: 'evaluated', evaluation };
}
