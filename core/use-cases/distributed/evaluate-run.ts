import { DataError } from '../../errors.js';
import type { EvaluateMessage } from '../../messages/schema.js';
import { evaluate } from '../evaluate.js';
import type { DistributedDeps } from './deps.js';
import { readRunPlan } from './plan-run.js';
import { readHeadArtefact } from '../../workspace/head-artefact.js';
import { HEAD_KEY } from '../../workspace/keys.js';
import { optional } from '../../util/optional.js';

/**
 * evaluate → the core evaluate on the run's head.json (the train step's) → metrics.json, report.md and report.html in
 * the run's workspace. Deterministic for a given head, so a repeated evaluate message rewrites the same files. Returns
 * the run's result, small enough for the execution's output.
 */
export async function evaluateRun(deps: DistributedDeps, message: EvaluateMessage) {
  const workspace = deps.openStore(message.workspace);
  const artefact = await readHeadArtefact(workspace);
  if (!artefact) throw new DataError(`no head artefact ${workspace.location}/${HEAD_KEY}`);
  // The plan names the dataset, so report.html can show the misclassified images (incremental runs have no plan).
  const plan = await readRunPlan(workspace);
  const data = plan ? { data: deps.openStore(plan.dataset) } : {};
  const evaluation = await evaluate(
    { workspace, features: deps.openFeatures(message.cache, 'read'), ...data },
    { split: message.split, ...optional('execution', message.execution) },
  );
  const { accuracy, balancedAccuracy, n } = evaluation.metrics;
  deps.log?.({ event: 'evaluate:done', runId: message.runId, split: message.split, accuracy, n });
  return { accuracy, balancedAccuracy, n, head: artefact.cacheKey };
}
