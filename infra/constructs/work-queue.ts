import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface WorkQueueProps {
  /** How long a received message stays hidden: ≥ 6 × a Lambda consumer's timeout, ≥ a worker's heartbeat. */
  visibilityTimeout: Duration;
  /** Deliveries before a message is parked in the dead-letter queue. */
  maxReceiveCount: number;
}

/** A stage's queue and its dead-letter queue, both encrypted and TLS-only. */
export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true };
    // The longest retention SQS allows, so a failure found after a long weekend can still be redriven.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetter', { ...common, retentionPeriod: Duration.days(14) });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...common,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }

  /**
   * Receive, heartbeat and delete; plus sending to the DLQ, where the runtime parks a message that can never
   * succeed (with its reason) instead of letting it burn through the remaining receives.
   */
  grantConsume(grantee: iam.IGrantable): void {
    this.queue.grantConsumeMessages(grantee);
    this.deadLetterQueue.grantSendMessages(grantee);
  }
}
