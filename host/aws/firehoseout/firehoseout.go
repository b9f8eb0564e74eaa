// Package firehoseout is weir's Amazon Data Firehose output: outputs go
// out with PutRecordBatch (at most 500 records and 4 MiB per call, 1000
// KiB per record), each followed by a newline so that the delivered
// objects are NDJSON. Entries counted in FailedPutCount are re-sent alone,
// with exponential backoff and full jitter, up to MaxAttempts calls
// (host/deliver's loop).
package firehoseout

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
)

// Service limits of PutRecordBatch (checked against the API reference in
// December 2026: unchanged, and "these limits cannot be changed").
const (
	MaxRecordsPerCall = 500
	MaxBytesPerCall   = 4 << 20
	MaxRecordBytes    = 1000 << 10
)

// Sink writes outputs to a Firehose delivery stream.
type Sink struct {
	client *firehose.Client
	stream string
	d      *deliver.Deliverer[[]byte]
}

// New returns a sink writing to stream with client.
func New(client *firehose.Client, stream string, maxAttempts int) *Sink {
	if maxAttempts <= 0 {
		maxAttempts = awsconf.DefaultMaxAttempts
	}
	s := &Sink{client: client, stream: stream}
	s.d = deliver.New(deliver.Config[[]byte]{
		Name:   "firehose " + stream,
		Op:     "PutRecordBatch",
		Noun:   "record",
		Limits: deliver.Limits{MaxEntries: MaxRecordsPerCall, MaxBytes: MaxBytesPerCall, MaxEntryBytes: MaxRecordBytes},
		Policy: deliver.Policy{MaxAttempts: maxAttempts},
		Send:   s.put,
	})
	return s
}

// Open is the engine.SinkFactory of the "firehose" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("firehose output %q: %w", name, err)
	}
	client := firehose.NewFromConfig(cfg, func(o *firehose.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.Stream, oc.MaxAttempts), nil
}

// Write delivers outputs, in calls that respect the service limits.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[[]byte], len(outputs))
	for i, o := range outputs {
		d := make([]byte, 0, len(o.Data)+1)
		d = append(append(d, o.Data...), '\n')
		entries[i] = deliver.Entry[[]byte]{Item: d, Size: len(d), First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// put makes one PutRecordBatch call.
func (s *Sink) put(ctx context.Context, records [][]byte) ([]deliver.Failure, error) {
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(s.stream), Records: make([]types.Record, len(records))}
	for i, r := range records {
		in.Records[i] = types.Record{Data: r}
	}
	resp, err := s.client.PutRecordBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	if aws.ToInt32(resp.FailedPutCount) == 0 {
		return nil, nil
	}
	var failed []deliver.Failure
	for i, r := range resp.RequestResponses {
		if r.ErrorCode != nil && i < len(records) {
			// ServiceUnavailableException and InternalFailure: the
			// only per-record errors, both transient.
			failed = append(failed, deliver.Failure{Index: i, Retryable: true, Code: aws.ToString(r.ErrorCode), Message: aws.ToString(r.ErrorMessage)})
		}
	}
	return failed, nil
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
