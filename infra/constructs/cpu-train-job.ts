import { Validations, type Duration, type Size } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { containerImage, type ImageSource } from './image-assets.js';

export interface CpuTrainJobProps {
  vpc: ec2.IVpc;
  image: ImageSource;
  command: string[];
  environment: Record<string, string>;
  vcpus: number;
  memory: Size;
  timeout: Duration;
  maxvCpus: number;
}

/**
 * The Batch CPU train job: Fargate (nothing to keep warm, billed by the second) with the memory and time a Lambda
 * lacks, for code sets the train-head Lambda forwards (core/use-cases/distributed/train-compute.ts). It drains its
 * queue and exits; the dispatcher starts it when that queue has messages. Public subnets with a public IP only to
 * pull its image: no inbound rule, as for the GPU instances.
 */
export class CpuTrainJob extends Construct {
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: CpuTrainJobProps) {
    super(scope, id);
    const computeEnvironment = new batch.FargateComputeEnvironment(this, 'Compute', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      maxvCpus: props.maxvCpus,
    });
    this.jobQueue = new batch.JobQueue(this, 'JobQueue', { computeEnvironments: [{ computeEnvironment, order: 1 }] });
    this.role = new iam.Role(this, 'JobRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const container = new batch.EcsFargateContainerDefinition(this, 'Container', {
      image: containerImage(props.image),
      command: props.command,
      cpu: props.vcpus,
      memory: props.memory,
      environment: props.environment,
      jobRole: this.role,
      assignPublicIp: true,
    });
    // A failed fit leaves its message on the queue (and, after too many tries, in its DLQ): no Batch retries.
    this.jobDefinition = new batch.EcsJobDefinition(this, 'JobDefinition', {
      container,
      timeout: props.timeout,
      propagateTags: true,
    });
    Validations.of(container).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy]',
        reason: 'The execution role (not the job role) needs this policy to pull the image from ECR and write logs.',
      },
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
