import { ENV } from '../../contracts/cross-process.js';
import { parseWorkMessage } from '../../core/messages/schema.js';
import { handleWork } from '../../core/use-cases/distributed/router.js';
import { buildRuntime, jsonLog } from '../shared/runtime.js';
import { settingsFromEnv } from '../shared/settings.js';
import { shutdownOnSignals } from '../shared/shutdown.js';
import { runWorkers } from '../shared/workers.js';

/**
 * The Batch CPU train job (`node dist/functions/train-head/worker.js`), for heads the train-head Lambda answers are
 * too large for it. On AWS the state machine runs it `.sync` with the train message in ENV.trainMessage: it
 * fits that head and exits (its exit status is the step's outcome). In the emulator it answers the TrainBatch
 * callback tasks on its queue (CNN_CODES_TRAIN_QUEUE_URL, with CNN_CODES_TRAIN_COMPUTE=batch) until idle.
 */
const log = jsonLog({ role: 'train-batch' });
const settings = settingsFromEnv();
const runtime = buildRuntime(settings, { withBackbone: false, log });
const given = process.env[ENV.trainMessage];
try {
  if (given) {
    const fitted = await handleWork(runtime.deps, parseWorkMessage(JSON.parse(given)));
    log({ event: 'train:fitted', ...(fitted as object) });
  } else {
    log({ event: 'worker:started', stages: ['train'], compute: settings.trainCompute?.runsOn ?? 'unset' });
    const stats = await runWorkers(runtime, {
      stages: ['train'],
      signal: shutdownOnSignals(log),
      idleExitSeconds: settings.idleExitSeconds,
    });
    log({ event: 'worker:exited', stats });
  }
} finally {
  await runtime.close();
}
