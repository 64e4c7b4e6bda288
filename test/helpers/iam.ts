import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { awsSettings, type Credentials } from '../../aws/endpoints.js';
import { assumeRole, stsClient, type CfnTemplate, type PolicyStatement } from '../../aws/iam-roles.js';
import { synthPipeline } from '../infra/pipeline-fixture.js';
import { cli } from './serverless.js';

/**
 * IAM enforced in moto: `cnn-codes up --iam` creates the synthesized template's roles and an allow-all user while
 * moto checks nothing; `enforceIam` then makes moto check every later request's signature and the caller's policies
 * (moto's INITIAL_NO_AUTH_ACTION_COUNT, set at run time through /moto-api/reset-auth).
 */

/**
 * The stack synthesized with this context (function bundling skipped), as the JSON `cdk synth` writes. With
 * CNN_CODES_IAM_DROP='ROLE|ACTION|RESOURCE' set, that one grant (the action, on resources whose template JSON contains
 * RESOURCE, in the policies of the role whose logical id starts with ROLE) is removed first: how the closing note
 * shows that each role's needed grants are needed (scripts/iam-grant-removal.sh).
 */
export async function writeTemplate(context: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(
    tmpdir(),
    `cnn-codes-template-${process.pid}-${Object.values(context).join('-') || 'default'}.json`,
  );
  const template = structuredClone(synthPipeline(context).template.toJSON()) as CfnTemplate;
  const drop = process.env.CNN_CODES_IAM_DROP;
  if (drop) dropGrant(template, drop);
  await writeFile(file, JSON.stringify(template));
  return file;
}

function dropGrant(template: CfnTemplate, spec: string): void {
  const [role, action, resource] = spec.split('|') as [string, string, string];
  let dropped = 0;
  let policies = 0;
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const p = r.Properties as { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: PolicyStatement[] } };
    if (!p.Roles.some((ref) => ref.Ref.startsWith(role))) continue;
    policies += 1;
    p.PolicyDocument.Statement = p.PolicyDocument.Statement.flatMap((statement) => {
      const actions = [statement.Action].flat();
      if (!actions.includes(action) || !JSON.stringify(statement.Resource).includes(resource)) return [statement];
      dropped += 1;
      const left = actions.filter((a) => a !== action);
      return left.length > 0 ? [{ ...statement, Action: left }] : [];
    });
  }
  // iam-roles.test.ts installs both deployments' templates: a role or grant may be in one of them only.
  if (policies === 0 || dropped === 0) return void process.stderr.write(`# CNN_CODES_IAM_DROP: not in this template\n`);
  process.stderr.write(`# CNN_CODES_IAM_DROP: removed ${action} on *${resource}* from ${role}\n`);
}

/** What `cnn-codes up --iam --json` prints: the queues it made and the allow-all admin's keys. */
export interface UpUnderIam {
  queues: Record<string, { url: string; deadLetterUrl: string }>;
  iam: { roles: string[]; admin: Credentials };
}

/**
 * The deployment of this synthesis context in moto as the pipeline tests use it: `up --iam` (no bucket notification,
 * a 30 s visibility timeout), then IAM enforced for every later request.
 */
export async function upUnderIam(endpoint: string, bucket: string, context: Record<string, unknown> = {}) {
  const template = await writeTemplate(context);
  const args = ['up', '--bucket', bucket, '--no-notify', '--visibility-timeout', '30', '--iam', template, '--json'];
  const up = JSON.parse(await cli(endpoint, args)) as UpUnderIam;
  await enforceIam(endpoint);
  return up;
}

export async function enforceIam(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!response.ok) throw new Error(`moto refused reset-auth: ${response.status} ${await response.text()}`);
}

/** The environment variables that make an SDK client (or a child process) use these credentials. */
export function credentialsEnv(c: Credentials): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    ...(c.sessionToken ? { AWS_SESSION_TOKEN: c.sessionToken } : {}),
  };
}

/** A role's credentials for one session, assumed with the admin's. */
export async function roleCredentials(
  endpoint: string,
  admin: Credentials,
  role: string,
  session: string,
): Promise<Credentials> {
  const sts = stsClient({ ...awsSettings({ endpoint }, {}), credentials: admin });
  try {
    return await assumeRole(sts, role, session);
  } finally {
    sts.destroy();
  }
}

/** Runs `attempt` and says whether the emulator refused it for want of a permission. */
export async function refused(attempt: () => Promise<unknown>): Promise<boolean> {
  try {
    await attempt();
    return false;
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'AccessDenied' || e.Code === 'AccessDenied' || e.name === 'AccessDeniedException') return true;
    if (e.$metadata?.httpStatusCode === 403) return true;
    throw err;
  }
}
