// Package firehoseout is weir's Amazon Data Firehose output: outputs go
// out with PutRecordBatch (at most 500 records and 4 MiB per call, 1000
// KiB per record), each followed by a newline so that the delivered
// objects are NDJSON. Entries counted in FailedPutCount are re-sent alone,
// with exponential backoff and full jitter, up to MaxAttempts calls.
package firehoseout

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
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
	client      *firehose.Client
	stream      string
	maxAttempts int
}

// New returns a sink writing to stream with client.
func New(client *firehose.Client, stream string, maxAttempts int) *Sink {
	if maxAttempts <= 0 {
		maxAttempts = awsconf.DefaultMaxAttempts
	}
	return &Sink{client: client, stream: stream, maxAttempts: maxAttempts}
}

// Open is the engine.SinkFactory of the "firehose" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.Load(ctx, oc.Region, oc.MaxAttempts, 0)
	if err != nil {
		return nil, fmt.Errorf("firehose output %q: %w", name, err)
	}
	client := firehose.NewFromConfig(cfg, func(o *firehose.Options) { o.BaseEndpoint = awsconf.EndpointOr(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.Stream, oc.MaxAttempts), nil
}

type entry struct {
	index int
	data  []byte
}

// Write delivers outputs, in calls that respect the service limits.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	var chunk []entry
	size := 0
	for i, o := range outputs {
		d := make([]byte, 0, len(o.Data)+1)
		d = append(append(d, o.Data...), '\n')
		if len(d) > MaxRecordBytes {
			return fmt.Errorf("firehose %s: output %d: %d bytes exceeds the 1000 KiB record limit", s.stream, i, len(d))
		}
		if len(chunk) == MaxRecordsPerCall || size+len(d) > MaxBytesPerCall {
			if err := s.put(ctx, chunk); err != nil {
				return err
			}
			chunk, size = nil, 0
		}
		chunk = append(chunk, entry{i, d})
		size += len(d)
	}
	if len(chunk) > 0 {
		return s.put(ctx, chunk)
	}
	return nil
}

func (s *Sink) put(ctx context.Context, pending []entry) error {
	for attempt := 1; ; attempt++ {
		in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(s.stream), Records: make([]types.Record, len(pending))}
		for i, e := range pending {
			in.Records[i] = types.Record{Data: e.data}
		}
		resp, err := s.client.PutRecordBatch(ctx, in)
		if err != nil {
			return fmt.Errorf("firehose %s: PutRecordBatch of outputs %d-%d: %w", s.stream, pending[0].index, pending[len(pending)-1].index, err)
		}
		if aws.ToInt32(resp.FailedPutCount) == 0 {
			return nil
		}
		var failed []entry
		var code, msg string
		for i, r := range resp.RequestResponses {
			if r.ErrorCode != nil && i < len(pending) {
				failed = append(failed, pending[i])
				code, msg = aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if attempt >= s.maxAttempts {
			return fmt.Errorf("firehose %s: %d records (first: output %d) still failed after %d attempts: %s: %s", s.stream, len(failed), failed[0].index, attempt, code, msg)
		}
		if err := awsconf.Sleep(ctx, awsconf.Backoff(attempt, 50*time.Millisecond, 2*time.Second)); err != nil {
			return fmt.Errorf("firehose %s: re-sending %d records: %w", s.stream, len(failed), err)
		}
		pending = failed
	}
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
