import * as path from 'node:path';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { BUCKET_PREFIX as PREFIX } from '../../contracts/cross-process.js';
import { RUNTIME_SOURCES } from '../layout.js';
import { SIZES } from '../sizes.js';
import { NodeFunction } from './node-function.js';
import { consumeWith } from './queue-consumer.js';
import type { Storage } from './storage.js';
import type { WorkQueue } from './work-queue.js';

export interface HeadsFunctionsProps {
  sourceRoot: string;
  storage: Storage;
  queues: Record<'run' | 'extract' | 'train' | 'evaluate', WorkQueue>;
  environment: Record<string, string>;
}

/** train-head and evaluate: small bundles (no ONNX, no sharp) fed one message at a time by their queues. */
export class HeadsFunctions extends Construct {
  readonly trainHead: nodejs.NodejsFunction;
  readonly evaluate: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: HeadsFunctionsProps) {
    super(scope, id);
    const { storage, queues } = props;

    // The state machine's Plan step runs here too (list the dataset, write the plan and its shard manifest): that
    // needs no backbone, so it is this small function rather than a GPU worker. The queues feed it callback tasks
    // where the state machine cannot invoke it (the emulator); on AWS the state machine invokes it directly.
    this.trainHead = new NodeFunction(this, 'TrainHead', {
      entry: path.join(props.sourceRoot, RUNTIME_SOURCES.trainHeadEntry),
      description: 'cnn-codes: plans runs; fits a linear head on cached CNN codes, C chosen by cross-validation',
      ...SIZES.trainHead,
      environment: props.environment,
    }).fn;
    consumeWith(this.trainHead, queues.run);
    consumeWith(this.trainHead, queues.train);
    storage.grant(this.trainHead, PREFIX.datasets, 'read');
    storage.grant(this.trainHead, PREFIX.cache, 'read');
    // Train records which content hash each listed object had (cache/sources/), so a re-run reads none of them again.
    storage.grant(this.trainHead, PREFIX.cacheSources, 'readWrite');
    storage.grant(this.trainHead, PREFIX.runs, 'readWrite');

    this.evaluate = new NodeFunction(this, 'Evaluate', {
      entry: path.join(props.sourceRoot, RUNTIME_SOURCES.evaluateEntry),
      description: 'cnn-codes: scores a trained head on a held-out split and writes the report',
      ...SIZES.evaluate,
      environment: props.environment,
    }).fn;
    consumeWith(this.evaluate, queues.evaluate);
    // Read-only on datasets: report.html inlines the misclassified images.
    storage.grant(this.evaluate, PREFIX.datasets, 'read');
    storage.grant(this.evaluate, PREFIX.cache, 'read');
    storage.grant(this.evaluate, PREFIX.runs, 'readWrite');
  }
}
