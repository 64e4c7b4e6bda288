import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.js';
import { PipelineStack } from './pipeline-stack.js';

const app = new App();
// cdk-nag 3 is a validation plugin: synth fails on any AwsSolutions finding not acknowledged in code with a reason.
// The acknowledgements are also written into the template's metadata, where a reviewer of the template sees them.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
const config = readConfig(app.node);
new PipelineStack(app, config.stackName, {
  config,
  description: 'cnn-codes: CNN codes pipeline (S3, SQS, Batch GPU extract, Lambda heads, fine-tune)',
});
app.synth();
