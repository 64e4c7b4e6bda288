import type { LogEntry } from '../../core/use-cases/distributed/deps.js';

/**
 * SIGTERM (Batch, ECS, Ctrl-C) stops polling and lets the message in hand finish and be acknowledged; a second
 * signal exits at once, and the unacknowledged message reappears on the queue after its visibility timeout.
 */
export function shutdownOnSignals(log?: (entry: LogEntry) => void): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      log?.({ event: 'worker:forced-exit', signal });
      process.exit(130);
    }
    log?.({ event: 'worker:stopping', signal });
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return controller.signal;
}
