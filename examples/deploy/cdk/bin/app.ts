#!/usr/bin/env node
// The CDK app of weir's reference deployment (examples/deploy/README.md).
//
//   npx cdk synth                 template with the code location as parameters
//                                 (CodeBucket, CodeKey): what examples/deploy/template.json holds
//   npx cdk deploy -c zip=../../../bin/weir-lambda-arm64.zip --parameters ModulePublicKey=ed25519:...
//                                 the same stack, the zip uploaded as a CDK asset
import * as cdk from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WeirStack } from '../lib/weir-stack';

const app = new cdk.App({ analyticsReporting: false, context: { 'aws:cdk:enable-path-metadata': false } });
const zip: string | undefined = app.node.tryGetContext('zip');
new WeirStack(app, 'WeirStack', {
  description: 'weir reference deployment: Kinesis -> weir (Wasm transforms) -> Kinesis, with AppConfig, DynamoDB, alarms and a dashboard',
  zip,
  // Without an asset there is nothing to bootstrap: the template deploys
  // with plain "aws cloudformation deploy".
  synthesizer: zip ? new cdk.DefaultStackSynthesizer() : new cdk.BootstraplessSynthesizer(),
});
// cdk-nag's AwsSolutions pack: every finding is an error unless the
// resource carries a suppression with its reason (see lib/weir-stack.ts).
cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
