import * as path from 'node:path';
import { type Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct, type IConstruct } from 'constructs';
import { REPO_ROOT } from '../config.js';
import { monthLogGroup } from './log-group.js';

export interface NodeFunctionProps {
  /** Absolute path of the TypeScript entry file exporting `handler`. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  /** Modules left to the Lambda runtime instead of bundled. */
  externalModules?: string[];
  reservedConcurrentExecutions?: number;
}

/**
 * A TypeScript handler bundled by the local esbuild (never Docker, so `cdk synth` runs offline and in CI), as an
 * ES module with the AWS SDK bundled in: the SDK versions the lockfile pins are the ones tested against moto.
 */
export class NodeFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    const logGroup = monthLogGroup(this, 'Logs');
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      logGroup,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        // CommonJS dependencies inside an ES module bundle still call require().
        banner:
          "import { createRequire as __cnnCodesCreateRequire } from 'node:module'; const require = __cnnCodesCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        bundleAwsSDK: true,
        externalModules: props.externalModules ?? [],
        tsconfig: path.join(REPO_ROOT, 'tsconfig.json'),
      },
    });
    acknowledgeBasicExecutionRole(this.fn);
  }
}

/** Lambda's own managed policy only lets a function write its logs; CDK attaches it to every function role. */
export function acknowledgeBasicExecutionRole(scope: IConstruct): void {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'AWSLambdaBasicExecutionRole allows creating and writing CloudWatch log streams only.',
  });
}
