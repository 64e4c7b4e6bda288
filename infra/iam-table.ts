import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type Stack } from 'aws-cdk-lib';
import { EMULATOR_ACCOUNT, rolesFromTemplate, type CfnTemplate, type PolicyStatement } from '../aws/iam-roles.js';
import { readConfig, REPO_ROOT } from './config.js';
import { PipelineStack } from './pipeline-stack.js';

/**
 * The roles of a synthesized template and what each may do, as a Markdown table: the closing note's and
 * docs/iam.md's, generated rather than written. `node dist/infra/iam-table.js` prints both deployments' tables (GPU,
 * the default, and CPU); test/infra/service-limits.test.ts keeps docs/iam.md equal to it.
 */

const NAMES = { bucket: 'BUCKET', queuePrefix: 'Q', region: 'us-east-1', account: EMULATOR_ACCOUNT };

/** An ARN as the table shows it: `s3 cache/*`, `sqs run-dlq`, or the ARN itself for what the emulator does not host. */
function shortResource(arn: string): string {
  if (arn === 'arn:aws:s3:::BUCKET') return 's3 bucket';
  if (arn.startsWith('arn:aws:s3:::BUCKET/')) return `s3 ${arn.slice('arn:aws:s3:::BUCKET/'.length)}`;
  const queue = `arn:aws:sqs:${NAMES.region}:${NAMES.account}:${NAMES.queuePrefix}-`;
  if (arn.startsWith(queue)) return `sqs ${arn.slice(queue.length)}`;
  return arn.replaceAll(NAMES.account, 'ACCOUNT').replaceAll(NAMES.region, 'REGION');
}

function condition(statement: PolicyStatement): string {
  if (!statement.Condition) return '';
  const parts = Object.entries(statement.Condition).flatMap(([op, keys]) =>
    Object.entries(keys).map(([key, values]) => `${key} ${op} ${[values].flat().join(', ')}`),
  );
  return ` (${parts.join('; ')})`;
}

export function iamTable(template: CfnTemplate): string {
  const rows = ['| Role | Trusted by | Actions | Resources |', '| --- | --- | --- | --- |'];
  for (const role of rolesFromTemplate(template, NAMES)) {
    const byActions = new Map<string, string[]>();
    for (const statement of role.policies.flatMap((p) => p.statements)) {
      if (statement.Effect !== 'Allow') continue;
      const actions = [statement.Action].flat().join(', ');
      const resources = [statement.Resource].flat().map((r) => `${shortResource(r)}${condition(statement)}`);
      byActions.set(actions, [...(byActions.get(actions) ?? []), ...resources]);
    }
    const managed = role.managedPolicies.map((arn) => `managed ${arn.slice(arn.lastIndexOf('/') + 1)}`);
    const entries = [...byActions.entries()].map(([actions, resources]) => [actions, resources.join('; ')]);
    if (managed.length > 0) entries.push(['(managed policy)', managed.join('; ')]);
    if (entries.length === 0) entries.push(['(none)', '']);
    entries.forEach(([actions, resources], i) =>
      rows.push(
        `| ${i === 0 ? role.name : ''} | ${i === 0 ? role.trustedServices.join(', ') : ''} | ${actions} | ${resources} |`,
      ),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** The stack synthesized with cdk.json's context plus `context`, function bundling skipped (policies do not need it). */
export function synthesizedTemplate(context: Record<string, unknown> = {}): CfnTemplate {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context },
    outdir: mkdtempSync(path.join(tmpdir(), 'cnn-codes-iam-')),
  });
  const config = readConfig(app.node);
  const stack: Stack = new PipelineStack(app, config.stackName, { config });
  return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
}

/** Both deployments' tables, as docs/iam.md holds them. */
export function iamTables(synth: (context: Record<string, unknown>) => CfnTemplate = synthesizedTemplate): string {
  return [
    '### GPU deployment (`extractCompute=gpu`, the default)\n',
    iamTable(synth({})),
    '\n### CPU deployment (`extractCompute=cpu`)\n',
    iamTable(synth({ extractCompute: 'cpu' })),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.stdout.write(iamTables());
