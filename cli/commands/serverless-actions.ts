import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DataError } from '../../core/errors.js';
import { DEFAULT_MODEL } from '../../core/models/builtin.js';
import { childUri } from '../../core/messages/store-uri.js';
import { MESSAGE_VERSION, parseWorkMessage, type RunMessage } from '../../core/messages/schema.js';
import { forEachConcurrent } from '../../core/util/concurrency.js';
import { runStatus, type RunStatus } from '../../core/use-cases/distributed/run-status.js';
import { optional } from '../../core/util/optional.js';
import { awsSettings, s3ClientConfig, sqsClientConfig, type AwsSettings } from '../../aws/endpoints.js';
import { DEFAULT_PROVISION, STAGES, type Stage } from '../../aws/names.js';
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
  if (!ctx.json) {
    say(`bucket s3://${made.bucket}${c.aws.s3Endpoint ? ` at ${c.aws.s3Endpoint}` : ''}`);
    for (const stage of STAGES)
      say(`queue ${stage.padEnd(8)} ${made.queues[stage].url}  (DLQ ${made.queues[stage].deadLetterUrl})`);
    say(
      notify === null
        ? 'incremental mode off (no bucket notification)'
        : `incremental mode: s3://${made.bucket}/${notify}* → ${c.queuePrefix}-extract`,
    );
    if (iam) {
      for (const role of iam.roles) say(`role ${role}`);
      say(
        `admin user ${iam.admin.user}: AWS_ACCESS_KEY_ID=${iam.admin.accessKeyId} AWS_SECRET_ACCESS_KEY=${iam.admin.secretAccessKey}`,
      );
    }
  }
  return iam ? { ...made, iam } : made;
}

const ADMIN_USER = 'cnn-codes-admin';

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
  const client = iamClient(c.aws);
  try {
    await installRoles(client, roles);
    const admin = await installAdmin(client, ADMIN_USER);
    return { roles: roles.map((r) => r.name), admin: { user: ADMIN_USER, ...admin } };
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
    allowLocalStores: false,
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
      log,
      ...optional('idleExitSeconds', settings.idleExitSeconds ?? undefined),
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
  const { run: runQueue } = await queuesOrFail(c, ['run']);
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
  };
  parseWorkMessage(message);
  await new SqsQueue(c.sqs, runQueue!).send(message);
  if (!ctx.json)
    say(`submitted run ${runId}: ${dataset}${uploaded ? ` (${uploaded} files uploaded)` : ''} → ${message.workspace}`);
  if (values.wait !== true) return { runId, dataset, uploaded, workspace: message.workspace };
  const status = await waitForRun(
    new S3BlobStore(c.s3, c.bucket, bucketKey(BUCKET_PREFIX.runs, runId)),
    runId,
    numberFlag(values, 'timeout', (n) => n > 0, 'seconds') ?? 3600,
    ctx,
  );
  if (!ctx.json) printRunStatus(status);
  return { runId, dataset, uploaded, workspace: message.workspace, status };
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
  const runs = await Promise.all(
    runIds.map((id) => runStatus(new S3BlobStore(c.s3, c.bucket, bucketKey(BUCKET_PREFIX.runs, id)), id)),
  );
  if (!ctx.json) {
    for (const [stage, q] of Object.entries(queues)) say(`queue ${stage.padEnd(8)} ${JSON.stringify(q)}`);
    runs.forEach(printRunStatus);
    if (runs.length === 0) say(`no runs in s3://${c.bucket}/${BUCKET_PREFIX.runs}`);
  }
  return { queues, runs };
}

async function listRunIds(runs: S3BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const blob of runs.list(''))
    if (blob.key.endsWith('/plan.json')) ids.push(blob.key.slice(0, -'/plan.json'.length));
  return ids;
}

function printRunStatus(s: RunStatus): void {
  const accuracy = s.accuracy === undefined ? '' : `, accuracy ${(s.accuracy * 100).toFixed(1)} % on ${s.evaluatedOn}`;
  say(
    `run ${s.runId}: ${s.state}, shards ${s.shards.done}/${s.shards.total}, ${s.images} images, messages ${JSON.stringify(s.events)}${accuracy}`,
  );
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

/** A CLI convenience that polls the run's workspace; the pipeline itself never polls. */
async function waitForRun(
  workspace: S3BlobStore,
  runId: string,
  timeoutSeconds: number,
  ctx: CommandContext,
): Promise<RunStatus> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const status = await runStatus(workspace, runId);
    if (status.shards.total > 0)
      ctx.progress({
        phase: 'extract',
        done: status.shards.done,
        total: status.shards.total,
        message: `run ${runId} (${status.state})`,
      });
    if (status.state === 'done') {
      ctx.progress.end();
      return status;
    }
    if (Date.now() > deadline)
      throw new DataError(
        `run ${runId} not done after ${timeoutSeconds} s (state ${status.state}); see "cnn-codes status --run ${runId}"`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
