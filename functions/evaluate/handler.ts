import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildRuntime, jsonLog } from '../shared/runtime.js';
import { settingsFromEnv } from '../shared/settings.js';
import { handleStateOrSqs, lazyRuntime } from '../shared/sqs-lambda.js';

/** evaluate → the core evaluate → metrics.json and report.md in the run's workspace. */
const runtime = lazyRuntime(() =>
  buildRuntime(settingsFromEnv(), { withBackbone: false, log: jsonLog({ role: 'evaluate' }) }),
);

export const handler = (event: SQSEvent | { message: unknown }): Promise<SQSBatchResponse | unknown> =>
  handleStateOrSqs(runtime.get(), event, new Set(['evaluate']));

export const dispose = runtime.dispose;
