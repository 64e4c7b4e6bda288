import { Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { monthLogGroup } from './log-group.js';

export interface GpuBatchProps {
  instanceTypes: string[];
  spot: boolean;
  maxvCpus: number;
}

/**
 * A GPU job queue on a managed EC2 compute environment that scales to zero between runs. Instances sit in public
 * subnets with no inbound rule: they only call S3, SQS, ECR and CloudWatch, and a NAT gateway would cost more per
 * month than most runs.
 */
export class GpuBatch extends Construct {
  readonly jobQueue: batch.JobQueue;
  /** Shared with the CPU train job: one VPC, public subnets only, no NAT. */
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: GpuBatchProps) {
    super(scope, id);
    const flowLogs = monthLogGroup(this, 'FlowLogs');
    const vpc = (this.vpc = new ec2.Vpc(this, 'Vpc', {
      // Three zones: g5/g6 capacity is not offered in every zone of a region.
      maxAzs: 3,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
      // S3 traffic (datasets, codes) stays off the internet path and costs nothing extra.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    }));

    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      requireImdsv2: true,
      // CUDA images are large; the AMI's default root volume fills up after a couple of image versions.
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });

    const computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'Compute', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceTypes: props.instanceTypes.map((t) => new ec2.InstanceType(t)),
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023_NVIDIA }],
      minvCpus: 0,
      maxvCpus: props.maxvCpus,
      spot: props.spot,
      allocationStrategy: props.spot
        ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
        : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      launchTemplate,
    });

    this.jobQueue = new batch.JobQueue(this, 'JobQueue', { computeEnvironments: [{ computeEnvironment, order: 1 }] });

    Validations.of(computeEnvironment).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
      reason:
        'The ECS instance role needs this policy to register with ECS; the jobs themselves run under their own roles.',
    });
  }
}
