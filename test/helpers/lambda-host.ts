import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsSettings, sqsClientConfig } from '../../aws/endpoints.js';
import { pollIntoLambda } from './serverless.js';

/**
 * A Lambda function's stand-in process: `node lambda-host.js MODULE QUEUE_URL...` polls each queue into the module's
 * handler as an event source mapping does (receive, invoke, delete what did not fail), with this process's own
 * credentials: those of the function's role, when a test runs it under IAM. SIGTERM stops it.
 */
const [modulePath, ...queueUrls] = process.argv.slice(2);
if (!modulePath || queueUrls.length === 0) throw new Error('usage: lambda-host.js MODULE QUEUE_URL...');
const fn = (await import(modulePath)) as {
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  dispose: () => Promise<void>;
};
const sqs = new SQSClient(sqsClientConfig(awsSettings()));
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.stderr.write(`${JSON.stringify({ event: 'worker:started', module: modulePath })}\n`);
try {
  await Promise.all(queueUrls.map((url) => pollIntoLambda(sqs, url, fn.handler, stop.signal)));
} finally {
  await fn.dispose();
  sqs.destroy();
}
