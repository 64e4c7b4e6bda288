import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import type * as batch from 'aws-cdk-lib/aws-batch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { ENV } from '../../contracts/cross-process.js';
import type { WorkerPool } from '../../functions/dispatch/dispatch.js';
import { REPO_ROOT } from '../config.js';
import { DISPATCH_ENTRY } from '../layout.js';
import { SIZES } from '../sizes.js';
import { NodeFunction } from './node-function.js';
import type { WorkQueue } from './work-queue.js';

export interface DispatchedPool {
  name: string;
  workQueue: WorkQueue;
  jobDefinition: batch.IJobDefinition;
  jobName: string;
  messagesPerWorker: number;
  maxWorkers: number;
  /** The Batch queue to submit to, when not the dispatcher's default (the CPU train job has its own). */
  jobQueue?: batch.IJobQueue;
}

export interface DispatcherProps {
  jobQueue: batch.IJobQueue;
  pools: DispatchedPool[];
}

/**
 * Starts Batch workers sized to their queues' backlogs, every minute. A schedule rather than a queue trigger: work
 * arrives as shard messages fanned out by the run planner and as S3 notifications, neither of which passes
 * through a queue the dispatcher could own, and a minute is small beside an instance's start-up. One instance at a
 * time, so a slow invocation cannot overlap the next and top up the same backlog twice.
 */
export class Dispatcher extends Construct {
  readonly fn: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    const pools: WorkerPool[] = props.pools.map((p) => ({
      name: p.name,
      queueUrl: p.workQueue.queue.queueUrl,
      jobQueue: (p.jobQueue ?? props.jobQueue).jobQueueArn,
      jobDefinition: p.jobDefinition.jobDefinitionArn,
      jobName: p.jobName,
      messagesPerWorker: p.messagesPerWorker,
      maxWorkers: p.maxWorkers,
    }));
    this.fn = new NodeFunction(this, 'Dispatch', {
      entry: path.join(REPO_ROOT, DISPATCH_ENTRY),
      description: 'cnn-codes: submits Batch worker jobs sized to the extract and fine-tune backlogs',
      ...SIZES.dispatch,
      environment: { [ENV.dispatchPools]: Stack.of(this).toJsonString(pools) },
      // Glue with no core code: the Lambda runtime's SDK (which includes Batch) is enough.
      externalModules: ['@aws-sdk/*'],
      reservedConcurrentExecutions: 1,
    }).fn;
    new events.Rule(this, 'Schedule', {
      description: 'cnn-codes: start Batch workers for the extract and fine-tune backlogs',
      schedule: events.Schedule.rate(SIZES.dispatchInterval),
      targets: [new targets.LambdaFunction(this.fn)],
    });

    for (const pool of props.pools) {
      this.fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [pool.workQueue.queue.queueArn] }),
      );
    }
    const jobQueues = [...new Set([props.jobQueue, ...props.pools.map((p) => p.jobQueue ?? props.jobQueue)])];
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['batch:SubmitJob'],
        resources: [
          ...jobQueues.map((q) => q.jobQueueArn),
          ...props.pools.map((p) => p.jobDefinition.jobDefinitionArn),
        ],
      }),
    );
    this.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:ListJobs'], resources: ['*'] }));
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'batch:ListJobs has no resource-level permissions; the statement allows that one read-only action only.',
    });
  }
}
