import { buildRuntime, jsonLog } from '../shared/runtime.js';
import { settingsFromEnv } from '../shared/settings.js';
import { shutdownOnSignals } from '../shared/shutdown.js';
import { runWorkers } from '../shared/workers.js';

/**
 * The Batch/ECS entry point (`node dist/functions/extract/worker.js`): polls the extract queue, and the run queue
 * when CNN_CODES_RUN_QUEUE_URL is set, with one backbone for the process's life. Exits after
 * CNN_CODES_IDLE_EXIT_SECONDS without work (default 120; "never" for a long-running service).
 */
const log = jsonLog({ role: 'extract-worker' });
const settings = settingsFromEnv();
const runtime = buildRuntime(settings, { withBackbone: true, log });
const stages = settings.queueUrls.run ? (['run', 'extract'] as const) : (['extract'] as const);
log({ event: 'worker:started', stages, provider: settings.executionProvider });
const stats = await runWorkers(runtime, {
  stages,
  signal: shutdownOnSignals(log),
  idleExitSeconds: settings.idleExitSeconds,
});
await runtime.close();
log({ event: 'worker:exited', stats });
