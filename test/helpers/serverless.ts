import { S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { type FeatureStore } from '../../core/features/feature-store.js';
import type { Manifest } from '../../core/features/manifest.js';
import { awsSettings, s3ClientConfig, sqsClientConfig, type Credentials } from '../../aws/endpoints.js';
import {
  describeRun,
  executionArn,
  findStateMachine,
  sfnClientConfig,
  type RunExecution,
} from '../../aws/step-functions.js';
import { type S3BlobStore } from '../../aws/s3-blob-store.js';
import { motoEnv } from './moto.js';
import { REPO_ROOT, SHARED } from './paths.js';

const execFileAsync = promisify(execFile);

export const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
export const EXTRACT_WORKER = path.join(REPO_ROOT, 'dist', 'functions', 'extract', 'worker.js');

export const TRAIN_HEAD_HANDLER = path.join(REPO_ROOT, 'dist', 'functions', 'train-head', 'handler.js');
export const EVALUATE_HANDLER = path.join(REPO_ROOT, 'dist', 'functions', 'evaluate', 'handler.js');
export const LAMBDA_HOST = path.join(REPO_ROOT, 'dist', 'test', 'helpers', 'lambda-host.js');

/** S3 and SQS clients for the emulator: with dummy keys, or with these credentials (IAM enforced). */
export function clients(endpoint: string, credentials?: Credentials) {
  const settings = { ...awsSettings({ endpoint }, {}), ...(credentials ? { credentials } : {}) };
  return {
    s3: new S3Client(s3ClientConfig(settings)),
    sqs: new SQSClient(sqsClientConfig(settings)),
    sfn: new SFNClient(sfnClientConfig(settings)),
  };
}

/** The run's execution (the state machine `up` made for this queue prefix), once it has ended. */
export async function waitForExecution(
  sfn: SFNClient,
  runId: string,
  timeoutMs: number,
  queuePrefix = 'cnn-codes',
): Promise<RunExecution> {
  const machine = await findStateMachine(sfn, `${queuePrefix}-run`);
  if (!machine) throw new Error(`no state machine ${queuePrefix}-run: run "up" first`);
  const arn = executionArn(machine, runId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await describeRun(sfn, arn).catch(() => undefined);
    if (run && run.status !== 'RUNNING') return run;
    if (Date.now() > deadline) throw new Error(`execution ${arn} still ${run?.status} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every event of an execution's history, in order. */
export async function executionHistory(sfn: SFNClient, arn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: arn, ...(nextToken ? { nextToken } : {}) }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** How often each state of the execution (not the Map's children) was left with success: one per step for a run. */
export async function statesSucceeded(sfn: SFNClient, arn: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const e of await executionHistory(sfn, arn)) {
    const name = e.stateExitedEventDetails?.name;
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/**
 * The real binary, as a user runs it. Asynchronous on purpose: a blocked test process stops draining moto's log
 * pipe, moto blocks writing to it, and the command waits on moto forever.
 */
export async function cli(endpoint: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [BIN, ...args, '--endpoint', endpoint], {
      env: { ...process.env, ...motoEnv(endpoint), CNN_CODES_SHARED: SHARED, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`cnn-codes ${args.join(' ')} exited ${e.code}: ${e.stderr}`, { cause: err });
  }
}

/** A worker child process whose JSON log lines are collected and can be awaited. */
export interface WorkerProcess {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  waitFor(predicate: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM and wait: the graceful path. */
  stop(): Promise<number | null>;
}

/** Where a `cnn-codes worker` started by a test or bench works, and as whom. */
export interface WorkerTarget {
  endpoint: string;
  bucket: string;
  /** The queues and state machine `up --queue-prefix` made; absent: `up`'s default names. */
  queuePrefix?: string;
  /** Stages to serve (`--queues`), comma-separated; absent: all. */
  queues?: string;
  /** An IAM role to work as (`--role`), under an enforced emulator. */
  role?: string;
  /** `--idle-exit`: seconds without a message before the worker exits; default 60. */
  idleExitSeconds?: number;
}

/** `cnn-codes worker` as tests and benches start it (for spawnWorker): one thread, a 2 s poll, an idle exit. */
export function workerArgs(target: WorkerTarget): string[] {
  return [
    BIN,
    'worker',
    '--endpoint',
    target.endpoint,
    '--bucket',
    target.bucket,
    ...(target.queuePrefix ? ['--queue-prefix', target.queuePrefix] : []),
    ...(target.queues ? ['--queues', target.queues] : []),
    ...(target.role ? ['--role', target.role] : []),
    '--threads',
    '1',
    '--idle-exit',
    String(target.idleExitSeconds ?? 60),
    '--poll',
    '2',
  ];
}

export function spawnWorker(args: string[], env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, CNN_CODES_SHARED: SHARED, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ event: 'stderr', line });
      }
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    events,
    waitFor: (predicate, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (child.exitCode !== null) {
            cleanup();
            reject(
              new Error(
                `worker exited (${child.exitCode}) before the awaited event; log: ${JSON.stringify(events.slice(-5))}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for a worker event; log: ${JSON.stringify(events.slice(-5))}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * What Lambda's SQS event source mapping does, over real HTTP: receive, invoke the handler with an SQSEvent, delete
 * what it did not report as failed. Failed records reappear after their visibility timeout.
 */
export function pollIntoLambda(
  sqs: SQSClient,
  queueUrl: string,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
  signal: AbortSignal,
): Promise<number> {
  const name = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
  const arn = `arn:aws:sqs:us-east-1:123456789012:${name}`;
  return (async () => {
    let invocations = 0;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = received.Messages ?? [];
      } catch (err) {
        if (signal.aborted) break;
        throw err;
      }
      if (messages.length === 0) continue;
      invocations += 1;
      const event = toSqsEvent(messages, arn);
      const response = await handler(event);
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const done = messages.filter((m) => !failed.has(m.MessageId!));
      if (done.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }
    return invocations;
  })();
}

/** Received SQS messages as Lambda's event source mapping hands them to a function. */
export function toSqsEvent(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

/** Receives until `n` messages are in hand (they stay invisible for the queue's visibility timeout). */
export async function receiveN(sqs: SQSClient, queueUrl: string, n: number): Promise<Message[]> {
  const out: Message[] = [];
  for (let tries = 0; out.length < n && tries < 20; tries++) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, n - out.length),
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    out.push(...(received.Messages ?? []));
  }
  if (out.length < n) throw new Error(`only ${out.length} of ${n} messages arrived on ${queueUrl}`);
  return out;
}

/** Everything a queue holds (bodies as sent, with the dead-letter reason attribute), consumed. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Array<{ body: string; reason?: string }>> {
  const out: Array<{ body: string; reason?: string }> = [];
  for (let empty = 0; empty < 2;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) {
      empty += 1;
      continue;
    }
    for (const m of messages)
      out.push({
        body: m.Body ?? '',
        ...(m.MessageAttributes?.['cnn-codes-error']?.StringValue
          ? { reason: m.MessageAttributes['cnn-codes-error'].StringValue }
          : {}),
      });
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  return out;
}

/** Every cached code of a manifest's images at one cut point, by content hash: what "bit for bit" compares. */
export async function codesByHash(
  features: FeatureStore,
  manifest: Manifest,
  cut = 'final',
): Promise<Map<string, Buffer>> {
  const ns = manifest.namespaces[cut]!;
  const info = { id: ns.id, dim: ns.dim, model: manifest.model.name, modelSha256: manifest.model.sha256, cut };
  const index = await features.loadIndex(info);
  const hashes = [...new Set(manifest.entries.map((e) => e.contentHash))];
  const codes = await features.readCodes(
    info,
    hashes.map((h) => index.codes.get(h)!),
  );
  return new Map(hashes.map((h, i) => [h, Buffer.from(codes.buffer, i * ns.dim * 4, ns.dim * 4)]));
}

export async function waitForObject<T>(store: S3BlobStore, key: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await store.getJson<T>(key);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${store.location}/${key} did not appear within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The manifest without code locations (which name whichever cache shard held a code first) or the dataset URI. */
export function comparableManifest(m: Manifest) {
  return {
    classes: m.classes,
    model: m.model,
    namespaces: m.namespaces,
    rejects: m.rejects,
    entries: m.entries.map(({ codes: _codes, ...rest }) => rest),
  };
}
