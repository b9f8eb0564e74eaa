package enrich

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/weirhq/weir/engine"
)

// kvService is the key-value cache: in memory (bounded; one per stage
// name and bound in the process, so the new version of a hot-swapped
// stage keeps the entries of the old one while other stages cannot read
// them) or in a DynamoDB table with a TTL attribute.
type kvService struct {
	mem        *ttlCache
	defaultTTL time.Duration
	table      string
	ttlAttr    string
	client     *ddbClient
	counters   *counters
}

type kvRequest struct {
	Op      string    `json:"op"`
	Keys    []string  `json:"keys"`
	Entries []kvEntry `json:"entries"`
}

type kvEntry struct {
	Key        string `json:"key"`
	Value      string `json:"value"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

// DynamoDB cache table attributes.
const (
	kvKeyAttr   = "pk"
	kvValueAttr = "v"
)

// kvTimeout bounds one request to the DynamoDB backend, retries included.
const kvTimeout = 5 * time.Second

func newKV(c engine.CacheCapability, stage string, cnt *counters) *kvService {
	s := &kvService{defaultTTL: durationOr(c.DefaultTTL, time.Hour), counters: cnt}
	if c.Backend == "dynamodb" {
		s.table = c.Table
		s.ttlAttr = c.TTLAttribute
		if s.ttlAttr == "" {
			s.ttlAttr = "ttl"
		}
		s.client = sharedDDBClient(c.Region, c.Endpoint, c.AssumeRoleARN)
	} else {
		s.mem = sharedCache(c.MaxEntries, "kv", stage)
	}
	return s
}

func (s *kvService) call(ctx context.Context, req []byte) ([]Result, error) {
	var r kvRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if len(r.Keys)+len(r.Entries) > maxKeys {
		return nil, fmt.Errorf("%d keys (max %d)", len(r.Keys)+len(r.Entries), maxKeys)
	}
	out := make([]Result, 0, len(r.Keys)+len(r.Entries))
	switch r.Op {
	case "get", "delete":
		out = out[:len(r.Keys)]
	case "set":
		out = out[:len(r.Entries)]
	default:
		return nil, fmt.Errorf("op %q: want get, set or delete", r.Op)
	}
	if s.mem != nil {
		for i, k := range r.Keys {
			if r.Op == "get" {
				if v, ok := s.mem.get("", k); ok {
					s.counters.hits.Add(1)
					out[i] = v
				} else {
					s.counters.misses.Add(1)
					out[i] = notFound
				}
			} else {
				s.mem.delete("", k)
				out[i] = Result{Status: StatusOK}
			}
		}
		for i, e := range r.Entries {
			s.mem.set("", e.Key, okResult([]byte(e.Value)), s.ttl(e))
			out[i] = Result{Status: StatusOK}
		}
		return out, nil
	}
	client, err := s.client.get(ctx)
	if err != nil {
		return allResults(len(out), errResult("cache: dynamodb: %v", err)), nil
	}
	var g errgroup.Group
	g.SetLimit(16)
	run := func(i int, f func(ctx context.Context) Result) {
		g.Go(func() error {
			out[i] = safeResolve(ctx, func(ctx context.Context, _ string) Result {
				ctx, cancel := context.WithTimeout(ctx, kvTimeout)
				defer cancel()
				return f(ctx)
			}, "")
			return nil
		})
	}
	for i, k := range r.Keys {
		key := map[string]types.AttributeValue{kvKeyAttr: &types.AttributeValueMemberS{Value: k}}
		if r.Op == "get" {
			run(i, func(ctx context.Context) Result {
				resp, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key})
				if err != nil {
					return errResult("cache get %q: %s", k, awsError(err))
				}
				if resp.Item == nil || s.expired(resp.Item) {
					s.counters.misses.Add(1)
					return notFound
				}
				s.counters.hits.Add(1)
				v, _ := resp.Item[kvValueAttr].(*types.AttributeValueMemberS)
				if v == nil {
					return okResult(nil)
				}
				return okResult([]byte(v.Value))
			})
		} else {
			run(i, func(ctx context.Context) Result {
				if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key}); err != nil {
					return errResult("cache delete %q: %s", k, awsError(err))
				}
				return Result{Status: StatusOK}
			})
		}
	}
	for i, e := range r.Entries {
		run(i, func(ctx context.Context) Result {
			exp := time.Now().Add(s.ttl(e)).Unix()
			item := map[string]types.AttributeValue{
				kvKeyAttr:   &types.AttributeValueMemberS{Value: e.Key},
				kvValueAttr: &types.AttributeValueMemberS{Value: e.Value},
				s.ttlAttr:   &types.AttributeValueMemberN{Value: strconv.FormatInt(exp, 10)},
			}
			if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
				return errResult("cache set %q: %s", e.Key, awsError(err))
			}
			return Result{Status: StatusOK}
		})
	}
	_ = g.Wait()
	return out, nil
}

func (s *kvService) ttl(e kvEntry) time.Duration {
	if e.TTLSeconds > 0 {
		return time.Duration(e.TTLSeconds) * time.Second
	}
	return s.defaultTTL
}

// expired reports whether an item's TTL attribute is in the past
// (DynamoDB deletes expired items lazily, up to days later).
func (s *kvService) expired(item map[string]types.AttributeValue) bool {
	n, ok := item[s.ttlAttr].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(n.Value, 10, 64)
	return err == nil && exp <= time.Now().Unix()
}
