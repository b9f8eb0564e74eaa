package enrich

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
)

// batchGetMax is BatchGetItem's limit of keys per request.
const batchGetMax = 100

// batchGetAttempts bounds the BatchGetItem requests made for a key that
// DynamoDB keeps returning in UnprocessedKeys (a throttled partition);
// unprocessedBackoff spaces them. A key still unprocessed after them is
// an error value (each request is also retried by the SDK when the
// whole request is throttled).
const batchGetAttempts = 6

var unprocessedBackoff = jitterBackoff{base: 25 * time.Millisecond, max: 400 * time.Millisecond}

// ddbClient is a DynamoDB client made on first use, shared by the Envs
// (and the cache backend) of the same region and endpoint.
type ddbClient struct {
	region, endpoint string
	roleARN          string // assumed with STS when set
	once             sync.Once
	c                *dynamodb.Client
	err              error
}

// sharedDDBClient returns the client of a region, endpoint and role.
func sharedDDBClient(region, endpoint, roleARN string) *ddbClient {
	c, _ := sharedClients.get(configKey("dynamodb", region, endpoint, roleARN), func() (*ddbClient, error) {
		return &ddbClient{region: region, endpoint: endpoint, roleARN: roleARN}, nil
	})
	return c
}

// Retries of throttled and failed DynamoDB requests (the SDK's standard
// retryer, with a shorter backoff): a lookup must not hold a batch for
// seconds. A request still throttled after ddbMaxAttempts is an error
// value for its keys. The retryer's token bucket stays: under sustained
// throttling retries stop early (fail fast) until requests succeed again.
const (
	ddbMaxAttempts = 4
	ddbBaseBackoff = 25 * time.Millisecond
	ddbMaxBackoff  = 400 * time.Millisecond
)

// jitterBackoff is full-jitter exponential backoff: a random delay in
// [0, min(max, base × 2^(attempt-1))).
type jitterBackoff struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (j jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return j.delay(attempt), nil
}

func (j jitterBackoff) delay(attempt int) time.Duration {
	d := j.max
	if attempt >= 1 && attempt < 20 {
		d = min(j.max, j.base<<(attempt-1))
	}
	return rand.N(d) + 1
}

func (d *ddbClient) get(ctx context.Context) (*dynamodb.Client, error) {
	d.once.Do(func() {
		var opts []func(*config.LoadOptions) error
		if d.region != "" {
			opts = append(opts, config.WithRegion(d.region))
		}
		cfg, err := config.LoadDefaultConfig(context.WithoutCancel(ctx), opts...)
		if err != nil {
			d.err = fmt.Errorf("aws config: %w", err)
			return
		}
		cfg = awsconf.AssumeRole(cfg, d.roleARN)
		d.c = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if d.endpoint != "" {
				o.BaseEndpoint = aws.String(d.endpoint)
			}
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = ddbMaxAttempts
				so.MaxBackoff = ddbMaxBackoff
				so.Backoff = jitterBackoff{base: ddbBaseBackoff, max: ddbMaxBackoff}
			})
		})
	})
	return d.c, d.err
}

// awsError is a short message for an AWS error: its code and message.
func awsError(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return err.Error()
}

// ddbService serves weir_dynamodb: DynamoDB tables on the allow-list and
// local tables.
type ddbService struct {
	allowed map[string]bool
	local   map[string]*localTable
	client  *ddbClient
	timeout time.Duration
	spec    batchSpec
}

type ddbRequest struct {
	Op         string            `json:"op"`
	Table      string            `json:"table"`
	Keys       []json.RawMessage `json:"keys"`
	Items      []json.RawMessage `json:"items"`
	Queries    []ddbQuery        `json:"queries"`
	Consistent bool              `json:"consistent"`
}

type ddbQuery struct {
	Index        string            `json:"index,omitempty"`
	KeyCondition string            `json:"key_condition"`
	Filter       string            `json:"filter,omitempty"`
	Names        map[string]string `json:"names,omitempty"`
	Values       json.RawMessage   `json:"values,omitempty"`
	Limit        int32             `json:"limit,omitempty"`
	Descending   bool              `json:"descending,omitempty"`
}

func newDDB(c engine.DynamoDBCapability, local map[string]*localTable, cnt *counters) *ddbService {
	s := &ddbService{
		allowed: map[string]bool{},
		local:   local,
		client:  sharedDDBClient(c.Region, c.Endpoint, c.AssumeRoleARN),
		timeout: durationOr(c.Timeout, 5*time.Second),
		spec: batchSpec{
			ttl:         durationOr(c.CacheTTL, 5*time.Minute),
			negTTL:      durationOr(c.CacheTTL, 5*time.Minute),
			concurrency: c.Concurrency,
			counters:    cnt,
		},
	}
	if s.spec.concurrency == 0 {
		s.spec.concurrency = 8
	}
	if s.spec.ttl > 0 {
		s.spec.cache = sharedCache(0, "dynamodb", c.Region, c.Endpoint, durKey(s.spec.ttl))
	}
	for _, t := range c.Tables {
		s.allowed[t] = true
	}
	return s
}

func allResults(n int, r Result) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func (s *ddbService) call(ctx context.Context, req []byte) ([]Result, error) {
	var r ddbRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	n := len(r.Keys) + len(r.Items) + len(r.Queries)
	if n > maxKeys {
		return nil, fmt.Errorf("%d keys (max %d)", n, maxKeys)
	}
	var count int
	switch r.Op {
	case "get":
		count = len(r.Keys)
	case "put":
		count = len(r.Items)
	case "query":
		count = len(r.Queries)
	default:
		return nil, fmt.Errorf("op %q: want get, query or put", r.Op)
	}
	local, isLocal := s.local[r.Table]
	if !isLocal && !s.allowed[r.Table] {
		return allResults(count, deniedResult("table %q is not granted (capabilities.dynamodb.tables or capabilities.tables)", r.Table)), nil
	}
	switch r.Op {
	case "get":
		return s.get(ctx, r, local), nil
	case "put":
		return s.put(ctx, r, local), nil
	default:
		return s.query(ctx, r, local), nil
	}
}

// parseKeys decodes key objects; a bad one gets an error result.
func parseKeys(raw []json.RawMessage) ([]map[string]any, []string, []*Result) {
	keys := make([]map[string]any, len(raw))
	canon := make([]string, len(raw))
	bad := make([]*Result, len(raw))
	for i, b := range raw {
		var m map[string]any
		if err := decodeJSON(b, &m); err != nil || len(m) == 0 {
			r := errResult("key %d is not a JSON object of key attributes", i)
			bad[i] = &r
			continue
		}
		keys[i] = m
		canon[i] = canonicalKey(m)
	}
	return keys, canon, bad
}

func (s *ddbService) get(ctx context.Context, r ddbRequest, local *localTable) []Result {
	keys, canon, bad := parseKeys(r.Keys)
	byCanon := map[string]map[string]any{}
	var good []string
	var goodIdx []int
	for i := range keys {
		if bad[i] != nil {
			continue
		}
		byCanon[canon[i]] = keys[i]
		good, goodIdx = append(good, canon[i]), append(goodIdx, i)
	}
	out := make([]Result, len(keys))
	for i, b := range bad {
		if b != nil {
			out[i] = *b
		}
	}
	spec := s.spec
	spec.prefix = "get " + r.Table + "\x00"
	var rs []Result
	if local != nil {
		spec.cache = nil // already in memory
		rs = resolve(ctx, spec, good, func(_ context.Context, k string) Result { return local.get(byCanon[k]) })
	} else {
		rs = resolveBulk(ctx, spec, good, func(ctx context.Context, todo []string) []Result {
			return s.batchGet(ctx, r.Table, todo, byCanon, r.Consistent)
		})
	}
	for j, res := range rs {
		out[goodIdx[j]] = res
	}
	return out
}

// batchGet fetches distinct keys: GetItem for one, BatchGetItem in chunks
// of 100 (concurrently, bounded) otherwise, retrying unprocessed keys.
func (s *ddbService) batchGet(ctx context.Context, table string, todo []string, byCanon map[string]map[string]any, consistent bool) []Result {
	out := make([]Result, len(todo))
	client, err := s.client.get(ctx)
	if err != nil {
		return allResults(len(todo), errResult("dynamodb: %v", err))
	}
	attrKeys := make([]map[string]types.AttributeValue, len(todo))
	for i, k := range todo {
		av, err := toItem(byCanon[k])
		if err != nil {
			out[i] = errResult("key: %v", err)
			continue
		}
		attrKeys[i] = av
	}
	if len(todo) == 1 {
		if attrKeys[0] == nil {
			return out
		}
		ctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		resp, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: attrKeys[0], ConsistentRead: aws.Bool(consistent)})
		switch {
		case err != nil:
			out[0] = errResult("dynamodb GetItem %s: %s", table, awsError(err))
		case resp.Item == nil:
			out[0] = notFound
		default:
			out[0] = okResult(itemJSON(fromItem(resp.Item)))
		}
		return out
	}
	index := make(map[string]int, len(todo))
	var pending []int
	for i, k := range todo {
		if attrKeys[i] != nil {
			index[k] = i
			pending = append(pending, i)
			out[i] = notFound
		}
	}
	var g errgroup.Group
	g.SetLimit(s.spec.concurrency)
	for chunk := range slices.Chunk(pending, batchGetMax) {
		g.Go(func() error {
			s.batchGetChunk(ctx, client, table, chunk, todo, attrKeys, byCanon, index, out, consistent)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func (s *ddbService) batchGetChunk(ctx context.Context, client *dynamodb.Client, table string, chunk []int, todo []string, attrKeys []map[string]types.AttributeValue, byCanon map[string]map[string]any, index map[string]int, out []Result, consistent bool) {
	names := map[string][]string{} // sorted key attribute names, by their joined form
	req := make([]map[string]types.AttributeValue, 0, len(chunk))
	for _, i := range chunk {
		req = append(req, attrKeys[i])
		ns := make([]string, 0, len(byCanon[todo[i]]))
		for n := range byCanon[todo[i]] {
			ns = append(ns, n)
		}
		sort.Strings(ns)
		names[fmt.Sprint(ns)] = ns
	}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt >= batchGetAttempts {
				for _, k := range req {
					if i, ok := index[canonicalKey(fromItem(k))]; ok {
						out[i] = errResult("dynamodb BatchGetItem %s: throttled (key still unprocessed after %d attempts)", table, attempt)
					}
				}
				return
			}
			t := time.NewTimer(unprocessedBackoff.delay(attempt))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				for _, k := range req {
					if i, ok := index[canonicalKey(fromItem(k))]; ok {
						out[i] = errResult("dynamodb BatchGetItem %s: %v", table, context.Cause(ctx))
					}
				}
				return
			}
		}
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		resp, err := client.BatchGetItem(cctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			table: {Keys: req, ConsistentRead: aws.Bool(consistent)},
		}})
		cancel()
		var ae smithy.APIError
		if err != nil && len(req) > 1 && errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" {
			// One bad key (a wrong type, a missing attribute) fails the
			// whole request: fetch the keys one by one so only it fails.
			s.getEach(ctx, client, table, req, index, out, consistent)
			return
		}
		if err != nil {
			msg := errResult("dynamodb BatchGetItem %s: %s", table, awsError(err))
			for _, k := range req {
				if i, ok := index[canonicalKey(fromItem(k))]; ok {
					out[i] = msg
				}
			}
			return
		}
		for _, item := range resp.Responses[table] {
			plain := fromItem(item)
			for _, ns := range names {
				proj := make(map[string]any, len(ns))
				for _, n := range ns {
					if v, ok := plain[n]; ok {
						proj[n] = v
					}
				}
				if i, ok := index[canonicalKey(proj)]; ok {
					out[i] = okResult(itemJSON(plain))
					break
				}
			}
		}
		req = resp.UnprocessedKeys[table].Keys
	}
}

// getEach fetches keys with one GetItem each, concurrently (bounded).
func (s *ddbService) getEach(ctx context.Context, client *dynamodb.Client, table string, keys []map[string]types.AttributeValue, index map[string]int, out []Result, consistent bool) {
	var g errgroup.Group
	g.SetLimit(s.spec.concurrency)
	for _, k := range keys {
		i, ok := index[canonicalKey(fromItem(k))]
		if !ok {
			continue
		}
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(ctx, s.timeout)
			defer cancel()
			resp, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(consistent)})
			switch {
			case err != nil:
				out[i] = errResult("dynamodb GetItem %s: %s", table, awsError(err))
			case resp.Item == nil:
				out[i] = notFound
			default:
				out[i] = okResult(itemJSON(fromItem(resp.Item)))
			}
			return nil
		})
	}
	_ = g.Wait()
}

func (s *ddbService) put(ctx context.Context, r ddbRequest, local *localTable) []Result {
	out := make([]Result, len(r.Items))
	var g errgroup.Group
	g.SetLimit(s.spec.concurrency)
	for i, raw := range r.Items {
		var m map[string]any
		if err := decodeJSON(raw, &m); err != nil || m == nil {
			out[i] = errResult("item %d is not a JSON object", i)
			continue
		}
		if local != nil {
			if err := local.put(m); err != nil {
				out[i] = errResult("local table %s: %v", r.Table, err)
			}
			continue
		}
		g.Go(func() error {
			out[i] = safeResolve(ctx, func(ctx context.Context, _ string) Result {
				client, err := s.client.get(ctx)
				if err != nil {
					return errResult("dynamodb: %v", err)
				}
				item, err := toItem(m)
				if err != nil {
					return errResult("item: %v", err)
				}
				ctx, cancel := context.WithTimeout(ctx, s.timeout)
				defer cancel()
				if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.Table), Item: item}); err != nil {
					return errResult("dynamodb PutItem %s: %s", r.Table, awsError(err))
				}
				return Result{Status: StatusOK}
			}, "")
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func (s *ddbService) query(ctx context.Context, r ddbRequest, local *localTable) []Result {
	keys := make([]string, len(r.Queries))
	byKey := map[string]ddbQuery{}
	for i, q := range r.Queries {
		b, _ := json.Marshal(q)
		keys[i] = string(b)
		byKey[keys[i]] = q
	}
	spec := s.spec
	spec.prefix = "query " + r.Table + "\x00"
	return resolve(ctx, spec, keys, func(ctx context.Context, k string) Result {
		q := byKey[k]
		if local != nil {
			return errResult("query is not supported on local table %q: use get", r.Table)
		}
		client, err := s.client.get(ctx)
		if err != nil {
			return errResult("dynamodb: %v", err)
		}
		in := &dynamodb.QueryInput{TableName: aws.String(r.Table), KeyConditionExpression: aws.String(q.KeyCondition), ScanIndexForward: aws.Bool(!q.Descending)}
		if q.Index != "" {
			in.IndexName = aws.String(q.Index)
		}
		if q.Filter != "" {
			in.FilterExpression = aws.String(q.Filter)
		}
		if len(q.Names) > 0 {
			in.ExpressionAttributeNames = q.Names
		}
		if q.Limit > 0 {
			in.Limit = aws.Int32(q.Limit)
		}
		if len(q.Values) > 0 {
			var vals map[string]any
			if err := decodeJSON(q.Values, &vals); err != nil {
				return errResult("query values: not a JSON object: %v", err)
			}
			av, err := toItem(vals)
			if err != nil {
				return errResult("query values: %v", err)
			}
			in.ExpressionAttributeValues = av
		}
		ctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		resp, err := client.Query(ctx, in)
		if err != nil {
			return errResult("dynamodb Query %s: %s", r.Table, awsError(err))
		}
		items := make([]any, len(resp.Items))
		for i, it := range resp.Items {
			items[i] = fromItem(it)
		}
		b, _ := json.Marshal(items)
		return okResult(b)
	})
}
