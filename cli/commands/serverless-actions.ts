import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DataError } from '../../core/errors.js';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { childUri } from '../../core/messages/store-uri.js';
import { MESSAGE_VERSION, parseWorkMessage, type RunMessage } from '../../core/messages/schema.js';
import { forEachConcurrent } from '../../core/util/concurrency.js';
import {
  DEFAULT_STATE_MACHINE,
  extractConcurrency,
  runStateMachine,
} from '../../core/use-cases/distributed/state-machine.js';
import { stateDiagram } from '../../core/report/state-diagram.js';
import { optional } from '../../core/util/optional.js';
import { awsSettings, s3ClientConfig, sqsClientConfig, type AwsSettings } from '../../aws/endpoints.js';
import { DEFAULT_PROVISION, STAGES, type Stage } from '../../aws/names.js';
import {
  describeRun,
  enableEmulatorExecution,
  ensureStateMachine,
  executionArn,
  findStateMachine,
  sfnClientConfig,
  startRun,
  type RunExecution,
} from '../../aws/step-functions.js';
import { BUCKET_PREFIX, bucketKey, ENV } from '../../contracts/cross-process.js';
import type { CfnTemplate } from '../../aws/iam-roles.js';
import { ensureQueue, findQueues, provision, type Provisioned } from '../../aws/provision.js';
import { S3BlobStore } from '../../aws/s3-blob-store.js';
import { SqsQueue } from '../../aws/sqs-queue.js';
import { buildRuntime, jsonLog } from '../../functions/shared/runtime.js';
import type { ServerlessSettings } from '../../functions/shared/settings.js';
import { shutdownOnSignals } from '../../functions/shared/shutdown.js';
import { runWorkers } from '../../functions/shared/workers.js';
import { choiceFlag, numberFlag, positiveInt, stringFlag } from '../args.js';
import type { CommandContext, FlagValues } from '../command.js';
import type { CliEnvironment } from '../config.js';
import { headChoices } from './head-flags.js';

/** The serverless commands' work, loaded only when one runs: the AWS SDK costs ~0.5 s to import. */
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * Where to send and read: flags first; then a deployment's variables (CNN_CODES_BUCKET, CNN_CODES_<STAGE>_QUEUE_URL);
 * then the names `cnn-codes up` gives. An explicit --queue-prefix means queues found by name, whatever is exported.
 */
function connect(values: FlagValues, env: CliEnvironment) {
  const aws = awsSettings({
    ...optional('endpoint', stringFlag(values, 'endpoint')),
    ...optional('region', stringFlag(values, 'region')),
  });
  const prefixFlag = stringFlag(values, 'queue-prefix');
  return {
    aws,
    s3: new S3Client(s3ClientConfig(aws)),
    sqs: new SQSClient(sqsClientConfig(aws)),
    sfn: new SFNClient(sfnClientConfig(aws)),
    bucket: stringFlag(values, 'bucket') ?? env.deployment.bucket ?? DEFAULT_PROVISION.bucket,
    queuePrefix: prefixFlag ?? DEFAULT_PROVISION.queuePrefix,
    queueUrls: prefixFlag ? {} : env.deployment.queueUrls,
  };
}

type Connection = ReturnType<typeof connect>;

async function locateQueues(c: Connection, stages: readonly Stage[]): Promise<Partial<Record<Stage, string>>> {
  const unnamed = stages.filter((s) => !c.queueUrls[s]);
  const found = unnamed.length > 0 ? await findQueues(c.sqs, c.queuePrefix, unnamed) : {};
  for (const stage of stages) if (c.queueUrls[stage]) found[stage] = c.queueUrls[stage];
  return found;
}

async function queuesOrFail(c: Connection, stages: readonly Stage[]): Promise<Partial<Record<Stage, string>>> {
  const found = await locateQueues(c, stages);
  const missing = stages.filter((s) => !found[s]);
  if (missing.length > 0) {
    throw new ConfigError(
      `queues ${missing.map((s) => `${c.queuePrefix}-${s}`).join(', ')} not found: run "cnn-codes up" against this endpoint first, ` +
        `or export a deployment's ${missing.map((s) => ENV.queueUrl[s]).join(', ')} (the stack's RuntimeEnvironment output)`,
    );
  }
  return found;
}

export async function up(values: FlagValues, ctx: CommandContext): Promise<unknown> {
  const c = connect(values, ctx.env);
  const notify =
    values['no-notify'] === true ? null : (stringFlag(values, 'notify-prefix') ?? DEFAULT_PROVISION.notifyPrefix);
  const made = await provision(c.s3, c.sqs, {
    bucket: c.bucket,
    queuePrefix: c.queuePrefix,
    region: c.aws.region,
    visibilityTimeoutSeconds: positiveInt(values, 'visibility-timeout') ?? DEFAULT_PROVISION.visibilityTimeoutSeconds,
    maxReceiveCount: positiveInt(values, 'max-receive-count') ?? DEFAULT_PROVISION.maxReceiveCount,
    notifyPrefix: notify,
  });
  const template = stringFlag(values, 'iam');
  const iam = template ? await upIam(c, template, made) : undefined;
  const machine = await upStateMachine(c, values, made, iam?.stateMachineRole);
  if (!ctx.json) {
    say(`bucket s3://${made.bucket}${c.aws.s3Endpoint ? ` at ${c.aws.s3Endpoint}` : ''}`);
    for (const stage of STAGES)
      say(`queue ${stage.padEnd(8)} ${made.queues[stage].url}  (DLQ ${made.queues[stage].deadLetterUrl})`);
    say(
      notify === null
        ? 'incremental mode off (no bucket notification)'
        : `incremental mode: s3://${made.bucket}/${notify}* → ${c.queuePrefix}-extract`,
    );
    say(
      `state machine ${machine.stateMachineArn}${machine.executes ? '' : ' (the endpoint did not accept execution on)'}`,
    );
    if (iam) {
      for (const role of iam.roles) say(`role ${role}`);
      say(
        `admin user ${iam.admin.user}: AWS_ACCESS_KEY_ID=${iam.admin.accessKeyId} AWS_SECRET_ACCESS_KEY=${iam.admin.secretAccessKey}`,
      );
    }
  }
  return { ...made, ...machine, ...(iam ? { iam } : {}) };
}

/** The emulator's name for the run's state machine (the stack's is its own): `<prefix>-run`. */
const stateMachineName = (queuePrefix: string): string => `${queuePrefix}-run`;

/**
 * The run's state machine, emulator variant (every task a callback on a queue, see state-machine.ts), created with the
 * role the template gives it under `--iam`, else a role name the emulator does not check; and execution switched on.
 */
async function upStateMachine(c: Connection, values: FlagValues, made: Provisioned, role: string | undefined) {
  const trainBatch = await ensureQueue(c.sqs, `${c.queuePrefix}-train-batch`, {
    VisibilityTimeout: String(positiveInt(values, 'visibility-timeout') ?? DEFAULT_PROVISION.visibilityTimeoutSeconds),
  });
  const definition = runStateMachine({
    target: {
      kind: 'emulator',
      queues: {
        run: made.queues.run.url,
        extract: made.queues.extract.url,
        train: made.queues.train.url,
        trainBatch: trainBatch.url,
        evaluate: made.queues.evaluate.url,
      },
    },
    heartbeatSeconds: positiveInt(values, 'heartbeat') ?? DEFAULT_STATE_MACHINE.heartbeatSeconds,
    maxConcurrency: positiveInt(values, 'max-concurrency') ?? extractConcurrency(positiveInt(values, 'workers') ?? 2),
    extractAttempts: DEFAULT_STATE_MACHINE.extractAttempts,
  });
  const roleArn = role ?? `arn:aws:iam::123456789012:role/${c.queuePrefix}-run-state-machine`;
  // First: moto forgets the state machines it holds when execution is first switched on.
  const executes = c.aws.endpoint ? await enableEmulatorExecution(c.aws.endpoint) : true;
  const stateMachineArn = await ensureStateMachine(c.sfn, stateMachineName(c.queuePrefix), definition, roleArn);
  return { stateMachineArn, executes, diagram: stateDiagram(definition) };
}

const ADMIN_USER = 'cnn-codes-admin';
/** The logical id of the stack's state machine role, as `rolesFromTemplate` names roles. */
const STATE_MACHINE_ROLE = 'RunStateMachineRole';

/** The IAM and STS clients load only for `up --iam` and `worker --role`. */
const iamRoles = () => import('../../aws/iam-roles.js');

/**
 * `up --iam`: the template's other queues (train-batch, fine-tune), every IAM role of the template with exactly its
 * policies, and an allow-all user to operate as once the emulator enforces IAM (moto: POST /moto-api/reset-auth).
 */
async function upIam(c: Connection, templatePath: string, made: Provisioned) {
  const { EMULATOR_ACCOUNT, iamClient, installAdmin, installRoles, queuesOfTemplate, rolesFromTemplate } =
    await iamRoles();
  const template = JSON.parse(await fs.readFile(templatePath, 'utf8')) as CfnTemplate;
  const existing = new Set(
    Object.values(made.queues).flatMap((q) => [q.url, q.deadLetterUrl].map((u) => u.slice(u.lastIndexOf('/') + 1))),
  );
  for (const name of queuesOfTemplate(template, c.queuePrefix))
    if (!existing.has(name)) await ensureQueue(c.sqs, name, {});
  const roles = rolesFromTemplate(template, {
    bucket: c.bucket,
    queuePrefix: c.queuePrefix,
    region: c.aws.region,
    account: EMULATOR_ACCOUNT,
  });
  // The emulator variant's stand-ins: where the stack's state machine invokes train-head and evaluate and runs the
  // Batch job, this one sends callback tasks to their queues. Its role may send there instead (and only there).
  const machineRole = roles.find((r) => r.name.startsWith(STATE_MACHINE_ROLE));
  if (machineRole) {
    const queueArn = (stage: string) => `arn:aws:sqs:${c.aws.region}:${EMULATOR_ACCOUNT}:${c.queuePrefix}-${stage}`;
    machineRole.policies.push({
      name: 'EmulatorStandIns',
      statements: [
        {
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: [queueArn('run'), queueArn('train'), queueArn('train-batch'), queueArn('evaluate')],
        },
      ],
    });
  }
  const client = iamClient(c.aws);
  try {
    await installRoles(client, roles);
    const admin = await installAdmin(client, ADMIN_USER);
    return {
      roles: roles.map((r) => r.name),
      admin: { user: ADMIN_USER, ...admin },
      ...(machineRole ? { stateMachineRole: `arn:aws:iam::${EMULATOR_ACCOUNT}:role/${machineRole.name}` } : {}),
    };
  } finally {
    client.destroy();
  }
}

export async function worker(values: FlagValues, ctx: CommandContext): Promise<unknown> {
  const c = connect(values, ctx.env);
  const stages = (stringFlag(values, 'queues')
    ?.split(',')
    .map((s) => s.trim()) ?? [...STAGES]) as Stage[];
  const unknown = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new ConfigError(`--queues: unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`);
  const settings: ServerlessSettings = {
    bucket: c.bucket,
    queueUrls: await queuesOrFail(c, STAGES),
    model: stringFlag(values, 'model') ?? DEFAULT_MODEL,
    cuts: ['final'],
    executionProvider: choiceFlag(values, 'provider', ['cpu', 'cuda'] as const) ?? 'cpu',
    modelsDirs: [
      ...((values['models-dir'] as string[] | undefined) ?? []).map((d) => path.resolve(d)),
      ...ctx.env.modelsDirs,
    ],
    ...optional('threads', positiveInt(values, 'threads')),
    int8Weights: ctx.env.int8Weights,
    decode: ctx.env.decode,
    idleExitSeconds: numberFlag(values, 'idle-exit', (n) => n > 0, 'a positive number of seconds') ?? null,
    pollSeconds:
      numberFlag(
        values,
        'poll',
        (n) => Number.isInteger(n) && n >= 1 && n <= 20,
        'an integer number of seconds in 1..20',
      ) ?? 20,
    aws: await asRole(c.aws, stringFlag(values, 'role')),
  };
  const log = ctx.json ? () => {} : jsonLog({ role: 'worker' });
  // The user's cache of prepared graphs, as local runs use: a worker start loads the graph instead of redoing the surgery.
  const runtime = buildRuntime(settings, {
    withBackbone: stages.includes('extract'),
    log,
    preparedGraphCacheDir: ctx.env.preparedGraphCacheDir,
  });
  log({ event: 'worker:started', stages, bucket: c.bucket });
  try {
    return await runWorkers(runtime, {
      stages,
      signal: shutdownOnSignals(log),
      idleExitSeconds: settings.idleExitSeconds,
    });
  } finally {
    await runtime.close();
  }
}

/** `--role NAME`: the same settings with that role's credentials (STS AssumeRole with the caller's own). */
async function asRole(aws: AwsSettings, role: string | undefined): Promise<AwsSettings> {
  if (!role) return aws;
  const { assumeRole, stsClient } = await iamRoles();
  const sts = stsClient(aws);
  try {
    return { ...aws, credentials: await assumeRole(sts, role, `worker-${process.pid}`) };
  } finally {
    sts.destroy();
  }
}

export async function submit(values: FlagValues, ctx: CommandContext): Promise<unknown> {
  const data = stringFlag(values, 'data');
  if (!data) throw new ConfigError('submit: --data DIR (a local ImageFolder) or --data s3://BUCKET/PREFIX is required');
  const c = connect(values, ctx.env);
  const machine = await stateMachineOrFail(c, values);
  const bucketUri = `s3://${c.bucket}`;
  let dataset = data;
  let uploaded = 0;
  if (!data.startsWith('s3://')) {
    const name = stringFlag(values, 'name') ?? path.basename(path.resolve(data));
    dataset = childUri(bucketUri, bucketKey(BUCKET_PREFIX.datasets, name));
    uploaded = await uploadFolder(
      path.resolve(data),
      new S3BlobStore(c.s3, c.bucket, bucketKey(BUCKET_PREFIX.datasets, name)),
      ctx,
    );
  }
  const runId =
    stringFlag(values, 'run-id') ??
    `${path.basename(dataset)}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
  const layer = stringFlag(values, 'layer');
  const message: RunMessage = {
    v: MESSAGE_VERSION,
    type: 'run',
    runId,
    dataset,
    workspace: childUri(bucketUri, bucketKey(BUCKET_PREFIX.runs, runId)),
    cache: childUri(bucketUri, bucketKey(BUCKET_PREFIX.cache)),
    model: stringFlag(values, 'model') ?? DEFAULT_MODEL,
    cuts: layer === 'auto' ? ['all'] : (layer?.split(',').map((s) => s.trim()) ?? ['final']),
    ...optional('shardSize', positiveInt(values, 'shard-size')),
    train: {
      ...optional('layer', layer?.includes(',') ? undefined : layer),
      ...headChoices(values),
      ...optional(
        'seed',
        numberFlag(values, 'seed', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer'),
      ),
    },
    ...optional('split', choiceFlag(values, 'split', ['val', 'test'] as const)),
    ...optional(
      'toleratedFailures',
      numberFlag(values, 'tolerate', (n) => Number.isInteger(n) && n >= 0, 'a count'),
    ),
  };
  parseWorkMessage(message);
  const { executionArn: execution, started } = await startRun(c.sfn, machine, runId, message);
  if (!ctx.json)
    say(
      `${started ? 'submitted' : 'already running or run:'} ${runId}: ${dataset}${uploaded ? ` (${uploaded} files uploaded)` : ''} → ${message.workspace}\nexecution ${execution}`,
    );
  const submitted = { runId, dataset, uploaded, workspace: message.workspace, executionArn: execution };
  if (values.wait !== true) return submitted;
  const status = await waitForRun(
    c,
    execution,
    runId,
    numberFlag(values, 'timeout', (n) => n > 0, 'seconds') ?? 3600,
    ctx,
  );
  if (!ctx.json) printRunStatus(runId, status);
  if (status.status !== 'SUCCEEDED')
    throw new DataError(
      `run ${runId} ${status.status}: ${[status.error, status.cause].filter(Boolean).join(': ') || 'no cause given'} (${execution})`,
    );
  return { ...submitted, status };
}

/** The run's state machine: --state-machine ARN, else the one `up` made for this queue prefix. */
async function stateMachineOrFail(c: Connection, values: FlagValues): Promise<string> {
  const named = stringFlag(values, 'state-machine');
  if (named) return named;
  const found = await findStateMachine(c.sfn, stateMachineName(c.queuePrefix));
  if (!found)
    throw new ConfigError(
      `state machine ${stateMachineName(c.queuePrefix)} not found: run "cnn-codes up" against this endpoint first, or pass a deployment's --state-machine ARN (the stack's RunStateMachine output)`,
    );
  return found;
}

export async function status(values: FlagValues, ctx: CommandContext): Promise<unknown> {
  const c = connect(values, ctx.env);
  const found = await locateQueues(c, STAGES);
  const queues: Record<string, unknown> = {};
  for (const [stage, url] of Object.entries(found)) {
    const queue = new SqsQueue(c.sqs, url);
    const dlq = await queue.resolveDeadLetterUrl();
    queues[stage] = {
      ...(await queue.counts()),
      deadLetters: dlq ? (await new SqsQueue(c.sqs, dlq).counts()).visible : null,
    };
  }
  const runsStore = new S3BlobStore(c.s3, c.bucket, bucketKey(BUCKET_PREFIX.runs));
  const runIds = values.run ? [String(values.run)] : await listRunIds(runsStore);
  const machine = await stateMachineOrFail(c, values);
  const runs = await Promise.all(
    runIds.map(async (runId) => ({ runId, ...(await describeRun(c.sfn, executionArn(machine, runId))) })),
  );
  if (!ctx.json) {
    for (const [stage, q] of Object.entries(queues)) say(`queue ${stage.padEnd(8)} ${JSON.stringify(q)}`);
    for (const run of runs) printRunStatus(run.runId, run);
    if (runs.length === 0) say(`no runs in s3://${c.bucket}/${BUCKET_PREFIX.runs}`);
  }
  return { queues, stateMachineArn: machine, runs };
}

async function listRunIds(runs: S3BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const blob of runs.list(''))
    if (blob.key.endsWith('/plan.json')) ids.push(blob.key.slice(0, -'/plan.json'.length));
  return ids;
}

function printRunStatus(runId: string, s: RunExecution): void {
  const out = s.output as { accuracy?: number; n?: number } | undefined;
  const accuracy = out?.accuracy === undefined ? '' : `, accuracy ${(out.accuracy * 100).toFixed(1)} % on ${out.n}`;
  const shards = s.shards ? `, shards ${s.shards.succeeded}/${s.shards.total} (${s.shards.failed} failed)` : '';
  const why = s.error ? `, ${s.error}: ${s.cause ?? ''}` : '';
  say(`run ${runId}: ${s.status}${shards}${accuracy}${why}\n  execution ${s.executionArn}`);
}

async function uploadFolder(dir: string, store: S3BlobStore, ctx: CommandContext): Promise<number> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DataError(`data folder not found: ${dir}`);
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) =>
      path
        .relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
        .split(path.sep)
        .join('/'),
    )
    .filter((rel) => !rel.split('/').some((part) => part.startsWith('.')))
    .sort();
  let done = 0;
  await forEachConcurrent(files, 16, async (rel) => {
    await store.put(rel, await fs.readFile(path.join(dir, rel)));
    ctx.progress({ phase: 'list', done: ++done, total: files.length, message: 'upload' });
  });
  ctx.progress.end();
  return files.length;
}

/** `submit --wait`: the execution, described every second until it ends (progress from its Map Run). */
async function waitForRun(
  c: Connection,
  execution: string,
  runId: string,
  timeoutSeconds: number,
  ctx: CommandContext,
): Promise<RunExecution> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const status = await describeRun(c.sfn, execution);
    if (status.shards)
      ctx.progress({
        phase: 'extract',
        done: status.shards.succeeded + status.shards.failed,
        total: status.shards.total,
        message: `run ${runId} (${status.status})`,
      });
    if (status.status !== 'RUNNING') {
      ctx.progress.end();
      return status;
    }
    if (Date.now() > deadline)
      throw new DataError(
        `run ${runId} not done after ${timeoutSeconds} s (${status.status}); see "cnn-codes status --run ${runId}"`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
