import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { queueName, STAGES, type Stage } from './names.js';

export interface ProvisionOptions {
  bucket: string;
  queuePrefix: string;
  region: string;
  /** How long a received message stays hidden without a heartbeat: the delay before a dead worker's work is retried. */
  visibilityTimeoutSeconds: number;
  /** Receives before SQS moves a failing message to its DLQ. */
  maxReceiveCount: number;
  /** Key prefix whose ObjectCreated events feed the extract queue (incremental mode); null: no notification. */
  notifyPrefix: string | null;
}

export interface Provisioned {
  bucket: string;
  queues: Record<Stage, { url: string; arn: string; deadLetterUrl: string }>;
  notifyPrefix: string | null;
}

/**
 * What the CDK stack creates in AWS, for an emulator (LocalStack, moto) without CloudFormation: the bucket, one queue
 * and one DLQ per stage, and the bucket notification. Safe to run again: existing resources are updated in place.
 */
export async function provision(s3: S3Client, sqs: SQSClient, options: ProvisionOptions): Promise<Provisioned> {
  await createBucket(s3, options.bucket, options.region);
  const queues = {} as Provisioned['queues'];
  for (const stage of STAGES) {
    const dlq = await ensureQueue(sqs, queueName(options.queuePrefix, stage, true), {
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    const redrive = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount });
    const queue = await ensureQueue(sqs, queueName(options.queuePrefix, stage), {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      ReceiveMessageWaitTimeSeconds: '20',
      RedrivePolicy: redrive,
    });
    queues[stage] = { url: queue.url, arn: queue.arn, deadLetterUrl: dlq.url };
  }
  if (options.notifyPrefix !== null) {
    // Real S3 must be allowed to send to the queue; emulators ignore the policy.
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queues.extract.url,
        Attributes: { Policy: s3SendPolicy(queues.extract.arn, options.bucket) },
      }),
    );
  }
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: options.bucket,
      NotificationConfiguration:
        options.notifyPrefix === null
          ? {}
          : {
              QueueConfigurations: [
                {
                  Id: 'cnn-codes-incremental',
                  QueueArn: queues.extract.arn,
                  Events: ['s3:ObjectCreated:*'],
                  Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: options.notifyPrefix }] } },
                },
              ],
            },
    }),
  );
  return { bucket: options.bucket, queues, notifyPrefix: options.notifyPrefix };
}

async function createBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
      }),
    );
  } catch (err) {
    if ((err as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw err;
  }
}

/** Creates a queue, or brings an existing one's attributes up to date. */
export async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  let url: string;
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  } catch (err) {
    // CreateQueue refuses an existing queue whose attributes differ: find it and bring it up to date.
    if (!/QueueNameExists|QueueAlreadyExists/.test((err as { name?: string }).name ?? '')) throw err;
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  }
  const found = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: found.Attributes!.QueueArn! };
}

function s3SendPolicy(queueArn: string, bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'S3ObjectCreated',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnLike: { 'aws:SourceArn': `arn:aws:s3:::${bucket}` } },
      },
    ],
  });
}

/** Finds the queues `up` made, by name. */
export async function findQueues(
  sqs: SQSClient,
  queuePrefix: string,
  stages: readonly Stage[] = STAGES,
): Promise<Partial<Record<Stage, string>>> {
  const found: Partial<Record<Stage, string>> = {};
  for (const stage of stages) {
    try {
      found[stage] = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName(queuePrefix, stage) }))).QueueUrl!;
    } catch (err) {
      if (!/NonExistentQueue|QueueDoesNotExist/.test((err as { name?: string }).name ?? '')) throw err;
    }
  }
  return found;
}
