import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BUCKET_PREFIX as PREFIX } from '../../contracts/cross-process.js';
import { DEFAULT_STATE_MACHINE, runStateMachine } from '../../core/use-cases/distributed/state-machine.js';
import type { Storage } from './storage.js';
import type { WorkQueue } from './work-queue.js';

export interface RunStateMachineProps {
  storage: Storage;
  extractQueue: WorkQueue;
  trainHead: lambda.IFunction;
  evaluate: lambda.IFunction;
  trainJob: { jobQueue: batch.IJobQueue; jobDefinition: batch.IJobDefinition; messageVariable: string };
  alarmTopic: sns.ITopic;
  /** Distributed Map MaxConcurrency: `extractConcurrency` of the extract fleet. */
  maxConcurrency: number;
}

/**
 * The run path as one Step Functions state machine, its ASL from core/use-cases/distributed/state-machine.ts (the
 * same definition `cnn-codes up` creates in the emulator), with a role that may do exactly what the states do:
 * send extract tasks to the extract queue, read the shard manifest from runs/, invoke train-head and
 * evaluate, run the Batch CPU train job to completion, and start its own Distributed Map's child executions.
 */
export class RunStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly role: iam.Role;
  /**
   * The state machine's ARN built from its name, not a reference to it: the workers' and its own role's grants name
   * it, and a reference would make the machine depend on policies that depend on it (a cycle CloudFormation refuses).
   */
  readonly arn: string;
  private readonly executionsArn: string;

  constructor(scope: Construct, id: string, props: RunStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const name = `${stack.stackName}-run`;
    const arnOf = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.arn = arnOf('stateMachine', name);
    this.executionsArn = arnOf('execution', `${name}:*`);
    const definition = runStateMachine({
      target: {
        kind: 'aws',
        queues: { extract: props.extractQueue.queue.queueUrl },
        functions: {
          plan: props.trainHead.functionArn,
          train: props.trainHead.functionArn,
          evaluate: props.evaluate.functionArn,
        },
        trainJob: {
          queue: props.trainJob.jobQueue.jobQueueArn,
          definition: props.trainJob.jobDefinition.jobDefinitionArn,
          messageVariable: props.trainJob.messageVariable,
        },
      },
      ...DEFAULT_STATE_MACHINE,
      maxConcurrency: props.maxConcurrency,
    });
    // Named by its logical id in the template: `up --iam` gives the emulator's state machine this role.
    this.role = new iam.Role(stack, 'RunStateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    });
    props.extractQueue.queue.grantSendMessages(this.role);
    // The functions themselves (no version or alias is invoked), not grantInvoke's `<arn>:*`.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [props.trainHead.functionArn, props.evaluate.functionArn],
      }),
    );
    props.storage.grant(this.role, PREFIX.runs, 'read');
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['batch:SubmitJob'],
        resources: [props.trainJob.jobQueue.jobQueueArn, props.trainJob.jobDefinition.jobDefinitionArn],
      }),
    );
    // `.sync` on Batch: Step Functions watches the job through this managed EventBridge rule.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForBatchJobsRule',
          }),
        ],
      }),
    );
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: name,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
      role: this.role,
      tracingEnabled: true,
      // Every state transition (cdk-nag SF1 asks for ALL), without the states' data (image keys, plans).
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // The Distributed Map runs its children as executions of this state machine.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution'],
        resources: [this.arn, this.executionsArn],
      }),
    );
    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray (PutTraceSegments, GetSamplingRules) and CloudWatch Logs delivery (CreateLogDelivery, ...) have no resource-level permissions; CDK adds them for tracing and logging.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}:*]`,
        reason: "The Distributed Map's child executions are named at run time; they are this state machine's only.",
      },
    );
    const failed = new cloudwatch.Alarm(this, 'FailedRuns', {
      alarmDescription: 'cnn-codes: a run execution failed (see its cause in the Step Functions console or `status`)',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    failed.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }

  /** Workers that answer the state machine's callback tasks (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat). */
  grantTaskResponse(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
      resourceArns: [this.arn],
    });
  }
}
