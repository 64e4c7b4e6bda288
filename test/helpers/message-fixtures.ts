import { MESSAGE_VERSION, type ExtractMessage } from '../../core/messages/schema.js';

/** Valid work messages: the schema tests' examples and the message fuzzer's seeds. */
export const EXTRACT_MESSAGE: ExtractMessage = {
  v: MESSAGE_VERSION,
  type: 'extract',
  runId: 'r1',
  dataset: 's3://my-bucket/datasets/hym',
  workspace: 's3://my-bucket/runs/r1',
  cache: 's3://my-bucket/cache',
  model: 'mobilenetv2-12-int8',
  cuts: ['final'],
  shard: { index: 0, count: 2, items: [{ key: 'train/ants/a.jpg', split: 'train', label: 0 }] },
};

export const RUN_MESSAGE = {
  v: 1,
  type: 'run',
  runId: 'r1',
  dataset: '/data/hym',
  workspace: '/w/r1',
  cache: '/w/cache',
  model: 'm',
  cuts: ['all'],
  shardSize: 32,
  list: { valFraction: 0.2 },
  train: { head: 'svm', C: 0.5, folds: 3 },
  split: 'test',
};

export const EVALUATE_MESSAGE = {
  v: 1,
  type: 'evaluate',
  runId: 'r1',
  workspace: 's3://b-1/runs/r1',
  cache: 's3://b-1/cache',
  split: 'val',
};
