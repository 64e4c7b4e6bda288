import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { credentialsOf, type AwsSettings, type Credentials } from './endpoints.js';

/**
 * The IAM roles of a synthesized CloudFormation template (`cdk synth`), made concrete for an emulator: every
 * `AWS::IAM::Role` with exactly the policies the template attaches to it (its `AWS::IAM::Policy` resources and inline
 * `Policies`), their `Ref`/`Fn::GetAtt`/`Fn::Join`/`Fn::Sub` resolved to the names `cnn-codes up` gives the bucket and
 * queues. `cnn-codes up --iam TEMPLATE` creates them; `cnn-codes worker --role NAME` runs as one (STS AssumeRole).
 */

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown }>;
}

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface TemplateRole {
  /** The role's logical id without CDK's hash suffix: stable across synths, unique in a template. */
  name: string;
  logicalId: string;
  /** Who the template lets assume it (lambda.amazonaws.com, ecs-tasks.amazonaws.com, …). */
  trustedServices: string[];
  /** Managed policies as their ARNs: recorded, not attached (AWS's own, for logs, ECS and EC2; never S3 or SQS). */
  managedPolicies: string[];
  policies: Array<{ name: string; statements: PolicyStatement[] }>;
}

/** Where the emulator's resources are: the names `cnn-codes up` gives them. */
export interface EmulatorNames {
  bucket: string;
  queuePrefix: string;
  region: string;
  account: string;
}

/** moto's (and LocalStack's) default account. */
export const EMULATOR_ACCOUNT = '123456789012';

const HASH_SUFFIX = /[0-9A-F]{8}$/;

/** A logical id without the 8-hex-digit suffix CDK appends. */
export function baseId(logicalId: string): string {
  return logicalId.replace(HASH_SUFFIX, '');
}

const kebab = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * The emulator's name for each template queue: a WorkQueue construct `TrainBatch` has `TrainBatchQueue…` and
 * `TrainBatchDeadLetter…`, which `up` names `<prefix>-train-batch` and `<prefix>-train-batch-dlq` (the stages' queues
 * are `names.ts`'s `<prefix>-<stage>`).
 */
export function templateQueueNames(template: CfnTemplate, queuePrefix: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::SQS::Queue') continue;
    const base = baseId(id);
    const m = /^(.*?)(Queue|DeadLetter)$/.exec(base);
    if (!m) throw new Error(`queue ${id} is not a WorkQueue's Queue or DeadLetter: name it in templateQueueNames`);
    names.set(id, `${queuePrefix}-${kebab(m[1]!)}${m[2] === 'DeadLetter' ? '-dlq' : ''}`);
  }
  return names;
}

/** The data bucket: the one the stack outputs as BucketName. */
function dataBucketId(template: CfnTemplate): string {
  const ref = (template.Outputs?.BucketName?.Value as { Ref?: string } | undefined)?.Ref;
  if (!ref) throw new Error('the template has no BucketName output naming its data bucket');
  return ref;
}

/** Values of `Ref` and `Fn::GetAtt` in the emulator; resources it does not host get placeholder ARNs. */
function resolver(template: CfnTemplate, names: EmulatorNames) {
  const queues = templateQueueNames(template, names.queuePrefix);
  const dataBucket = dataBucketId(template);
  const { region, account } = names;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'CnnCodes',
    'AWS::NoValue': '',
  };
  const bucketName = (id: string) => (id === dataBucket ? names.bucket : `${names.bucket}-${kebab(baseId(id))}`);
  const placeholder = (id: string) => {
    const type = template.Resources[id]?.Type ?? 'Unknown';
    const [, service = 'unknown', kind = 'resource'] = type.split('::');
    return `arn:aws:${service.toLowerCase()}:${region}:${account}:${kebab(kind)}/${id}`;
  };
  const ref = (id: string): string => {
    if (pseudo[id] !== undefined) return pseudo[id];
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::S3::Bucket') return bucketName(id);
    if (type === 'AWS::SQS::Queue') return `https://sqs.${region}.amazonaws.com/${account}/${queues.get(id)}`;
    if (type === 'AWS::IAM::Role') return baseId(id);
    return placeholder(id);
  };
  const getAtt = (id: string, attribute: string): string => {
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:aws:s3:::${bucketName(id)}`;
    if (type === 'AWS::SQS::Queue' && attribute === 'Arn') return `arn:aws:sqs:${region}:${account}:${queues.get(id)}`;
    if (type === 'AWS::SQS::Queue' && attribute === 'QueueName') return queues.get(id)!;
    if (type === 'AWS::IAM::Role' && attribute === 'Arn') return `arn:aws:iam::${account}:role/${baseId(id)}`;
    return attribute.endsWith('Arn') ? placeholder(id) : `${placeholder(id)}/${attribute}`;
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!value || typeof value !== 'object') return value;
    const v = value as Record<string, unknown>;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = v[key];
      if (key === 'Ref') return ref(arg as string);
      if (key === 'Fn::GetAtt') {
        const [id, attribute] =
          typeof arg === 'string' ? (arg.split('.') as [string, string]) : (arg as [string, string]);
        return getAtt(id, attribute);
      }
      if (key === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(sep);
      }
      if (key === 'Fn::Select') {
        const [index, list] = arg as [number | string, unknown];
        return (resolve(list) as unknown[])[Number(index)];
      }
      if (key === 'Fn::Split') {
        const [sep, text] = arg as [string, unknown];
        return (resolve(text) as string).split(sep);
      }
      if (key === 'Fn::Sub') {
        const [text, vars = {}] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (name in vars) return String(resolve(vars[name]));
          const [id, attribute] = name.split('.') as [string, string | undefined];
          return attribute ? getAtt(id, attribute) : ref(id);
        });
      }
      if (key.startsWith('Fn::')) throw new Error(`${key} is not resolved for the emulator`);
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  };
  // The stack's state machine (`<stack>-run`) is `<prefix>-run` in the emulator, as `cnn-codes up` names it.
  const machine = /(:states:[^:]*:[^:]*:(?:stateMachine|execution):)[A-Za-z0-9_-]+-run(?=$|:)/;
  const renamed = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.replace(machine, `$1${names.queuePrefix}-run`)
      : Array.isArray(v)
        ? v.map(renamed)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renamed(x)]))
          : v;
  return (v: unknown) => renamed(resolve(v));
}

const asList = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** Every IAM role of the template with its policies, resolved to the emulator's ARNs; sorted by name. */
export function rolesFromTemplate(template: CfnTemplate, names: EmulatorNames): TemplateRole[] {
  const resolve = resolver(template, names);
  const roles = new Map<string, TemplateRole>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const p = r.Properties ?? {};
    const trust = (p.AssumeRolePolicyDocument as { Statement: Array<{ Principal?: { Service?: string | string[] } }> })
      .Statement;
    const inline = asList(p.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined);
    roles.set(id, {
      name: baseId(id),
      logicalId: id,
      trustedServices: trust.flatMap((s) => asList(s.Principal?.Service)),
      managedPolicies: asList(resolve(p.ManagedPolicyArns) as string[] | undefined),
      policies: inline.map((x) => ({
        name: x.PolicyName,
        statements: (resolve(x.PolicyDocument) as { Statement: PolicyStatement[] }).Statement,
      })),
    });
  }
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const p = r.Properties as { Roles?: Array<{ Ref: string }>; PolicyDocument: unknown };
    const statements = (resolve(p.PolicyDocument) as { Statement: PolicyStatement[] }).Statement;
    for (const role of p.Roles ?? []) roles.get(role.Ref)?.policies.push({ name: baseId(id), statements });
  }
  return [...roles.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Every queue the template declares, by its emulator name: what `up --iam` creates beyond the stages' queues. */
export function queuesOfTemplate(template: CfnTemplate, queuePrefix: string): string[] {
  return [...templateQueueNames(template, queuePrefix).values()].sort();
}

export function iamClient(settings: AwsSettings): IAMClient {
  return new IAMClient(clientConfig(settings));
}

export function stsClient(settings: AwsSettings): STSClient {
  return new STSClient(clientConfig(settings));
}

function clientConfig(settings: AwsSettings) {
  return {
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...credentialsOf(settings),
  };
}

/**
 * Creates (or brings up to date) each role with exactly its template policies, inline. In the emulator any principal
 * may assume a role (moto matches trust principals literally): the services the template trusts run nothing there,
 * the workers that stand in for them assume it instead.
 */
export async function installRoles(
  iam: IAMClient,
  roles: TemplateRole[],
  account = EMULATOR_ACCOUNT,
): Promise<string[]> {
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
  });
  const arns: string[] = [];
  for (const role of roles) {
    const existing = await iam.send(new GetRoleCommand({ RoleName: role.name })).catch((err: { name?: string }) => {
      if (err.name === 'NoSuchEntityException' || err.name === 'NoSuchEntity') return undefined;
      throw err;
    });
    if (existing) {
      await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role.name, PolicyDocument: trust }));
      const { PolicyNames = [] } = await iam.send(new ListRolePoliciesCommand({ RoleName: role.name }));
      for (const name of PolicyNames)
        await iam.send(new DeleteRolePolicyCommand({ RoleName: role.name, PolicyName: name }));
    } else {
      await iam.send(
        new CreateRoleCommand({
          RoleName: role.name,
          AssumeRolePolicyDocument: trust,
          Description: `${role.logicalId}: trusted by ${role.trustedServices.join(', ') || 'nobody'} in the template`,
        }),
      );
    }
    for (const policy of role.policies) {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: role.name,
          PolicyName: policy.name,
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: policy.statements }),
        }),
      );
    }
    arns.push(`arn:aws:iam::${account}:role/${role.name}`);
  }
  return arns;
}

/**
 * A user allowed everything, with a fresh access key (its older keys deleted): the operator's identity (submit,
 * status, tests' own reads) once the emulator enforces IAM. Emulator only: a deployment has its own operators.
 */
export async function installAdmin(iam: IAMClient, userName: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: userName })).catch((err: { name?: string }) => {
    if (err.name !== 'EntityAlreadyExistsException' && err.name !== 'EntityAlreadyExists') throw err;
  });
  await iam.send(
    new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: 'everything',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    }),
  );
  const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  for (const key of AccessKeyMetadata)
    await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId! }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

/** Credentials of `roleName` for one session, from STS AssumeRole with the caller's own credentials. */
export async function assumeRole(
  sts: STSClient,
  roleName: string,
  sessionName: string,
  account = EMULATOR_ACCOUNT,
): Promise<Credentials> {
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${account}:role/${roleName}`,
      RoleSessionName: sessionName.slice(0, 64).padEnd(2, '-'),
      DurationSeconds: 3600,
    }),
  );
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error(`AssumeRole ${roleName}: no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}
