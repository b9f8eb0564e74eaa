// Package snsout is weir's SNS output: outputs are published to a topic
// with PublishBatch (at most 10 messages and 256 KiB per call, 256 KiB
// per message) through host/deliver: entries SNS fails for reasons other
// than the sender's (throttling, internal errors) are re-sent alone with
// jittered backoff; a sender fault, or what is still failing after
// max_attempts, is an error naming the outputs.
package snsout

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
)

// Service limits of PublishBatch: 10 messages, and 256 KiB for each
// message and for the whole call.
const (
	MaxMessagesPerCall = 10
	MaxMessageBytes    = 256 << 10
	MaxBytesPerCall    = 256 << 10
)

// Sink publishes outputs to an SNS topic.
type Sink struct {
	client *sns.Client
	topic  string
	d      *deliver.Deliverer[string]
}

// New returns a sink publishing to topicARN with client.
func New(client *sns.Client, topicARN string, maxAttempts int) *Sink {
	s := &Sink{client: client, topic: topicARN}
	s.d = deliver.New(deliver.Config[string]{
		Name:   "sns " + topicARN,
		Op:     "PublishBatch",
		Noun:   "message",
		Limits: deliver.Limits{MaxEntries: MaxMessagesPerCall, MaxBytes: MaxBytesPerCall, MaxEntryBytes: MaxMessageBytes},
		Policy: deliver.Policy{MaxAttempts: maxAttempts},
		Send:   s.send,
	})
	return s
}

// Open is the engine.SinkFactory of the "sns" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("sns output %q: %w", name, err)
	}
	client := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.TopicARN, oc.MaxAttempts), nil
}

// Write publishes outputs in batches.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[string], len(outputs))
	for i, o := range outputs {
		if len(o.Data) <= MaxMessageBytes && !utf8.Valid(o.Data) {
			return fmt.Errorf("sns %s: output %d: not valid UTF-8 (SNS messages are text)", s.topic, i)
		}
		entries[i] = deliver.Entry[string]{Item: string(o.Data), Size: len(o.Data), First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// send makes one PublishBatch call; entry ids are positions in the call.
func (s *Sink) send(ctx context.Context, msgs []string) ([]deliver.Failure, error) {
	in := &sns.PublishBatchInput{TopicArn: aws.String(s.topic), PublishBatchRequestEntries: make([]types.PublishBatchRequestEntry, len(msgs))}
	for i, m := range msgs {
		in.PublishBatchRequestEntries[i] = types.PublishBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), Message: aws.String(m)}
	}
	resp, err := s.client.PublishBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	return deliver.FailuresByID("PublishBatch", resp.Failed, func(f types.BatchResultErrorEntry) (string, bool, string, string) {
		return aws.ToString(f.Id), f.SenderFault, aws.ToString(f.Code), aws.ToString(f.Message)
	})
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
