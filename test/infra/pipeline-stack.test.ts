import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { CONTEXT_DEFAULTS } from '../../infra/config.js';
import { VISIBILITY_PER_TIMEOUT } from '../../infra/constructs/queue-consumer.js';
import { BUCKET_PREFIX as PREFIX, ENV, FINE_TUNE } from '../../contracts/cross-process.js';
import { JOB_NAME, RUNTIME_SOURCES } from '../../infra/layout.js';
import { SIZES } from '../../infra/sizes.js';
import {
  CDK_JSON_CONTEXT,
  referencedId,
  resourcesOfType,
  synthPipeline,
  type SynthesizedPipeline,
} from './pipeline-fixture.js';

const gpu = () => synthPipeline();
const cpu = () => synthPipeline({ extractCompute: 'cpu' });

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function identityStatements(p: SynthesizedPipeline): Array<{ policy: string; statement: Statement }> {
  return resourcesOfType(p, 'AWS::IAM::Policy').flatMap(([policy, r]) =>
    (r.Properties!.PolicyDocument as { Statement: Statement[] }).Statement.map((statement) => ({ policy, statement })),
  );
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const dataBucketId = (p: SynthesizedPipeline) =>
  resourcesOfType(p, 'AWS::S3::Bucket').find(([, r]) => r.Properties!.VersioningConfiguration)![0];
const queueIdOf = (
  p: SynthesizedPipeline,
  name: 'Run' | 'Extract' | 'Train' | 'TrainBatch' | 'Evaluate' | 'FineTune',
) => resourcesOfType(p, 'AWS::SQS::Queue').find(([id]) => id.startsWith(`${name}Queue`))![0];

describe('bucket', () => {
  test('the data bucket is encrypted, private, versioned, logged and expires tmp/', () => {
    gpu().template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: PREFIX.tmp,
            ExpirationInDays: CONTEXT_DEFAULTS.tmpExpirationDays,
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  test('every bucket denies requests without TLS', () => {
    const p = gpu();
    const buckets = resourcesOfType(p, 'AWS::S3::Bucket').map(([id]) => id);
    assert.equal(buckets.length, 2);
    for (const bucket of buckets) {
      const policy = resourcesOfType(p, 'AWS::S3::BucketPolicy').find(
        ([, r]) => referencedId(r.Properties!.Bucket) === bucket,
      );
      assert.ok(policy, `${bucket} has no bucket policy`);
      const statements = (policy[1].Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
      assert.ok(
        statements.some(
          (s) =>
            s.Effect === 'Deny' &&
            JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        ),
        `${bucket} does not deny plain HTTP`,
      );
    }
  });

  test('uploads under datasets/ notify the extract queue (incremental mode)', () => {
    const p = gpu();
    p.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: dataBucketId(p) },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: PREFIX.datasets }] } },
            QueueArn: { 'Fn::GetAtt': [queueIdOf(p, 'Extract'), 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('queues', () => {
  test('every work queue redrives to its own encrypted dead-letter queue with a maxReceiveCount', () => {
    const p = gpu();
    const queues = resourcesOfType(p, 'AWS::SQS::Queue');
    const work = queues.filter(([, r]) => r.Properties!.RedrivePolicy);
    assert.equal(work.length, 6);
    const targets = new Set<string>();
    for (const [id, r] of work) {
      const redrive = r.Properties!.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
      assert.ok(Number.isInteger(redrive.maxReceiveCount) && redrive.maxReceiveCount >= 1, `${id} maxReceiveCount`);
      const target = referencedId(redrive.deadLetterTargetArn)!;
      assert.equal(p.resources[target]?.Type, 'AWS::SQS::Queue', `${id} redrives to a queue of this stack`);
      targets.add(target);
    }
    assert.equal(targets.size, work.length, 'no two queues share a DLQ');
    for (const [id, r] of queues) assert.equal(r.Properties!.SqsManagedSseEnabled, true, `${id} is encrypted`);
    for (const [id] of queues) {
      const policy = resourcesOfType(p, 'AWS::SQS::QueuePolicy').find(([, r]) =>
        (r.Properties!.Queues as unknown[]).some((q) => referencedId(q) === id),
      );
      assert.ok(
        JSON.stringify(policy?.[1].Properties!.PolicyDocument).includes('"aws:SecureTransport":"false"'),
        `${id} denies plain HTTP`,
      );
    }
  });

  for (const [mode, build] of [
    ['gpu', gpu],
    ['cpu', cpu],
  ] as const) {
    test(`${mode}: each Lambda-fed queue hides a message for at least ${VISIBILITY_PER_TIMEOUT} × its consumer's timeout`, () => {
      const p = build();
      const mappings = resourcesOfType(p, 'AWS::Lambda::EventSourceMapping');
      assert.ok(mappings.length >= 3);
      for (const [id, m] of mappings) {
        const fn = p.resources[referencedId(m.Properties!.FunctionName)!]!;
        const queue = p.resources[referencedId(m.Properties!.EventSourceArn)!]!;
        const timeout = fn.Properties!.Timeout as number;
        const visibility = queue.Properties!.VisibilityTimeout as number;
        assert.ok(
          visibility >= VISIBILITY_PER_TIMEOUT * timeout,
          `${id}: visibility ${visibility} s < ${VISIBILITY_PER_TIMEOUT} × ${timeout} s`,
        );
      }
    });
  }

  test('queues drained by Batch workers outlast the workers heartbeat', () => {
    const p = gpu();
    const visibility = (name: 'Extract' | 'FineTune') =>
      p.resources[queueIdOf(p, name)]!.Properties!.VisibilityTimeout as number;
    // The fine-tune job extends its message every 60 s by 300 s; the extract worker beats every third of the timeout.
    assert.ok(visibility('FineTune') >= FINE_TUNE.heartbeat.extendSeconds);
    assert.ok(visibility('Extract') >= 60);
    const consumed = new Set(
      resourcesOfType(p, 'AWS::Lambda::EventSourceMapping').map(([, m]) => referencedId(m.Properties!.EventSourceArn)),
    );
    assert.ok(
      !consumed.has(queueIdOf(p, 'Extract')) && !consumed.has(queueIdOf(p, 'FineTune')),
      'no Lambda competes with the workers',
    );
  });

  test('every SQS event source reports partial batch failures', () => {
    for (const p of [gpu(), cpu()]) {
      for (const [id, m] of resourcesOfType(p, 'AWS::Lambda::EventSourceMapping')) {
        assert.deepEqual(m.Properties!.FunctionResponseTypes, ['ReportBatchItemFailures'], id);
      }
    }
  });

  test('one alarm per dead-letter queue, publishing to the alarm topic', () => {
    const p = gpu();
    const deadLetterQueues = resourcesOfType(p, 'AWS::SQS::Queue')
      .filter(([, r]) => !r.Properties!.RedrivePolicy)
      .map(([id]) => id);
    const alarms = resourcesOfType(p, 'AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties!.Namespace === 'AWS/SQS',
    );
    const failedRuns = resourcesOfType(p, 'AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties!.Namespace === 'AWS/States',
    );
    assert.deepEqual(
      failedRuns.map(([, a]) => [a.Properties!.MetricName, a.Properties!.Threshold]),
      [['ExecutionsFailed', 1]],
      'and one on failed run executions',
    );
    const watched = alarms.map(([, a]) => {
      assert.equal(a.Properties!.MetricName, 'ApproximateNumberOfMessagesVisible');
      assert.equal(a.Properties!.Threshold, 1);
      assert.equal(a.Properties!.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(resourcesOfType(p, 'AWS::SNS::Topic').length, 1);
      assert.equal(
        referencedId((a.Properties!.AlarmActions as unknown[])[0]),
        resourcesOfType(p, 'AWS::SNS::Topic')[0]![0],
      );
      return referencedId((a.Properties!.Dimensions as Array<{ Value: unknown }>)[0]!.Value);
    });
    assert.deepEqual(watched.sort(), deadLetterQueues.sort());
  });
});

describe('GPU extract and fine-tune on Batch', () => {
  test('a managed EC2 compute environment of the configured GPU instances that scales to zero', () => {
    gpu().template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({
        Type: 'EC2',
        InstanceTypes: CONTEXT_DEFAULTS.gpuInstanceTypes,
        MinvCpus: 0,
        MaxvCpus: CONTEXT_DEFAULTS.maxGpuVcpus,
        Ec2Configuration: [{ ImageType: 'ECS_AL2023_NVIDIA' }],
      }),
    });
    gpu().template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: { HttpTokens: 'required' } }),
    });
  });

  test('the extract worker and the fine-tune job each ask for one GPU and poll their queue', () => {
    const p = gpu();
    const definitions = resourcesOfType(p, 'AWS::Batch::JobDefinition')
      .map(([id, r]) => [id, r.Properties!] as const)
      .filter(([id]) => !id.startsWith('TrainBatchJob'));
    assert.equal(definitions.length, 2);
    for (const [id, d] of definitions) {
      const container = d.ContainerProperties as { ResourceRequirements: Array<{ Type: string; Value: string }> };
      assert.deepEqual(
        container.ResourceRequirements.find((r) => r.Type === 'GPU'),
        { Type: 'GPU', Value: '1' },
        id,
      );
    }
    const extract = definitions.find(([id]) => id.startsWith('ExtractWorkers'))![1].ContainerProperties as {
      Command: string[];
      Environment: Array<{ Name: string; Value: unknown }>;
    };
    assert.deepEqual(extract.Command, RUNTIME_SOURCES.extractWorkerCommand);
    const env = Object.fromEntries(extract.Environment.map((e) => [e.Name, e.Value]));
    assert.equal(env.CNN_CODES_EXECUTION_PROVIDER, 'cuda');
    assert.deepEqual(env.CNN_CODES_EXTRACT_QUEUE_URL, { Ref: queueIdOf(p, 'Extract') });
    assert.equal(env.CNN_CODES_RUN_QUEUE_URL, undefined, 'runs are planned by train-head, not by GPU workers');

    const fineTune = definitions.find(([id]) => id.startsWith('FineTuneJob'))![1];
    assert.deepEqual((fineTune.ContainerProperties as { Command: string[] }).Command, [
      ...RUNTIME_SOURCES.fineTuneCommand,
      'Ref::queueUrl',
    ]);
    assert.deepEqual(fineTune.Parameters, { queueUrl: { Ref: queueIdOf(p, 'FineTune') } });
  });

  test('the dispatcher runs every minute and may submit only to these job queues and job definitions (the train job: the state machine)', () => {
    const p = gpu();
    p.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    const submit = identityStatements(p).filter(({ statement }) => actionsOf(statement).includes('batch:SubmitJob'));
    assert.equal(submit.length, 2, "the dispatcher's (GPU workers, fine-tune) and the state machine's (CPU train job)");
    const allowed = submit
      .flatMap((s) => s.statement.Resource as unknown[])
      .map(referencedId)
      .sort();
    const expected = [...resourcesOfType(p, 'AWS::Batch::JobQueue'), ...resourcesOfType(p, 'AWS::Batch::JobDefinition')]
      .map(([id]) => id)
      .sort();
    assert.deepEqual(allowed, expected);
  });
});

describe('run state machine', () => {
  /** The ASL as deployed: its definition string, tokens (queue URL, function ARNs) joined as placeholders. */
  const definitionOf = (p: SynthesizedPipeline) => {
    const [, machine] = resourcesOfType(p, 'AWS::StepFunctions::StateMachine')[0]!;
    const joined = machine.Properties!.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
    const text =
      typeof joined === 'string'
        ? joined
        : joined['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    return JSON.parse(text) as { States: { Extract: { MaxConcurrency: number; ItemProcessor: any } } };
  };

  test("shards handed out at once follow the extract fleet, and a shard's heartbeat covers its wait in the queue", () => {
    const d = CONTEXT_DEFAULTS;
    const gpuMap = definitionOf(gpu()).States.Extract;
    assert.equal(gpuMap.MaxConcurrency, d.maxExtractWorkers * (1 + d.extractMessagesPerWorker));
    assert.equal(definitionOf(cpu()).States.Extract.MaxConcurrency, d.maxCpuExtractConcurrency * 2);
    assert.equal(gpuMap.ItemProcessor.States.ExtractShard.HeartbeatSeconds, 600);
  });
});

describe('Batch CPU train job (heads too large for the train-head Lambda)', () => {
  const jobOf = (p: SynthesizedPipeline) =>
    resourcesOfType(p, 'AWS::Batch::JobDefinition').find(([id]) => id.startsWith('TrainBatchJob'))!;

  test('a Fargate compute environment with its own job queue, scaling from zero', () => {
    const p = gpu();
    p.template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({ Type: 'FARGATE', MaxvCpus: SIZES.trainBatch.maxvCpus }),
    });
    const queues = resourcesOfType(p, 'AWS::Batch::JobQueue');
    assert.equal(queues.length, 2, 'the GPU queue and the CPU train queue');
  });

  test('the job runs the train worker on its forwarding queue, as batch, with the memory a Lambda lacks', () => {
    const p = gpu();
    const [, job] = jobOf(p);
    const container = job.Properties!.ContainerProperties as {
      Command: string[];
      Environment: Array<{ Name: string; Value: unknown }>;
      ResourceRequirements: Array<{ Type: string; Value: string }>;
    };
    assert.deepEqual(job.Properties!.PlatformCapabilities, ['FARGATE']);
    assert.deepEqual(container.Command, RUNTIME_SOURCES.trainBatchCommand);
    const env = Object.fromEntries(container.Environment.map((e) => [e.Name, e.Value]));
    assert.equal(env[ENV.trainCompute], 'batch');
    assert.deepEqual(env[ENV.queueUrl.train], { Ref: queueIdOf(p, 'TrainBatch') });
    const resources = Object.fromEntries(container.ResourceRequirements.map((r) => [r.Type, r.Value]));
    assert.equal(resources.VCPU, String(SIZES.trainBatch.vcpus));
    assert.equal(Number(resources.MEMORY), SIZES.trainBatch.memory.toMebibytes());
    assert.ok(SIZES.trainBatch.memory.toMebibytes() > SIZES.trainHead.memorySize, 'more memory than the Lambda');
    assert.equal(
      job.Properties!.Timeout && (job.Properties!.Timeout as { AttemptDurationSeconds: number }).AttemptDurationSeconds,
      SIZES.trainBatch.timeout.toSeconds(),
    );
  });

  test('the train-head Lambda knows its envelope and that a Batch job exists, and sends nothing there; the state machine submits the job, not the dispatcher', () => {
    const p = gpu();
    const [lambdaId, lambda] = resourcesOfType(p, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('HeadsTrainHead'),
    )!;
    const env = (lambda.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.equal(env[ENV.trainCompute], 'lambda');
    assert.equal(env[ENV.trainTimeoutSeconds], String(lambda.Properties!.Timeout));
    assert.deepEqual(env[ENV.trainBatchQueueUrl], { Ref: queueIdOf(p, 'TrainBatch') });
    const sends = identityStatements(p).filter(
      ({ policy, statement }) =>
        policy.startsWith('HeadsTrainHead') &&
        actionsOf(statement).includes('sqs:SendMessage') &&
        referencedId(statement.Resource) === queueIdOf(p, 'TrainBatch'),
    );
    assert.equal(sends.length, 0, `${lambdaId} hands large sets over by its answer, not by a message`);
    const submits = identityStatements(p).filter(
      ({ policy, statement }) =>
        policy.startsWith('RunStateMachineRole') && actionsOf(statement).includes('batch:SubmitJob'),
    );
    assert.deepEqual(
      (submits[0]?.statement.Resource as unknown[]).map(referencedId).sort(),
      [
        jobOf(p)[0],
        resourcesOfType(p, 'AWS::Batch::JobQueue').find(([id]) => id.startsWith('TrainBatchJob'))![0],
      ].sort(),
      "the state machine's role may submit the train job (.sync), to its own job queue",
    );
    const consumed = new Set(
      resourcesOfType(p, 'AWS::Lambda::EventSourceMapping').map(([, m]) => referencedId(m.Properties!.EventSourceArn)),
    );
    assert.ok(
      !consumed.has(queueIdOf(p, 'TrainBatch')),
      'no Lambda competes with the Batch job for forwarded messages',
    );
    const dispatch = resourcesOfType(p, 'AWS::Lambda::Function').find(([id]) => id.startsWith('DispatcherDispatch'))!;
    const pools = JSON.stringify(
      (dispatch[1].Properties!.Environment as { Variables: Record<string, unknown> }).Variables,
    );
    assert.ok(
      !pools.includes(JOB_NAME.trainBatch) && !pools.includes(jobOf(p)[0]),
      'the dispatcher has no train-batch pool: the state machine runs the job',
    );
  });
});

describe('least privilege', () => {
  test('no S3 or SQS action is a wildcard, and object access is always scoped to one prefix', () => {
    for (const p of [gpu(), cpu()]) {
      const bucket = dataBucketId(p);
      const prefixes = Object.values(PREFIX) as string[];
      for (const { policy, statement } of identityStatements(p)) {
        for (const action of actionsOf(statement)) {
          assert.ok(action !== '*' && !/^(s3|sqs):.*\*/.test(action), `${policy}: ${action}`);
        }
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const resource of resources) {
          const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
          if (!join || referencedId(join[1][0]) !== bucket) continue;
          const suffix = join[1].slice(1).join('');
          assert.ok(
            prefixes.some((prefix) => suffix === `/${prefix}*`),
            `${policy}: object grant ${suffix} is not one prefix`,
          );
        }
      }
    }
  });

  test('each role reaches only the prefixes its stage uses', () => {
    const p = gpu();
    const bucket = dataBucketId(p);
    const prefixesOf = (policyPrefix: string) => {
      const found = new Set<string>();
      for (const { policy, statement } of identityStatements(p)) {
        if (!policy.startsWith(policyPrefix)) continue;
        for (const resource of [statement.Resource].flat()) {
          const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
          if (join && referencedId(join[1][0]) === bucket)
            found.add(`${join[1].slice(1).join('').slice(1, -1)}:${actionsOf(statement).join(',')}`);
        }
      }
      return [...found].sort();
    };
    const rw = 's3:GetObject,s3:PutObject,s3:DeleteObject,s3:AbortMultipartUpload';
    assert.deepEqual(prefixesOf('HeadsEvaluate'), ['cache/:s3:GetObject', 'datasets/:s3:GetObject', `runs/:${rw}`]);
    // Train writes only the cache's per-dataset source identities (cache/sources/), never codes.
    assert.deepEqual(prefixesOf('HeadsTrainHead'), [
      'cache/:s3:GetObject',
      `cache/sources/:${rw}`,
      'datasets/:s3:GetObject',
      `runs/:${rw}`,
    ]);
    assert.deepEqual(prefixesOf('ExtractWorkersJobRole'), [`cache/:${rw}`, 'datasets/:s3:GetObject', `runs/:${rw}`]);
    assert.deepEqual(prefixesOf('FineTuneJobJobRole'), ['datasets/:s3:GetObject', `models/:${rw}`]);
    assert.deepEqual(prefixesOf('TrainBatchJobJobRole'), ['cache/:s3:GetObject', `runs/:${rw}`]);
  });

  test('no resource carries a hard-coded physical name (two deployments can share an account)', () => {
    const nameProperties = [
      'BucketName',
      'QueueName',
      'FunctionName',
      'TopicName',
      'RoleName',
      'LogGroupName',
      'JobQueueName',
      'ComputeEnvironmentName',
      'JobDefinitionName',
      'LaunchTemplateName',
      'AlarmName',
      'Name',
    ];
    for (const p of [gpu(), cpu()]) {
      for (const [id, r] of Object.entries(p.resources)) {
        // A reference to another resource's generated name is fine; a literal is a physical name.
        for (const property of nameProperties)
          assert.notEqual(typeof r.Properties?.[property], 'string', `${id} sets ${property}`);
      }
    }
  });
});

describe('context', () => {
  test('cdk.json lists every setting with the defaults the code uses', () => {
    for (const [key, value] of Object.entries(CONTEXT_DEFAULTS)) assert.deepEqual(CDK_JSON_CONTEXT[key], value, key);
  });

  test('cpu swaps the GPU workers for a Lambda container consuming the extract queue', () => {
    const p = cpu();
    assert.deepEqual(
      resourcesOfType(p, 'AWS::Batch::JobDefinition')
        .map(([id]) => id.replace(/JobDefinition.*$/, ''))
        .sort(),
      ['FineTuneJob', 'TrainBatchJob'],
      'only the fine-tune and CPU train jobs remain',
    );
    const images = resourcesOfType(p, 'AWS::Lambda::Function').filter(([, r]) => r.Properties!.PackageType === 'Image');
    assert.equal(images.length, 1);
    const [fnId, fn] = images[0]!;
    assert.equal(
      (fn.Properties!.Environment as { Variables: Record<string, string> }).Variables.CNN_CODES_EXECUTION_PROVIDER,
      'cpu',
    );
    p.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId },
      EventSourceArn: { 'Fn::GetAtt': [queueIdOf(p, 'Extract'), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: CONTEXT_DEFAULTS.maxCpuExtractConcurrency },
    });
    const pools = dispatchPools(p);
    assert.deepEqual(
      pools.map((pool) => pool.name),
      ['fine-tune'],
    );
    assert.deepEqual(
      dispatchPools(gpu()).map((pool) => pool.name),
      ['extract', 'fine-tune'],
    );
  });

  test('spot, instance types, model and shard size come from context', () => {
    const p = synthPipeline({
      spot: 'true',
      gpuInstanceTypes: 'g6.2xlarge,g5.2xlarge',
      model: 'resnet18-v1-7',
      shardSize: '64',
    });
    p.template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({
        Type: 'SPOT',
        AllocationStrategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED',
        InstanceTypes: ['g6.2xlarge', 'g5.2xlarge'],
      }),
    });
    p.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CNN_CODES_MODEL: 'resnet18-v1-7', CNN_CODES_SHARD_SIZE: '64' }) },
    });
  });

  test('without a shardSize in context the stack sets no shard size: the planner sizes each run for its compute (one rule)', () => {
    for (const p of [gpu(), cpu()])
      assert.equal(
        JSON.stringify(p.template.toJSON()).includes('CNN_CODES_SHARD_SIZE'),
        false,
        'a function or job sets CNN_CODES_SHARD_SIZE',
      );
  });

  test("the planner is told what runs extract messages (and a Lambda's timeout), for its shard sizing", () => {
    const variables = (p: SynthesizedPipeline) =>
      resourcesOfType(p, 'AWS::Lambda::Function')
        .map(
          ([, r]) =>
            (r.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {},
        )
        .find((v) => 'CNN_CODES_RUN_QUEUE_URL' in v)!;
    assert.equal(variables(gpu()).CNN_CODES_EXTRACT_COMPUTE, 'gpu');
    assert.deepEqual(
      [variables(cpu()).CNN_CODES_EXTRACT_COMPUTE, variables(cpu()).CNN_CODES_EXTRACT_TIME_LIMIT_SECONDS],
      ['lambda', '300'],
    );
  });

  test('storageOnly keeps the bucket, queues, notification and alarms, for an emulator without Batch (cdklocal)', () => {
    const p = synthPipeline({ storageOnly: true });
    const count = (type: string) => resourcesOfType(p, type).length;
    assert.equal(count('AWS::S3::Bucket'), 2);
    assert.equal(count('AWS::SQS::Queue'), 12);
    assert.equal(count('AWS::CloudWatch::Alarm'), 6);
    assert.equal(count('Custom::S3BucketNotifications'), 1);
    const types = new Set(Object.values(p.resources).map((r) => r.Type));
    for (const type of types) assert.doesNotMatch(type, /^AWS::(Batch|EC2|Events)::/);
    // The only function left is CDK's notification handler, which a Docker-backed LocalStack runs.
    assert.deepEqual(
      resourcesOfType(p, 'AWS::Lambda::Function').map(([id]) => id.replace(/[0-9A-F]{8}$/, '')),
      ['BucketNotificationsHandler050a0587b7544547bf325f094a3db834'],
    );
  });

  test('a bad setting fails synth naming the context key', () => {
    assert.throws(() => synthPipeline({ gpuInstanceTypes: ['m5.large'] }), /gpuInstanceTypes.*m5\.large/);
    assert.throws(() => synthPipeline({ extractCompute: 'tpu' }), /extractCompute/);
    assert.throws(() => synthPipeline({ maxCpuExtractConcurrency: 1 }), /maxCpuExtractConcurrency/);
  });
});

function dispatchPools(p: SynthesizedPipeline): Array<{ name: string }> {
  const dispatcher = resourcesOfType(p, 'AWS::Lambda::Function').find(([id]) =>
    id.startsWith('DispatcherDispatch'),
  )![1];
  const raw = (dispatcher.Properties!.Environment as { Variables: Record<string, unknown> }).Variables
    .CNN_CODES_DISPATCH_POOLS as { 'Fn::Join': [string, unknown[]] };
  // Token-bearing JSON arrives as Fn::Join; the literal parts are enough to read the pool names.
  const text = raw['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'x')).join('');
  return JSON.parse(text) as Array<{ name: string }>;
}
