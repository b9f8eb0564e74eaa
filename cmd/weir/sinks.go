package main

import "github.com/weirhq/weir/host/sinks"

// The AWS outputs (kinesis, firehose, s3, sqs, dynamodb, sns, eventbridge,
// lambda) and the http output are available to
// "weir run" as in Lambda.
func init() { sinks.Register() }
