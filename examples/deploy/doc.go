// Package deploy holds weir's reference deployment: the CDK app in cdk/,
// the CloudFormation template it synthesizes (template.json, checked in),
// and the runbook (README.md). It has no Go API: its test reads
// template.json and checks it against weir's code: the function's
// environment against what the bootstrap reads (lambda.Env), the pipeline
// held in AppConfig against the configuration parser, the metrics of the
// alarms and dashboard against what the handler emits, and the function's
// permissions against the README's table.
package deploy
