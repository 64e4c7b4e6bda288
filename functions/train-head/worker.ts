import { buildRuntime, jsonLog } from '../shared/runtime.js';
import { requireQueue, settingsFromEnv } from '../shared/settings.js';
import { shutdownOnSignals } from '../shared/shutdown.js';
import { runWorkers } from '../shared/workers.js';

/**
 * The Batch CPU train job (`node dist/functions/train-head/worker.js`): drains the queue the train-head Lambda
 * forwards too-large train messages to (the stack passes it as this job's CNN_CODES_TRAIN_QUEUE_URL, with
 * CNN_CODES_TRAIN_COMPUTE=batch), fits each head without Lambda's memory and 15-minute limits, sends evaluate, and
 * exits after CNN_CODES_IDLE_EXIT_SECONDS without work.
 */
const log = jsonLog({ role: 'train-batch' });
const settings = settingsFromEnv();
requireQueue(settings, 'train');
const runtime = buildRuntime(settings, { withBackbone: false, log });
log({ event: 'worker:started', stages: ['train'], compute: settings.trainCompute ?? 'unset' });
const stats = await runWorkers(runtime, {
  stages: ['train'],
  signal: shutdownOnSignals(log),
  log,
  ...(settings.idleExitSeconds === null ? {} : { idleExitSeconds: settings.idleExitSeconds }),
});
await runtime.close();
log({ event: 'worker:exited', stats });
