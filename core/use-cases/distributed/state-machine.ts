/**
 * The run path as one AWS Step Functions state machine, in Amazon States Language: the one definition the CDK stack
 * deploys and `cnn-codes up` creates in the emulator. Pure: it names queues, functions and jobs it is given.
 *
 *   Plan → Extract (Distributed Map over the plan's shard manifest in S3) → Train → Choice (head too large for the
 *   Lambda?) → TrainBatch → Evaluate
 *
 * Extract's children are always SQS callback tasks (`sqs:sendMessage.waitForTaskToken`) answered by the warm
 * CPU/GPU workers, which beat `SendTaskHeartbeat` while they work: a killed worker's message comes back to another
 * worker through the queue's visibility timeout, and should it be lost, the heartbeat lapses and the child is retried.
 * Plan, Train and Evaluate invoke the small Lambdas on AWS and the Batch CPU job `.sync`; the emulator (moto runs
 * neither Lambdas nor Batch jobs without Docker) hands those to queues as callback tasks too, answered by
 * `cnn-codes worker`. Both variants are this one function with a different `target`: same states, same paths, same
 * Retry/Catch; only the Resource and Parameters of plan/train/evaluate differ.
 */

/** Error names a worker reports with SendTaskFailure (a Lambda throws them as its error type). */
export const TASK_ERRORS = {
  /** The same input fails the same way on every try (bad message, bad data): retried once, then the run fails. */
  permanent: 'CnnCodes.Permanent',
  /** A store hiccup, a busy resource: retried with backoff. */
  transient: 'CnnCodes.Transient',
} as const;

/**
 * A lapsed heartbeat: AWS names it States.HeartbeatTimeout, moto's interpreter (LocalStack's) States.Timeout. Both
 * are retried, so a killed worker's shard comes back on either engine.
 */
const TIMEOUTS = ['States.HeartbeatTimeout', 'States.Timeout'];

/** Where callback tasks go: the extract queue, and in the emulator the queues standing in for the other steps. */
export type StateMachineTarget =
  | { kind: 'emulator'; queues: Record<'extract' | 'run' | 'train' | 'trainBatch' | 'evaluate', string> }
  | {
      kind: 'aws';
      queues: { extract: string };
      /** ARNs of the train-head (which also plans) and evaluate functions. */
      functions: { plan: string; train: string; evaluate: string };
      /** The Batch CPU train job, run `.sync` with the train message in its environment. */
      trainJob: { queue: string; definition: string; messageVariable: string };
    };

export interface StateMachineOptions {
  target: StateMachineTarget;
  /**
   * A task's heartbeat counts from its message being sent, not from a worker taking it: it must cover the time a
   * shard waits in the queue as well as the gaps between a worker's beats, or queued shards are timed out and sent
   * twice. A killed worker's shard comes back sooner, through the queue's visibility timeout, with the same token.
   */
  heartbeatSeconds: number;
  /**
   * Shards handed to the queue at once (Distributed Map MaxConcurrency): the fleet's slots times the shards each may
   * have waiting (`extractConcurrency`), so no shard waits longer than a few shards' work.
   */
  maxConcurrency: number;
  /** Tries of a shard whose worker died or hit a transient error. */
  extractAttempts: number;
}

/**
 * 600 s covers what a shard can wait for when maxConcurrency follows `extractConcurrency`: the shard ahead of it on a
 * CPU worker (≤ 60 s by shard-sizing) or a Lambda (≤ 450 s), and a GPU worker's cold start on Batch.
 */
export const DEFAULT_STATE_MACHINE = { heartbeatSeconds: 600, extractAttempts: 4 } as const;

/**
 * MaxConcurrency for a fleet of `slots` shards worked at once: every slot busy, each with `waiting` shards queued
 * behind it (at least one, so a worker never idles between shards; as many as the dispatcher counts per worker, so
 * the backlog it scales on asks for the whole fleet).
 */
export function extractConcurrency(slots: number, waiting = 1): number {
  return slots * (1 + Math.max(1, waiting));
}

type State = Record<string, unknown>;

/** Execution names: the run id (Step Functions refuses a second execution of a name, so a resubmission is a no-op). */
export function executionName(runId: string): string {
  return runId.slice(0, 80);
}

/** Evaluate's task also gets the execution's ARN, from the context object: the report names it. */
const EXECUTION = { 'execution.$': '$$.Execution.Id' };

/** A callback task's queue message: the task token and the work message (JSONPath over the state's input). */
function callback(queue: string, messagePath: string, heartbeatSeconds?: number, extra: State = {}): State {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    Parameters: { QueueUrl: queue, MessageBody: { 'task.$': '$$.Task.Token', 'message.$': messagePath, ...extra } },
    ...(heartbeatSeconds ? { HeartbeatSeconds: heartbeatSeconds } : {}),
  };
}

function retries(transientAttempts: number): State {
  return {
    Retry: [
      {
        ErrorEquals: [...TIMEOUTS, TASK_ERRORS.transient, 'Lambda.ServiceException', 'Lambda.TooManyRequestsException'],
        IntervalSeconds: 2,
        MaxAttempts: transientAttempts,
        BackoffRate: 2,
      },
      // A poison input is tried once more (a worker may have met a half-written object), then the run fails.
      { ErrorEquals: [TASK_ERRORS.permanent], IntervalSeconds: 1, MaxAttempts: 1 },
    ],
  };
}

/** plan, train and evaluate: a Lambda on AWS, a callback task on the emulator. */
function step(options: StateMachineOptions, kind: 'run' | 'train' | 'evaluate', messagePath: string): State {
  const { target } = options;
  const extra = kind === 'evaluate' ? EXECUTION : {};
  if (target.kind === 'emulator')
    return { ...callback(target.queues[kind], messagePath, undefined, extra), ...retries(3) };
  const fn = target.functions[kind === 'run' ? 'plan' : kind];
  // A function's ARN as the Resource returns its result itself (no Payload wrapper), as a callback's output is.
  return { Type: 'Task', Resource: fn, Parameters: { 'message.$': messagePath, ...extra }, ...retries(3) };
}

function trainBatch(options: StateMachineOptions): State {
  const { target } = options;
  if (target.kind === 'emulator') return { ...callback(target.queues.trainBatch, '$.plan.train'), ...retries(2) };
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::batch:submitJob.sync',
    Parameters: {
      'JobName.$': '$.runId',
      JobQueue: target.trainJob.queue,
      JobDefinition: target.trainJob.definition,
      ContainerOverrides: {
        Environment: [{ Name: target.trainJob.messageVariable, 'Value.$': 'States.JsonToString($.plan.train)' }],
      },
    },
    // The job's description is not the run's business: the head is in the workspace (head.json).
    ResultSelector: { compute: 'batch', 'job.$': '$.JobId' },
    ...retries(2),
  };
}

/**
 * The state machine. Its input is a run message (core/messages/schema.ts); the plan step's output (PlanOutput) feeds
 * the rest: where the shard manifest is, the train and evaluate messages.
 */
export function runStateMachine(options: StateMachineOptions): { StartAt: string; States: Record<string, State> } {
  return {
    StartAt: 'Plan',
    States: {
      Plan: { ...step(options, 'run', '$'), ResultPath: '$.plan', Next: 'Extract' },
      Extract: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { 'Bucket.$': '$.plan.manifest.bucket', 'Key.$': '$.plan.manifest.key' },
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'ExtractShard',
          States: {
            ExtractShard: {
              ...callback(options.target.queues.extract, '$', options.heartbeatSeconds),
              ...retries(options.extractAttempts - 1),
              End: true,
            },
          },
        },
        MaxConcurrency: options.maxConcurrency,
        // moto's parser refuses ToleratedFailurePercentage 0: the count alone, set by the run request.
        ToleratedFailureCountPath: '$.plan.toleratedFailures',
        ResultPath: null,
        Next: 'Train',
      },
      Train: { ...step(options, 'train', '$.plan.train'), ResultPath: '$.train', Next: 'TrainWhere' },
      TrainWhere: {
        Type: 'Choice',
        Choices: [{ Variable: '$.train.compute', StringEquals: 'batch', Next: 'TrainBatch' }],
        Default: 'Evaluate',
      },
      TrainBatch: { ...trainBatch(options), ResultPath: '$.train', Next: 'Evaluate' },
      Evaluate: { ...step(options, 'evaluate', '$.plan.evaluate'), End: true },
    },
  };
}
