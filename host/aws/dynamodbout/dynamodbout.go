// Package dynamodbout is weir's DynamoDB output, so that any log can
// become context for another pipeline: every output (a JSON object
// holding the table's key attributes) is written as one item with
// BatchWriteItem (at most 25 items per call). UnprocessedItems are
// re-sent alone with exponential backoff and full jitter (host/deliver's
// loop).
package dynamodbout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
)

// MaxItemsPerCall is BatchWriteItem's limit.
const MaxItemsPerCall = 25

// MaxItemBytes is DynamoDB's item size limit (400 KB; unchanged as of
// December 2026).
const MaxItemBytes = 400 << 10

// Sink writes outputs as items of one table.
type Sink struct {
	client *dynamodb.Client
	table  string
	d      *deliver.Deliverer[types.WriteRequest]
}

// New returns a sink writing to table with client.
func New(client *dynamodb.Client, table string, maxAttempts int) *Sink {
	if maxAttempts <= 0 {
		maxAttempts = awsconf.DefaultMaxAttempts
	}
	s := &Sink{client: client, table: table}
	s.d = deliver.New(deliver.Config[types.WriteRequest]{
		Name:   "dynamodb " + table,
		Op:     "BatchWriteItem",
		Noun:   "item",
		Limits: deliver.Limits{MaxEntries: MaxItemsPerCall, MaxEntryBytes: MaxItemBytes},
		Policy: deliver.Policy{MaxAttempts: maxAttempts},
		Send:   s.batch,
	})
	return s
}

// Open is the engine.SinkFactory of the "dynamodb" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("dynamodb output %q: %w", name, err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) })
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
	entries := make([]deliver.Entry[types.WriteRequest], len(outputs))
	for i, o := range outputs {
		if len(o.Data) > MaxItemBytes {
			return fmt.Errorf("dynamodb %s: output %d: %d bytes exceeds the 400 KB item limit", s.table, i, len(o.Data))
		}
		item, err := Item(o.Data)
		if err != nil {
			return fmt.Errorf("dynamodb %s: output %d: %w", s.table, i, err)
		}
		entries[i] = deliver.Entry[types.WriteRequest]{Item: types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}, Size: len(o.Data), First: i}
	}
	return s.d.Deliver(ctx, entries)
}

// batch makes one BatchWriteItem call. UnprocessedItems do not say which
// request they were: each is matched to the request it equals, and when
// one matches none the whole call is reported unprocessed (re-putting an
// item is idempotent).
func (s *Sink) batch(ctx context.Context, reqs []types.WriteRequest) ([]deliver.Failure, error) {
	resp, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
	if err != nil {
		return nil, err
	}
	left := resp.UnprocessedItems[s.table]
	if len(left) == 0 {
		return nil, nil
	}
	failure := func(i int) deliver.Failure {
		return deliver.Failure{Index: i, Retryable: true, Code: "UnprocessedItems", Message: "throughput exceeded or internal error"}
	}
	var failed []deliver.Failure
	matched := make([]bool, len(reqs))
	for _, l := range left {
		found := false
		for i, r := range reqs {
			if !matched[i] && l.PutRequest != nil && r.PutRequest != nil && reflect.DeepEqual(l.PutRequest.Item, r.PutRequest.Item) {
				matched[i], found = true, true
				failed = append(failed, failure(i))
				break
			}
		}
		if !found {
			failed = failed[:0]
			for i := range reqs {
				failed = append(failed, failure(i))
			}
			return failed, nil
		}
	}
	return failed, nil
}

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.Sink = (*Sink)(nil)
