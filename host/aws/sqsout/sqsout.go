// Package sqsout is weir's SQS output: outputs go out with
// SendMessageBatch (at most 10 messages and 1 MiB per call, 1 MiB per
// message). Failed
// entries that are not the sender's fault are re-sent with exponential
// backoff and full jitter; sender faults are errors naming the output.
package sqsout

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
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
	client      *sqs.Client
	queueURL    string
	maxAttempts int
}

// New returns a sink sending to queueURL with client.
func New(client *sqs.Client, queueURL string, maxAttempts int) *Sink {
	if maxAttempts <= 0 {
		maxAttempts = awsconf.DefaultMaxAttempts
	}
	return &Sink{client: client, queueURL: queueURL, maxAttempts: maxAttempts}
}

// Open is the engine.SinkFactory of the "sqs" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.Load(ctx, oc.Region, oc.MaxAttempts, 0)
	if err != nil {
		return nil, fmt.Errorf("sqs output %q: %w", name, err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = awsconf.EndpointOr(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.QueueURL, oc.MaxAttempts), nil
}

// Write sends outputs in batches.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	var chunk []int
	size := 0
	for i, o := range outputs {
		if len(o.Data) > MaxMessageBytes {
			return fmt.Errorf("sqs %s: output %d: %d bytes exceeds the 1 MiB message limit", s.queueURL, i, len(o.Data))
		}
		if !utf8.Valid(o.Data) {
			return fmt.Errorf("sqs %s: output %d: not valid UTF-8 (SQS message bodies are text)", s.queueURL, i)
		}
		if len(chunk) == MaxMessagesPerCall || size+len(o.Data) > MaxBytesPerCall {
			if err := s.send(ctx, outputs, chunk); err != nil {
				return err
			}
			chunk, size = nil, 0
		}
		chunk = append(chunk, i)
		size += len(o.Data)
	}
	if len(chunk) > 0 {
		return s.send(ctx, outputs, chunk)
	}
	return nil
}

func (s *Sink) send(ctx context.Context, outputs []engine.Output, pending []int) error {
	for attempt := 1; ; attempt++ {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.queueURL)}
		for _, i := range pending {
			in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(outputs[i].Data))})
		}
		resp, err := s.client.SendMessageBatch(ctx, in)
		if err != nil {
			return fmt.Errorf("sqs %s: SendMessageBatch of outputs %d-%d: %w", s.queueURL, pending[0], pending[len(pending)-1], err)
		}
		if len(resp.Failed) == 0 {
			return nil
		}
		var retry []int
		for _, f := range resp.Failed {
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			if f.SenderFault {
				return fmt.Errorf("sqs %s: output %d refused: %s: %s", s.queueURL, i, aws.ToString(f.Code), aws.ToString(f.Message))
			}
			retry = append(retry, i)
		}
		if attempt >= s.maxAttempts {
			f := resp.Failed[0]
			return fmt.Errorf("sqs %s: %d messages (first: output %d) still failed after %d attempts: %s: %s", s.queueURL, len(retry), retry[0], attempt, aws.ToString(f.Code), aws.ToString(f.Message))
		}
		if err := awsconf.Sleep(ctx, awsconf.Backoff(attempt, 50*time.Millisecond, 2*time.Second)); err != nil {
			return fmt.Errorf("sqs %s: re-sending %d messages: %w", s.queueURL, len(retry), err)
		}
		pending = retry
	}
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
