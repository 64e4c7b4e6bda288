import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { synthPipeline } from './pipeline-fixture.js';

// cdk-nag 3 is a validation plugin: it reports to `cdk synth` (which fails on any finding) instead of adding
// annotations, so the tests call the same check directly and read its report.
const findings = (stack: Stack) =>
  new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.map(
      (v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );

const variants: Record<string, Record<string, unknown>> = {
  gpu: {},
  cpu: { extractCompute: 'cpu' },
  storageOnly: { storageOnly: true },
};

for (const [variant, context] of Object.entries(variants)) {
  test(`${variant}: AwsSolutionsChecks leaves no error or warning unacknowledged`, () => {
    const { stack } = synthPipeline(context);
    assert.deepEqual(findings(stack), []);
  });

  test(`${variant}: CDK itself reports no warning or error`, () => {
    const annotations = Annotations.fromStack(synthPipeline(context).stack);
    assert.deepEqual(annotations.findWarning('*', Match.anyValue()), []);
    assert.deepEqual(annotations.findError('*', Match.anyValue()), []);
  });
}

test('every acknowledged finding is an IAM managed-policy, IAM wildcard-resource or log-bucket rule, with its reason', () => {
  const { stack } = synthPipeline();
  const acknowledged: Array<[string, string]> = [];
  for (const construct of stack.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        if (rule.startsWith('Annotation::AwsSolutions-'))
          acknowledged.push([rule.slice('Annotation::'.length), reason]);
      }
    }
  }
  assert.ok(acknowledged.length > 0);
  for (const [rule, reason] of acknowledged) {
    assert.match(
      rule,
      /^AwsSolutions-(S1|IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/[A-Za-z0-9]+\]|IAM5\[Resource::.+\])$/,
    );
    assert.ok(reason.length >= 40, `${rule}: "${reason}" is not a reason`);
  }
  // Wildcard resources are acknowledged only for object prefixes, Batch's log group and the two APIs without ARNs.
  const wildcards = new Set(
    acknowledged.filter(([rule]) => rule.startsWith('AwsSolutions-IAM5')).map(([rule]) => rule),
  );
  for (const rule of wildcards) {
    assert.match(
      rule,
      /\[Resource::(<StorageData[0-9A-F]+\.Arn>\/(datasets|cache|cache\/sources|runs|models)\/\*|arn:<AWS::Partition>:logs:.*:log-group:\/aws\/batch\/job:\*|arn:<AWS::Partition>:states:.*:execution:[\w-]+-run:\*|\*)\]$/,
    );
  }
});

test('the check is live: an unencrypted queue without a DLQ is reported', () => {
  const stack = new Stack(new App(), 'Probe');
  new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
  const found = findings(stack).join('\n');
  assert.match(found, /AwsSolutions-SQS3/);
  assert.match(found, /AwsSolutions-SQS4/);
});
