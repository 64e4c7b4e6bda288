import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct, IConstruct } from 'constructs';
import type { PipelineConfig } from './config.js';
import { DeadLetterAlarms } from './constructs/alarms.js';
import { CpuTrainJob } from './constructs/cpu-train-job.js';
import { Dispatcher, type DispatchedPool } from './constructs/dispatcher.js';
import { ExtractLambda } from './constructs/extract-lambda.js';
import { GpuBatch } from './constructs/gpu-batch.js';
import { GpuWorkerJob } from './constructs/gpu-worker-job.js';
import { HeadsFunctions } from './constructs/heads-functions.js';
import { extractImageSource, fineTuneImageSource } from './constructs/image-assets.js';
import { acknowledgeBasicExecutionRole } from './constructs/node-function.js';
import { visibilityFor } from './constructs/queue-consumer.js';
import { RunStateMachine } from './constructs/run-state-machine.js';
import { Storage } from './constructs/storage.js';
import { WorkQueue } from './constructs/work-queue.js';
import { BUCKET_PREFIX as PREFIX, ENV, EXTRACT_TARGET } from '../contracts/cross-process.js';
import { JOB_NAME, RUNTIME_SOURCES } from './layout.js';
import { MAX_RECEIVE_COUNT, SIZES } from './sizes.js';
import { extractConcurrency } from '../core/use-cases/distributed/state-machine.js';

export interface PipelineStackProps extends StackProps {
  config: PipelineConfig;
}

type StageQueues = Record<'run' | 'extract' | 'train' | 'trainBatch' | 'evaluate' | 'fineTune', WorkQueue>;

/**
 * The deployable pipeline: run queue → train-head (plans: one extract message per shard) → extract queue (also fed
 * by S3 uploads) → GPU Batch workers or CPU Lambda → train queue → train-head → evaluate queue → evaluate. Fine-tune
 * requests queue for a GPU Batch job. A scheduled dispatcher starts Batch workers sized to the backlogs. With
 * `storageOnly`, just the bucket, queues and alarms, for an emulator.
 */
export class PipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const gpuExtract = config.extractCompute === 'gpu';

    const storage = new Storage(this, 'Storage', { tmpExpirationDays: config.tmpExpirationDays });
    const trainHeadVisibility = visibilityFor(SIZES.trainHead.timeout);
    const queues: StageQueues = {
      run: new WorkQueue(this, 'Run', {
        visibilityTimeout: trainHeadVisibility,
        maxReceiveCount: MAX_RECEIVE_COUNT.run,
      }),
      extract: new WorkQueue(this, 'Extract', {
        visibilityTimeout: gpuExtract ? SIZES.extractWorker.visibility : visibilityFor(SIZES.extractLambda.timeout),
        maxReceiveCount: MAX_RECEIVE_COUNT.extract,
      }),
      train: new WorkQueue(this, 'Train', {
        visibilityTimeout: trainHeadVisibility,
        maxReceiveCount: MAX_RECEIVE_COUNT.train,
      }),
      // Train messages the Lambda forwards as too large for it; the Batch CPU job drains them.
      trainBatch: new WorkQueue(this, 'TrainBatch', {
        visibilityTimeout: SIZES.trainBatch.visibility,
        maxReceiveCount: MAX_RECEIVE_COUNT.trainBatch,
      }),
      evaluate: new WorkQueue(this, 'Evaluate', {
        visibilityTimeout: visibilityFor(SIZES.evaluate.timeout),
        maxReceiveCount: MAX_RECEIVE_COUNT.evaluate,
      }),
      fineTune: new WorkQueue(this, 'FineTune', {
        visibilityTimeout: SIZES.fineTune.visibility,
        maxReceiveCount: MAX_RECEIVE_COUNT.fineTune,
      }),
    };
    // Incremental mode: every image uploaded under datasets/ becomes extract work without anyone asking.
    storage.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(queues.extract.queue), {
      prefix: PREFIX.datasets,
    });
    // CDK's singleton custom resource that writes the notification configuration.
    for (const child of this.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) acknowledgeBasicExecutionRole(child);
    }
    const alarms = new DeadLetterAlarms(this, 'Alarms', {
      queues,
      ...(config.alarmEmail ? { email: config.alarmEmail } : {}),
    });

    // The run queue's URL goes to train-head only: a worker given it polls that queue too, and runs are planned once.
    const environment: Record<string, string> = {
      [ENV.bucket]: storage.bucket.bucketName,
      [ENV.queueUrl.extract]: queues.extract.queue.queueUrl,
      [ENV.queueUrl.train]: queues.train.queue.queueUrl,
      [ENV.queueUrl.evaluate]: queues.evaluate.queue.queueUrl,
      [ENV.model]: config.model,
      ...(config.shardSize ? { [ENV.shardSize]: String(config.shardSize) } : {}),
      ...(config.extractCompute === 'gpu'
        ? { [ENV.extractCompute]: 'gpu' }
        : { [ENV.extractCompute]: 'lambda', [ENV.extractTimeLimit]: String(SIZES.extractLambda.timeout.toSeconds()) }),
    };
    const withRunQueue = { ...environment, [ENV.queueUrl.run]: queues.run.queue.queueUrl };
    this.addOutputs(storage, queues, withRunQueue);
    if (!config.storageOnly) this.addCompute(config, storage, queues, environment, withRunQueue, alarms.topic);
  }

  private addCompute(
    config: PipelineConfig,
    storage: Storage,
    queues: StageQueues,
    environment: Record<string, string>,
    withRunQueue: Record<string, string>,
    alarmTopic: sns.ITopic,
  ): void {
    const gpuExtract = config.extractCompute === 'gpu';
    // Lambda sets AWS_REGION itself (and forbids setting it); an ECS container on EC2 may not get it otherwise.
    const region = { AWS_REGION: this.region };
    const heads = new HeadsFunctions(this, 'Heads', {
      sourceRoot: config.sourceRoot,
      storage,
      queues,
      environment: withRunQueue,
    });
    heads.trainHead.addEnvironment(ENV.trainCompute, 'lambda');
    heads.trainHead.addEnvironment(ENV.trainTimeoutSeconds, String(SIZES.trainHead.timeout.toSeconds()));
    // Tells train-head a Batch CPU train job exists (the state machine runs it; train-head sends nothing there).
    heads.trainHead.addEnvironment(ENV.trainBatchQueueUrl, queues.trainBatch.queue.queueUrl);

    const answering: iam.IGrantable[] = [heads.trainHead, heads.evaluate];
    const grantExtract = (grantee: iam.IGrantable & IConstruct) => {
      storage.grant(grantee, PREFIX.datasets, 'read');
      storage.grant(grantee, PREFIX.cache, 'readWrite');
      storage.grant(grantee, PREFIX.runs, 'readWrite');
      answering.push(grantee);
    };

    const gpu = new GpuBatch(this, 'GpuBatch', {
      instanceTypes: config.gpuInstanceTypes,
      spot: config.spot,
      maxvCpus: config.maxGpuVcpus,
    });
    const pools: DispatchedPool[] = [];
    if (gpuExtract) {
      const workers = new GpuWorkerJob(this, 'ExtractWorkers', {
        image: extractImageSource(config.sourceRoot),
        command: [...RUNTIME_SOURCES.extractWorkerCommand],
        environment: { ...environment, ...region, [ENV.executionProvider]: EXTRACT_TARGET.gpu },
        ...SIZES.extractWorker,
      });
      grantExtract(workers.role);
      queues.extract.grantConsume(workers.role);
      pools.push({
        name: 'extract',
        workQueue: queues.extract,
        jobDefinition: workers.jobDefinition,
        jobName: JOB_NAME.extract,
        messagesPerWorker: config.extractMessagesPerWorker,
        maxWorkers: config.maxExtractWorkers,
      });
    } else {
      const extract = new ExtractLambda(this, 'ExtractLambda', {
        image: extractImageSource(config.sourceRoot),
        handler: RUNTIME_SOURCES.extractLambdaHandler,
        extractQueue: queues.extract,
        environment: { ...environment, [ENV.executionProvider]: EXTRACT_TARGET.lambda },
        maxConcurrency: config.maxCpuExtractConcurrency,
      });
      grantExtract(extract.fn);
    }

    const fineTune = new GpuWorkerJob(this, 'FineTuneJob', {
      image: fineTuneImageSource(config.sourceRoot),
      command: [...RUNTIME_SOURCES.fineTuneCommand, 'Ref::queueUrl'],
      parameters: { queueUrl: queues.fineTune.queue.queueUrl },
      // Registry backbones are read from, and fine-tuned ones written to, the bucket's models/ prefix.
      environment: { ...region, [ENV.fineTuneModels]: storage.bucket.s3UrlForObject(PREFIX.models) },
      ...SIZES.fineTune,
    });
    storage.grant(fineTune.role, PREFIX.datasets, 'read');
    storage.grant(fineTune.role, PREFIX.models, 'readWrite');
    queues.fineTune.grantConsume(fineTune.role);
    pools.push({
      name: 'fine-tune',
      workQueue: queues.fineTune,
      jobDefinition: fineTune.jobDefinition,
      jobName: JOB_NAME.fineTune,
      messagesPerWorker: 1,
      maxWorkers: config.maxFineTuneJobs,
    });

    const { vcpus, memory, timeout, maxvCpus } = SIZES.trainBatch;
    const trainJob = new CpuTrainJob(this, 'TrainBatchJob', {
      vpc: gpu.vpc,
      image: extractImageSource(config.sourceRoot),
      command: [...RUNTIME_SOURCES.trainBatchCommand],
      // The job's "train queue" is the forwarding queue: it runs the same train stage, as 'batch'.
      environment: {
        ...environment,
        ...region,
        [ENV.queueUrl.train]: queues.trainBatch.queue.queueUrl,
        [ENV.trainCompute]: 'batch',
      },
      vcpus,
      memory,
      timeout,
      maxvCpus,
    });
    storage.grant(trainJob.role, PREFIX.cache, 'read');
    storage.grant(trainJob.role, PREFIX.runs, 'readWrite');
    // The emulator's stand-in for the `.sync` job answers TrainBatch tasks from this queue (docs/serverless.md).
    queues.trainBatch.grantConsume(trainJob.role);

    // Kept for what it earns: warm GPU extract workers (and fine-tune jobs) sized to their queues' backlogs. The
    // Batch CPU train job is the state machine's to run.
    new Dispatcher(this, 'Dispatcher', { jobQueue: gpu.jobQueue, pools });

    const runPath = new RunStateMachine(this, 'RunPath', {
      storage,
      extractQueue: queues.extract,
      trainHead: heads.trainHead,
      evaluate: heads.evaluate,
      trainJob: {
        jobQueue: trainJob.jobQueue,
        jobDefinition: trainJob.jobDefinition,
        messageVariable: ENV.trainMessage,
      },
      alarmTopic,
      // GPU workers are started by the dispatcher from the backlog, so the queue holds what it counts per worker.
      maxConcurrency: gpuExtract
        ? extractConcurrency(config.maxExtractWorkers, config.extractMessagesPerWorker)
        : extractConcurrency(config.maxCpuExtractConcurrency),
    });
    for (const grantee of [...answering, trainJob.role]) runPath.grantTaskResponse(grantee);
    new CfnOutput(this, 'RunStateMachine', {
      description: 'cnn-codes submit --state-machine <this>: every run is an execution of it',
      value: runPath.stateMachine.stateMachineArn,
    });
  }

  private addOutputs(storage: Storage, queues: StageQueues, runtimeEnvironment: Record<string, string>): void {
    const bucket = storage.bucket.bucketName;
    new CfnOutput(this, 'BucketName', { value: bucket });
    new CfnOutput(this, 'UploadCommand', {
      description:
        'Upload an ImageFolder dataset (<split>/<class>/<file>); each new image is also queued for extraction',
      value: `aws s3 sync ./my-dataset s3://${bucket}/${PREFIX.datasets}my-dataset/`,
    });
    new CfnOutput(this, 'RunQueueUrl', {
      description: 'Send a run message here to plan, extract, train and evaluate',
      value: queues.run.queue.queueUrl,
    });
    new CfnOutput(this, 'FineTuneQueueUrl', {
      description: 'Send a fine-tune message here; a GPU job picks it up within a minute',
      value: queues.fineTune.queue.queueUrl,
    });
    new CfnOutput(this, 'RuntimeEnvironment', {
      description: 'The variables the cnn-codes runtime reads, for a shell that talks to this deployment',
      value: Object.entries(runtimeEnvironment)
        .map(([name, value]) => `${name}=${value}`)
        .join(' '),
    });
  }
}
