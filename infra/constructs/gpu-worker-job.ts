import { type Duration, type Size, Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { containerImage, type ImageSource } from './image-assets.js';

export interface GpuWorkerJobProps {
  image: ImageSource;
  /** Overrides the image's CMD; `Ref::name` picks a value from `parameters`. */
  command: string[];
  parameters?: Record<string, string>;
  environment: Record<string, string>;
  vcpus: number;
  memory: Size;
  /** A worker that has not drained its queue by then is stuck; Batch stops it and the messages come back. */
  timeout: Duration;
}

/**
 * A job definition for one GPU that takes its work from an SQS queue. A message whose worker dies returns to the
 * queue (and to its DLQ after too many tries), so Batch itself retries a job only when its instance went away.
 */
export class GpuWorkerJob extends Construct {
  readonly jobDefinition: batch.EcsJobDefinition;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: GpuWorkerJobProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'JobRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const container = new batch.EcsEc2ContainerDefinition(this, 'Container', {
      image: containerImage(props.image),
      command: props.command,
      cpu: props.vcpus,
      memory: props.memory,
      gpu: 1,
      environment: props.environment,
      jobRole: this.role,
    });
    this.jobDefinition = new batch.EcsJobDefinition(this, 'JobDefinition', {
      container,
      ...(props.parameters ? { parameters: props.parameters } : {}),
      timeout: props.timeout,
      retryAttempts: 3,
      retryStrategies: [
        // Matches "Host EC2 … terminated", which covers a Spot reclaim and any other loss of the instance.
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
      propagateTags: true,
    });
    Validations.of(container).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy]',
      reason: 'The execution role (not the job role) needs this policy to pull the image from ECR and write logs.',
    });
    Validations.of(container).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/batch/job:*]',
        reason: 'Batch writes every job to the /aws/batch/job log group, one stream per job created at run time.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken has no resource-level permissions; image pulls are limited to the asset repository.',
      },
    );
  }
}
