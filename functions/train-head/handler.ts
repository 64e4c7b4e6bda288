import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildRuntime, jsonLog } from '../shared/runtime.js';
import { settingsFromEnv } from '../shared/settings.js';
import { handleSqsEvent, lazyRuntime } from '../shared/sqs-lambda.js';

/**
 * train → the core trainHead on the run's assembled manifest → one evaluate message. Also plans runs (list, shard,
 * fan out): that needs no backbone, so the run queue can feed this small function.
 */
const runtime = lazyRuntime(() =>
  buildRuntime(settingsFromEnv(), { withBackbone: false, log: jsonLog({ role: 'train-head' }) }),
);

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleSqsEvent(runtime.get(), event, new Set(['train', 'run']));

export const dispose = runtime.dispose;
