// Package lambdaout is weir's "lambda" output: outputs are sent to
// another Lambda function as the payload of Invoke, a JSON array of the
// outputs (each a JSON document), within the payload limits: 6 MB for
// RequestResponse (the default: the function's result is awaited) and
// 1 MiB for Event (asynchronous: Lambda queues the event and retries the
// function itself). Delivery goes through host/deliver: the SDK retries
// throttling (TooManyRequestsException) and 5xx; a function error of a
// RequestResponse invocation is retried with jittered backoff up to
// max_attempts, then fails the delivery naming the outputs.
package lambdaout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
)

// Payload limits of Invoke (the JSON array's brackets and commas
// included).
const (
	MaxSyncPayloadBytes  = 6_000_000
	MaxAsyncPayloadBytes = 1 << 20
)

// Sink invokes a function with batches of outputs.
type Sink struct {
	client   *lambda.Client
	function string
	invType  types.InvocationType
	d        *deliver.Deliverer[[]byte]
}

// New returns a sink invoking function with client; invocationType is
// "RequestResponse" (default) or "Event".
func New(client *lambda.Client, function, invocationType string, maxAttempts int) *Sink {
	s := &Sink{client: client, function: function, invType: types.InvocationTypeRequestResponse}
	limit := MaxSyncPayloadBytes
	if invocationType == string(types.InvocationTypeEvent) {
		s.invType, limit = types.InvocationTypeEvent, MaxAsyncPayloadBytes
	}
	s.d = deliver.New(deliver.Config[[]byte]{
		Name:   "lambda " + function,
		Op:     "Invoke",
		Noun:   "output",
		Limits: deliver.Limits{MaxBytes: limit - 2, MaxEntryBytes: limit - 2, EntryOverhead: 1},
		Policy: deliver.Policy{MaxAttempts: maxAttempts},
		Send:   s.send,
	})
	return s
}

// Open is the engine.SinkFactory of the "lambda" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("lambda output %q: %w", name, err)
	}
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.Function, oc.InvocationType, oc.MaxAttempts), nil
}

// Write invokes the function with outputs, in as few invocations as the
// payload limit allows. Every output must be JSON.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[[]byte], len(outputs))
	for i, o := range outputs {
		d := bytes.TrimSpace(o.Data)
		if !json.Valid(d) {
			return fmt.Errorf("lambda %s: output %d: not valid JSON (the payload is a JSON array of the outputs)", s.function, i)
		}
		entries[i] = deliver.Entry[[]byte]{Item: d, Size: len(d), First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// send makes one Invoke call.
func (s *Sink) send(ctx context.Context, items [][]byte) ([]deliver.Failure, error) {
	payload := append([]byte{'['}, bytes.Join(items, []byte{','})...)
	payload = append(payload, ']')
	resp, err := s.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(s.function), InvocationType: s.invType, Payload: payload})
	if err != nil {
		return nil, err
	}
	if resp.FunctionError != nil {
		msg := string(resp.Payload)
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, deliver.Retryable(fmt.Errorf("function error (%s): %s", aws.ToString(resp.FunctionError), msg))
	}
	return nil, nil
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
