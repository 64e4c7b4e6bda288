/**
 * The engine's side of a callback task (Step Functions' SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat). An
 * answer to a task that has already timed out, been retried or whose execution ended is 'late', never an error.
 */
export interface TaskCallbacks {
  succeed(token: string, output: unknown): Promise<'answered' | 'late'>;
  fail(token: string, error: string, cause: string): Promise<'answered' | 'late'>;
  heartbeat(token: string): Promise<void>;
  /** Seconds between heartbeats: well inside the state's HeartbeatSeconds. */
  beatSeconds: number;
}
