import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../infra/config.js';
import { PipelineStack } from '../../infra/pipeline-stack.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** cdk.json's context (defaults and feature flags), so tests build what `cdk synth` builds. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

export interface SynthesizedPipeline {
  app: App;
  stack: PipelineStack;
  template: Template;
  resources: Record<string, CfnResourceJson>;
}

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
}

const cache = new Map<string, SynthesizedPipeline>();

/**
 * The stack built in-process with the given context, synthesized once per context into a temporary folder (not the
 * repository's cdk.out). Function bundling is skipped here, as it takes most of a synth: cdk-synth.test.ts runs
 * the real `cdk synth`, bundles included.
 */
export function synthPipeline(context: Record<string, unknown> = {}): SynthesizedPipeline {
  const key = JSON.stringify(context);
  const cached = cache.get(key);
  if (cached) return cached;
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
    outdir: mkdtempSync(path.join(tmpdir(), 'cnn-codes-cdk-')),
  });
  const config = readConfig(app.node);
  const stack = new PipelineStack(app, config.stackName, { config });
  const template = Template.fromStack(stack);
  const built = { app, stack, template, resources: template.toJSON().Resources as Record<string, CfnResourceJson> };
  cache.set(key, built);
  return built;
}

export function resourcesOfType(pipeline: SynthesizedPipeline, type: string): Array<[string, CfnResourceJson]> {
  return Object.entries(pipeline.resources).filter(([, r]) => r.Type === type);
}

/** `{ Ref: id }` or `{ 'Fn::GetAtt': [id, attr] }` → id; anything else → undefined. */
export function referencedId(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    return v.Ref ?? v['Fn::GetAtt']?.[0];
  }
  return undefined;
}
