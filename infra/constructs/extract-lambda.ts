import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SIZES } from '../sizes.js';
import type { ImageSource } from './image-assets.js';
import { monthLogGroup } from './log-group.js';
import { acknowledgeBasicExecutionRole } from './node-function.js';
import { consumeWith } from './queue-consumer.js';
import type { WorkQueue } from './work-queue.js';

export interface ExtractLambdaProps {
  image: ImageSource;
  handler: string;
  extractQueue: WorkQueue;
  environment: Record<string, string>;
  maxConcurrency: number;
}

/**
 * The CPU alternative for small datasets: the extract image as a Lambda container (onnxruntime-node and sharp do
 * not fit a 250 MB zip), one shard per invocation, no GPU fleet to start.
 */
export class ExtractLambda extends Construct {
  readonly fn: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: ExtractLambdaProps) {
    super(scope, id);
    const logGroup = monthLogGroup(this, 'Logs');
    this.fn = new lambda.DockerImageFunction(this, 'Function', {
      code: lambda.DockerImageCode.fromImageAsset(props.image.directory, {
        file: props.image.file,
        exclude: props.image.exclude,
        ignoreMode: props.image.ignoreMode,
        platform: props.image.platform,
        cmd: [props.handler],
      }),
      description: 'cnn-codes: embeds one shard of images with the frozen backbone (CPU) into the code cache',
      architecture: lambda.Architecture.X86_64,
      ...SIZES.extractLambda,
      environment: props.environment,
      logGroup,
    });
    acknowledgeBasicExecutionRole(this.fn);
    consumeWith(this.fn, props.extractQueue, props.maxConcurrency);
  }
}
