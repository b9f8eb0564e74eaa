// Package sinks plugs weir's AWS outputs (kinesis, firehose, s3, sqs,
// dynamodb, sns, eventbridge, lambda) and the http output into the engine's sink registry. The engine does not import
// the AWS SDK; the commands (weir, bootstrap) call Register.
package sinks

import (
	"sync"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/dynamodbout"
	"github.com/weirhq/weir/host/aws/eventbridgeout"
	"github.com/weirhq/weir/host/aws/firehoseout"
	"github.com/weirhq/weir/host/aws/kinesisout"
	"github.com/weirhq/weir/host/aws/lambdaout"
	"github.com/weirhq/weir/host/aws/s3out"
	"github.com/weirhq/weir/host/aws/snsout"
	"github.com/weirhq/weir/host/aws/sqsout"
	"github.com/weirhq/weir/host/httpout"
)

var once sync.Once

// Register registers the AWS output types with engine.RegisterSink. It
// may be called more than once.
func Register() {
	once.Do(func() {
		engine.RegisterSink(engine.OutputKinesis, kinesisout.Open)
		engine.RegisterSink(engine.OutputFirehose, firehoseout.Open)
		engine.RegisterSink(engine.OutputS3, s3out.Open)
		engine.RegisterSink(engine.OutputSQS, sqsout.Open)
		engine.RegisterSink(engine.OutputDynamoDB, dynamodbout.Open)
		engine.RegisterSink(engine.OutputSNS, snsout.Open)
		engine.RegisterSink(engine.OutputEventBridge, eventbridgeout.Open)
		engine.RegisterSink(engine.OutputLambda, lambdaout.Open)
		engine.RegisterSink(engine.OutputHTTP, httpout.Open)
	})
}
