// Package sqsout is weir's SQS output: outputs go out with
// SendMessageBatch (at most 10 messages and 1 MiB per call, 1 MiB per
// message). Failed entries that are not the sender's fault are re-sent
// alone with exponential backoff and full jitter (host/deliver's loop);
// sender faults are errors naming the outputs.
//
// On a FIFO queue (URL ending in .fifo) every message gets a group id
// (from Options.GroupKey, else DefaultGroup) and a deduplication id (from
// Options.DedupKey, else the body's SHA-256), so a message re-sent after
// a failure within SQS's five-minute deduplication window is stored once.
// Order within a group holds when no entry fails; an entry re-sent after
// a partial failure is queued after the group's later messages of the
// same call.
package sqsout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/tidwall/gjson"

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
	client *sqs.Client
	opts   Options
	fifo   bool
	d      *deliver.Deliverer[message]
}

// Options configure a Sink.
type Options struct {
	// QueueURL is the queue; a name ending in .fifo is a FIFO queue.
	QueueURL string
	// MaxAttempts bounds the calls made for one batch's failed entries
	// (default awsconf.DefaultMaxAttempts).
	MaxAttempts int
	// GroupKey is a JSON path (gjson) whose value is a FIFO message's
	// group id; empty, or a missing value: DefaultGroup.
	GroupKey string
	// DedupKey is a JSON path whose value is a FIFO message's
	// deduplication id; empty, or a missing value: the SHA-256 of the
	// body in hex.
	DedupKey string
}

// DefaultGroup is the message group of FIFO messages without a group
// key value: one group, so strict order.
const DefaultGroup = "weir"

// message is one SQS message to send.
type message struct {
	body, group, dedup string
}

// New returns a sink sending to queueURL with client.
func New(client *sqs.Client, queueURL string, maxAttempts int) *Sink {
	return NewWithOptions(client, Options{QueueURL: queueURL, MaxAttempts: maxAttempts})
}

// NewWithOptions returns a sink configured by opts.
func NewWithOptions(client *sqs.Client, opts Options) *Sink {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = awsconf.DefaultMaxAttempts
	}
	s := &Sink{client: client, opts: opts, fifo: engine.IsFIFOQueue(opts.QueueURL)}
	s.d = deliver.New(deliver.Config[message]{
		Name:   "sqs " + opts.QueueURL,
		Op:     "SendMessageBatch",
		Noun:   "message",
		Limits: deliver.Limits{MaxEntries: MaxMessagesPerCall, MaxBytes: MaxBytesPerCall, MaxEntryBytes: MaxMessageBytes},
		Policy: deliver.Policy{MaxAttempts: opts.MaxAttempts},
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
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) })
	return NewWithOptions(client, Options{QueueURL: oc.QueueURL, MaxAttempts: oc.MaxAttempts, GroupKey: oc.MessageGroupKey, DedupKey: oc.DedupKey}), nil
}

// MaxIDChars is the longest FIFO group or deduplication id.
const MaxIDChars = 128

// fifoID makes v a valid FIFO group or deduplication id: characters
// outside ASCII 33-126 become "_"; a value longer than MaxIDChars is
// replaced by its SHA-256 in hex.
func fifoID(v string) string {
	if len(v) > MaxIDChars {
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:])
	}
	return strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, v)
}

// fifoIDs returns the group and deduplication ids of a FIFO message.
func (s *Sink) fifoIDs(data []byte) (group, dedup string) {
	group = DefaultGroup
	if s.opts.GroupKey != "" {
		if v := gjson.GetBytes(data, s.opts.GroupKey).String(); v != "" {
			group = fifoID(v)
		}
	}
	if s.opts.DedupKey != "" {
		if v := gjson.GetBytes(data, s.opts.DedupKey).String(); v != "" {
			return group, fifoID(v)
		}
	}
	sum := sha256.Sum256(data)
	return group, hex.EncodeToString(sum[:])
}

// Write sends outputs in batches.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[message], len(outputs))
	for i, o := range outputs {
		if len(o.Data) <= MaxMessageBytes && !utf8.Valid(o.Data) {
			return fmt.Errorf("sqs %s: output %d: not valid UTF-8 (SQS message bodies are text)", s.opts.QueueURL, i)
		}
		m := message{body: string(o.Data)}
		if s.fifo {
			m.group, m.dedup = s.fifoIDs(o.Data)
		}
		entries[i] = deliver.Entry[message]{Item: m, Size: len(o.Data), First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// send makes one SendMessageBatch call; entry ids are positions in the
// call.
func (s *Sink) send(ctx context.Context, msgs []message) ([]deliver.Failure, error) {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.opts.QueueURL), Entries: make([]types.SendMessageBatchRequestEntry, len(msgs))}
	for i, m := range msgs {
		in.Entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.body)}
		if s.fifo {
			in.Entries[i].MessageGroupId = aws.String(m.group)
			in.Entries[i].MessageDeduplicationId = aws.String(m.dedup)
		}
	}
	resp, err := s.client.SendMessageBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	return deliver.FailuresByID("SendMessageBatch", resp.Failed, func(f types.BatchResultErrorEntry) (string, bool, string, string) {
		return aws.ToString(f.Id), f.SenderFault, aws.ToString(f.Code), aws.ToString(f.Message)
	})
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
