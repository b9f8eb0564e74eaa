// Package eventbridgeout is weir's EventBridge output: each output becomes
// the Detail of one event put on a bus with PutEvents (at most 10 entries
// and 256 KiB per call, an entry's size counting its Source, DetailType
// and Detail) through host/deliver: entries failed with
// ThrottlingException or InternalFailure (FailedEntryCount) are re-sent
// alone with jittered backoff; other entry errors, and what is still
// failing after max_attempts, are errors naming the outputs.
package eventbridgeout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
)

// Service limits of PutEvents.
const (
	MaxEntriesPerCall = 10
	MaxBytesPerCall   = 256 << 10
)

// Defaults of the event's Source and DetailType.
const (
	DefaultSource     = "weir"
	DefaultDetailType = "weir.output"
)

// retryableCodes are the entry error codes worth re-sending.
var retryableCodes = map[string]bool{"ThrottlingException": true, "InternalFailure": true, "InternalException": true, "ServiceUnavailable": true}

// Sink puts outputs as events on an event bus.
type Sink struct {
	client                  *eventbridge.Client
	bus, source, detailType string
	d                       *deliver.Deliverer[string]
}

// New returns a sink putting events on bus with client; source and
// detailType are set on every event (defaults DefaultSource and
// DefaultDetailType), bus defaults to "default".
func New(client *eventbridge.Client, bus, source, detailType string, maxAttempts int) *Sink {
	s := &Sink{client: client, bus: bus, source: source, detailType: detailType}
	if s.bus == "" {
		s.bus = "default"
	}
	if s.source == "" {
		s.source = DefaultSource
	}
	if s.detailType == "" {
		s.detailType = DefaultDetailType
	}
	s.d = deliver.New(deliver.Config[string]{
		Name:   "eventbridge " + s.bus,
		Op:     "PutEvents",
		Noun:   "event",
		Limits: deliver.Limits{MaxEntries: MaxEntriesPerCall, MaxBytes: MaxBytesPerCall, MaxEntryBytes: MaxBytesPerCall},
		Policy: deliver.Policy{MaxAttempts: maxAttempts},
		Send:   s.send,
	})
	return s
}

// Open is the engine.SinkFactory of the "eventbridge" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("eventbridge output %q: %w", name, err)
	}
	client := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.EventBus, oc.Source, oc.DetailType, oc.MaxAttempts), nil
}

// Write puts outputs in batches. Every output must be a JSON object (an
// event's Detail).
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[string], len(outputs))
	overhead := len(s.source) + len(s.detailType)
	for i, o := range outputs {
		if !isObject(o.Data) {
			return fmt.Errorf("eventbridge %s: output %d: not a JSON object (an event's Detail must be one)", s.bus, i)
		}
		entries[i] = deliver.Entry[string]{Item: string(o.Data), Size: len(o.Data) + overhead, First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// isObject reports whether b is one JSON object (not null, which
// json.Unmarshal into a map also accepts).
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// send makes one PutEvents call; the answer's Entries are in the order
// of the request's.
func (s *Sink) send(ctx context.Context, details []string) ([]deliver.Failure, error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(details))}
	for i, d := range details {
		in.Entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String(s.bus), Source: aws.String(s.source),
			DetailType: aws.String(s.detailType), Detail: aws.String(d)}
	}
	resp, err := s.client.PutEvents(ctx, in)
	if err != nil {
		return nil, err
	}
	if resp.FailedEntryCount == 0 {
		return nil, nil
	}
	if len(resp.Entries) != len(details) {
		return nil, fmt.Errorf("PutEvents answered %d entries for %d sent, %d failed", len(resp.Entries), len(details), resp.FailedEntryCount)
	}
	var failed []deliver.Failure
	for i, e := range resp.Entries {
		if code := aws.ToString(e.ErrorCode); code != "" {
			failed = append(failed, deliver.Failure{Index: i, Retryable: retryableCodes[code], Code: code, Message: aws.ToString(e.ErrorMessage)})
		}
	}
	return failed, nil
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
