// Package dynamodbout is weir's DynamoDB output, so that any log can
// become context for another pipeline: every output (a JSON object
// holding the table's key attributes) is written as one item with
// BatchWriteItem (at most 25 items per call). UnprocessedItems are
// re-sent with exponential backoff and full jitter.
package dynamodbout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
)

// MaxItemsPerCall is BatchWriteItem's limit.
const MaxItemsPerCall = 25

// MaxItemBytes is DynamoDB's item size limit (400 KB; unchanged as of
// December 2026).
const MaxItemBytes = 400 << 10

// Sink writes outputs as items of one table.
type Sink struct {
	client      *dynamodb.Client
	table       string
	maxAttempts int
}

// New returns a sink writing to table with client.
func New(client *dynamodb.Client, table string, maxAttempts int) *Sink {
	if maxAttempts <= 0 {
		maxAttempts = awsconf.DefaultMaxAttempts
	}
	return &Sink{client: client, table: table, maxAttempts: maxAttempts}
}

// Open is the engine.SinkFactory of the "dynamodb" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.Load(ctx, oc.Region, oc.MaxAttempts, 0)
	if err != nil {
		return nil, fmt.Errorf("dynamodb output %q: %w", name, err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsconf.EndpointOr(oc.Endpoint, o.BaseEndpoint) })
	return New(client, oc.Table, oc.MaxAttempts), nil
}

// Item converts a JSON object into a DynamoDB item: strings to S, numbers
// to N (exact text), booleans to BOOL, null to NULL, arrays to L, objects
// to M.
func Item(data []byte) (map[string]types.AttributeValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return attr(m).(*types.AttributeValueMemberM).Value, nil
}

func attr(v any) types.AttributeValue {
	switch x := v.(type) {
	case string:
		return &types.AttributeValueMemberS{Value: x}
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			l[i] = attr(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			m[k] = attr(e)
		}
		return &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}

// Write writes every output as an item.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	var reqs []types.WriteRequest
	for i, o := range outputs {
		if len(o.Data) > MaxItemBytes {
			return fmt.Errorf("dynamodb %s: output %d: %d bytes exceeds the 400 KB item limit", s.table, i, len(o.Data))
		}
		item, err := Item(o.Data)
		if err != nil {
			return fmt.Errorf("dynamodb %s: output %d: %w", s.table, i, err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for start := 0; start < len(reqs); start += MaxItemsPerCall {
		end := min(start+MaxItemsPerCall, len(reqs))
		if err := s.batch(ctx, reqs[start:end], start); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) batch(ctx context.Context, pending []types.WriteRequest, first int) error {
	for attempt := 1; ; attempt++ {
		resp, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: pending}})
		if err != nil {
			return fmt.Errorf("dynamodb %s: BatchWriteItem of outputs %d-%d: %w", s.table, first, first+len(pending)-1, err)
		}
		left := resp.UnprocessedItems[s.table]
		if len(left) == 0 {
			return nil
		}
		if attempt >= s.maxAttempts {
			return fmt.Errorf("dynamodb %s: %d items of outputs %d-%d still unprocessed after %d attempts", s.table, len(left), first, first+len(pending)-1, attempt)
		}
		if err := awsconf.Sleep(ctx, awsconf.Backoff(attempt, 50*time.Millisecond, 2*time.Second)); err != nil {
			return fmt.Errorf("dynamodb %s: retrying %d unprocessed items: %w", s.table, len(left), err)
		}
		pending = left
	}
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
