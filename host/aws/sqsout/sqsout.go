// Package sqsout is weir's SQS output: outputs go out with
// SendMessageBatch (at most 10 messages and 1 MiB per call, 1 MiB per
// message). Failed entries that are not the sender's fault are re-sent
// alone with exponential backoff and full jitter (host/deliver's loop);
// sender faults are errors naming the outputs.
package sqsout

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
)

// Service limits of SendMessageBatch (1 MiB since AWS raised them from
// 256 KiB; checked December 2026). A queue whose MaximumMessageSize is
// set lower refuses larger messages itself: a sender fault, an error
// naming the output.
const (
	MaxMessagesPerCall = 10
	MaxMessageBytes    = 1 << 20
	MaxBytesPerCall    = 1 << 20
)

// Sink sends outputs to an SQS queue.
type Sink struct {
	client   *sqs.Client
	queueURL string
	d        *deliver.Deliverer[string]
}

// New returns a sink sending to queueURL with client.
func New(client *sqs.Client, queueURL string, maxAttempts int) *Sink {
	if maxAttempts <= 0 {
		maxAttempts = awsconf.DefaultMaxAttempts
	}
	s := &Sink{client: client, queueURL: queueURL}
	s.d = deliver.New(deliver.Config[string]{
		Name:   "sqs " + queueURL,
		Op:     "SendMessageBatch",
		Noun:   "message",
		Limits: deliver.Limits{MaxEntries: MaxMessagesPerCall, MaxBytes: MaxBytesPerCall, MaxEntryBytes: MaxMessageBytes},
		Policy: deliver.Policy{MaxAttempts: maxAttempts},
		Send:   s.send,
	})
	return s
}

// Open is the engine.SinkFactory of the "sqs" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("sqs output %q: %w", name, err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint) })
	return New(client, oc.QueueURL, oc.MaxAttempts), nil
}

// Write sends outputs in batches.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[string], len(outputs))
	for i, o := range outputs {
		if len(o.Data) <= MaxMessageBytes && !utf8.Valid(o.Data) {
			return fmt.Errorf("sqs %s: output %d: not valid UTF-8 (SQS message bodies are text)", s.queueURL, i)
		}
		entries[i] = deliver.Entry[string]{Item: string(o.Data), Size: len(o.Data), First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// send makes one SendMessageBatch call; entry ids are positions in the
// call.
func (s *Sink) send(ctx context.Context, bodies []string) ([]deliver.Failure, error) {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.queueURL), Entries: make([]types.SendMessageBatchRequestEntry, len(bodies))}
	for i, b := range bodies {
		in.Entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
	}
	resp, err := s.client.SendMessageBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	failed := make([]deliver.Failure, 0, len(resp.Failed))
	for _, f := range resp.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil {
			return nil, fmt.Errorf("SendMessageBatch failed an entry with unknown id %q", aws.ToString(f.Id))
		}
		failed = append(failed, deliver.Failure{Index: i, Retryable: !f.SenderFault, Code: aws.ToString(f.Code), Message: aws.ToString(f.Message)})
	}
	return failed, nil
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
