import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  UpdateStateMachineCommand,
  type SFNClient,
  type SFNClientConfig,
} from '@aws-sdk/client-sfn';
import type { TaskCallbacks } from '../core/ports/task-callbacks.js';
import { executionName } from '../core/use-cases/distributed/state-machine.js';
import { credentialsOf, type AwsSettings } from './endpoints.js';

export function sfnClientConfig(settings: AwsSettings): SFNClientConfig {
  return {
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...credentialsOf(settings),
  };
}

/** Errors Step Functions answers for a token whose task is over (timed out and retried, or its execution ended). */
const LATE = /TaskTimedOut|TaskDoesNotExist|InvalidToken/;

/** The workers' side of callback tasks: SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat. */
export function sfnTaskCallbacks(sfn: SFNClient, beatSeconds = 5): TaskCallbacks {
  const answer = async (send: () => Promise<unknown>): Promise<'answered' | 'late'> => {
    try {
      await send();
      return 'answered';
    } catch (err) {
      if (LATE.test((err as { name?: string }).name ?? '')) return 'late';
      throw err;
    }
  };
  return {
    beatSeconds,
    succeed: (taskToken, output) =>
      answer(() => sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }))),
    // Step Functions keeps a cause of at most 32,768 characters and an error name of at most 256.
    fail: (taskToken, error, cause) =>
      answer(() =>
        sfn.send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) })),
      ),
    heartbeat: async (taskToken) => {
      await answer(() => sfn.send(new SendTaskHeartbeatCommand({ taskToken })));
    },
  };
}

/** Creates the run's state machine, or brings an existing one of that name up to date; returns its ARN. */
export async function ensureStateMachine(
  sfn: SFNClient,
  name: string,
  definition: unknown,
  roleArn: string,
): Promise<string> {
  const existing = await findStateMachine(sfn, name);
  const body = JSON.stringify(definition);
  if (existing) {
    await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: existing, definition: body, roleArn }));
    return existing;
  }
  return (await sfn.send(new CreateStateMachineCommand({ name, definition: body, roleArn, type: 'STANDARD' })))
    .stateMachineArn!;
}

export async function findStateMachine(sfn: SFNClient, name: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }));
    const found = page.stateMachines?.find((m) => m.name === name);
    if (found) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** An execution's ARN: the state machine's ARN with `execution` for `stateMachine` and the run's name appended. */
export function executionArn(stateMachineArn: string, runId: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName(runId)}`;
}

/**
 * Starts the run as an execution named after its run id. A second start of the same run id is answered with the
 * first execution (Step Functions refuses a new execution of a name, and accepts the same input again).
 */
export async function startRun(
  sfn: SFNClient,
  stateMachineArn: string,
  runId: string,
  input: unknown,
): Promise<{ executionArn: string; started: boolean }> {
  try {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: executionName(runId), input: JSON.stringify(input) }),
    );
    return { executionArn: started.executionArn!, started: true };
  } catch (err) {
    if ((err as { name?: string }).name !== 'ExecutionAlreadyExists') throw err;
    return { executionArn: executionArn(stateMachineArn, runId), started: false };
  }
}

export interface RunExecution {
  executionArn: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  error?: string;
  cause?: string;
  output?: unknown;
  /** The extract Map's progress (DescribeMapRun), once it has started. */
  shards?: { total: number; succeeded: number; failed: number; running: number; pending: number; timedOut: number };
  mapRunArn?: string;
}

/** Where an execution stands: DescribeExecution, and DescribeMapRun of its Distributed Map. */
export async function describeRun(sfn: SFNClient, arn: string): Promise<RunExecution> {
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  const mapRuns = await sfn.send(new ListMapRunsCommand({ executionArn: arn }));
  const mapRunArn = mapRuns.mapRuns?.[0]?.mapRunArn;
  const counts = mapRunArn ? (await sfn.send(new DescribeMapRunCommand({ mapRunArn }))).itemCounts : undefined;
  const output = execution.output ? (JSON.parse(execution.output) as unknown) : undefined;
  return {
    executionArn: arn,
    status: execution.status ?? 'UNKNOWN',
    ...(execution.startDate ? { startDate: execution.startDate.toISOString() } : {}),
    ...(execution.stopDate ? { stopDate: execution.stopDate.toISOString() } : {}),
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(mapRunArn ? { mapRunArn } : {}),
    ...(counts
      ? {
          shards: {
            total: counts.total ?? 0,
            succeeded: counts.succeeded ?? 0,
            failed: counts.failed ?? 0,
            running: counts.running ?? 0,
            pending: counts.pending ?? 0,
            timedOut: counts.timedOut ?? 0,
          },
        }
      : {}),
  };
}

/**
 * moto runs state machines only once told to (POST /moto-api/config). Its interpreter is LocalStack's; the gaps met
 * are in docs/serverless.md ("Step Functions on moto").
 */
export async function enableEmulatorExecution(endpoint: string): Promise<boolean> {
  const response = await fetch(`${endpoint.replace(/\/+$/, '')}/moto-api/config`, {
    method: 'POST',
    body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
  }).catch(() => undefined);
  return response?.ok ?? false;
}
