import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { BUCKET_PREFIX as PREFIX, type BucketPrefix as Prefix } from '../../contracts/cross-process.js';

export interface StorageProps {
  tmpExpirationDays: number;
}

export type Access = 'read' | 'readWrite';

/** The condition key that limits a ListObjects request to the prefixes a role may list. */
export const LIST_PREFIX_KEY = 's3:prefix';

/** The one bucket for datasets, code caches, run artefacts and models; access is granted per prefix. */
export class Storage extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    // Log delivery by bucket policy, so the log bucket can keep ACLs disabled; set here rather than in cdk.json so
    // the construct does not depend on the app that hosts it.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log destination; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Data', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        { id: 'expire-tmp', prefix: PREFIX.tmp, expiration: Duration.days(props.tmpExpirationDays) },
        // Manifests and plans are rewritten as datasets grow; their old versions only cost money after a month.
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      // Datasets and trained heads outlive the stack: `cdk destroy` leaves the bucket behind.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * Object actions spelt out (no `s3:GetObject*` wildcards) on `prefix*` only, and listing limited to the same prefix:
   * a ListObjects that names a prefix must name one under `prefix`. The condition is `StringLikeIfExists`, not
   * `StringLike`: S3 answers a read of a missing key with 404 only to a principal allowed to list the bucket for that
   * request, whose context has no `s3:prefix`, and the runtime's exists and put-if-absent checks need that 404 (a
   * plain `StringLike` would turn it into 403). The runtime never lists without a prefix.
   */
  grant(grantee: iam.IGrantable & IConstruct, prefix: Prefix, access: Access): void {
    const actions = {
      read: ['s3:GetObject'],
      readWrite: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
    }[access];
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources: [this.bucket.arnForObjects(`${prefix}*`)] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLikeIfExists: { [LIST_PREFIX_KEY]: [`${prefix}*`] } },
      }),
    );
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
      reason: `Object keys under ${prefix} are created at run time; the grant is limited to that prefix and to named object actions.`,
    });
  }
}
