package enrich

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/enrich/enrichtest"
)

// throttleCall is one host call of a throttling case and what it must
// return: a status per key, and a substring of each value.
type throttleCall struct {
	fn   string
	req  string
	want []byte
	in   []string
}

// always and first return Throttle policies: every request matching
// match, or only its first n.
func always(match func(enrichtest.Request) bool) func(enrichtest.Request) bool {
	return match
}

func first(n int, match func(enrichtest.Request) bool) func(enrichtest.Request) bool {
	seen := 0
	return func(r enrichtest.Request) bool {
		if !match(r) {
			return false
		}
		seen++
		return seen <= n
	}
}

// op matches requests of an operation whose body contains every one of
// substrings.
func op(name string, substrings ...string) func(enrichtest.Request) bool {
	return func(r enrichtest.Request) bool {
		if r.Op != name {
			return false
		}
		for _, s := range substrings {
			if !bytes.Contains(r.Body, []byte(s)) {
				return false
			}
		}
		return true
	}
}

// TestDynamoDBThrottling runs DynamoDB and cache-backend calls through a
// proxy that answers chosen requests as a throttled DynamoDB does
// (ProvisionedThroughputExceededException, UnprocessedKeys): transient
// throttles are retried and succeed; persistent ones give an error value
// to the keys they hit and to no other; nothing panics, and every call
// returns within the retry bounds.
func TestDynamoDBThrottling(t *testing.T) {
	endpoint := enrichtest.Dynalite(t)
	client := enrichtest.Client(t, endpoint)
	enrichtest.ReferenceTables(t, client)
	enrichtest.Table(t, client, "cache", "pk", map[string]any{"pk": "a", "v": "1"}, map[string]any{"pk": "b", "v": "2"})
	many := make([]map[string]any, 150)
	for i := range many {
		many[i] = map[string]any{"id": fmt.Sprintf("u-%03d", i), "n": i}
	}
	enrichtest.Table(t, client, "many", "id", many...)
	var manyKeys []string
	for i := range many {
		manyKeys = append(manyKeys, fmt.Sprintf(`{"id":"u-%03d"}`, i))
	}
	manyReq := `{"op":"get","table":"many","keys":[` + strings.Join(manyKeys, ",") + `]}`

	const throttled = "ProvisionedThroughputExceededException"
	users := `{"op":"get","table":"users","keys":[{"user_name":"anonymous"},{"user_name":"jdoe"},{"user_name":"nobody"}]}`
	tests := []struct {
		name   string
		policy enrichtest.Policy
		calls  []throttleCall
		check  func(t *testing.T, px *enrichtest.ThrottleProxy)
	}{
		{
			name:   "GetItem throttled twice, then served",
			policy: enrichtest.Policy{Throttle: first(2, op("GetItem"))},
			calls: []throttleCall{{FuncDynamoDB, `{"op":"get","table":"users","keys":[{"user_name":"anonymous"}]}`,
				[]byte{StatusOK}, []string{"Jane Doe"}}},
			check: func(t *testing.T, px *enrichtest.ThrottleProxy) {
				if n := px.Requests("GetItem"); n != 3 {
					t.Errorf("%d GetItem requests, want 3 (two throttled, then served)", n)
				}
			},
		},
		{
			name:   "GetItem throttled on every attempt",
			policy: enrichtest.Policy{Throttle: always(op("GetItem"))},
			calls: []throttleCall{
				{FuncDynamoDB, `{"op":"get","table":"users","keys":[{"user_name":"anonymous"}]}`, []byte{StatusError}, []string{throttled}},
				// The throttled key fails; a batch of other keys does not.
				{FuncDynamoDB, users, []byte{StatusOK, StatusOK, StatusNotFound}, []string{"Jane Doe", "John Doe", ""}},
			},
			check: func(t *testing.T, px *enrichtest.ThrottleProxy) {
				if n := px.Throttled("GetItem"); n != ddbMaxAttempts {
					t.Errorf("%d GetItem attempts, want %d", n, ddbMaxAttempts)
				}
			},
		},
		{
			name:   "BatchGetItem throttled once, then served",
			policy: enrichtest.Policy{Throttle: first(1, op("BatchGetItem"))},
			calls:  []throttleCall{{FuncDynamoDB, users, []byte{StatusOK, StatusOK, StatusNotFound}, []string{"Jane Doe", "John Doe", ""}}},
			check: func(t *testing.T, px *enrichtest.ThrottleProxy) {
				if n := px.Throttled("BatchGetItem"); n != 1 {
					t.Errorf("%d BatchGetItem requests throttled, want 1", n)
				}
			},
		},
		{
			name:   "BatchGetItem of one table throttled on every attempt",
			policy: enrichtest.Policy{Throttle: always(op("BatchGetItem", `"users"`))},
			calls: []throttleCall{
				{FuncDynamoDB, users, []byte{StatusError, StatusError, StatusError}, []string{throttled, throttled, throttled}},
				{FuncDynamoDB, `{"op":"get","table":"accounts","keys":[{"account_id":"987654321012"},{"account_id":"1"}]}`,
					[]byte{StatusOK, StatusNotFound}, []string{"Development", ""}},
			},
		},
		{
			name:   "of two BatchGetItem chunks, only the throttled one fails",
			policy: enrichtest.Policy{Throttle: always(op("BatchGetItem", `"u-000"`))},
			calls: []throttleCall{{FuncDynamoDB, manyReq, func() []byte {
				want := bytes.Repeat([]byte{StatusOK}, 150)
				for i := range batchGetMax {
					want[i] = StatusError
				}
				return want
			}(), nil}},
		},
		{
			name: "unprocessed keys retried until processed",
			policy: enrichtest.Policy{Unprocessed: func() func(table, key string) bool {
				n := 0
				return func(_, key string) bool { n++; return key == "jdoe" && n <= 5 }
			}()},
			calls: []throttleCall{{FuncDynamoDB, users, []byte{StatusOK, StatusOK, StatusNotFound}, []string{"Jane Doe", "John Doe", ""}}},
			check: func(t *testing.T, px *enrichtest.ThrottleProxy) {
				if px.UnprocessedKeys() == 0 {
					t.Error("no key was returned unprocessed")
				}
			},
		},
		{
			name:   "a key left unprocessed on every attempt",
			policy: enrichtest.Policy{Unprocessed: func(_, key string) bool { return key == "jdoe" }},
			calls: []throttleCall{{FuncDynamoDB, users, []byte{StatusOK, StatusError, StatusNotFound},
				[]string{"Jane Doe", "still unprocessed after 6 attempts", ""}}},
			check: func(t *testing.T, px *enrichtest.ThrottleProxy) {
				if n := px.UnprocessedKeys(); n != batchGetAttempts {
					t.Errorf("jdoe returned unprocessed %d times, want %d", n, batchGetAttempts)
				}
			},
		},
		{
			name:   "every key left unprocessed",
			policy: enrichtest.Policy{Unprocessed: func(_, _ string) bool { return true }},
			calls: []throttleCall{{FuncDynamoDB, users, []byte{StatusError, StatusError, StatusError},
				[]string{"throttled", "throttled", "throttled"}}},
		},
		{
			name:   "Query throttled on every attempt: that query only",
			policy: enrichtest.Policy{Throttle: always(op("Query", "anonymous"))},
			calls: []throttleCall{{FuncDynamoDB, `{"op":"query","table":"users","queries":[` +
				`{"key_condition":"user_name = :u","values":{":u":"anonymous"}},{"key_condition":"user_name = :u","values":{":u":"jdoe"}}]}`,
				[]byte{StatusError, StatusOK}, []string{throttled, "John Doe"}}},
		},
		{
			name:   "PutItem throttled on every attempt: that item only",
			policy: enrichtest.Policy{Throttle: always(op("PutItem", "111111111111"))},
			calls: []throttleCall{{FuncDynamoDB, `{"op":"put","table":"accounts","items":[{"account_id":"111111111111"},{"account_id":"222222222222"}]}`,
				[]byte{StatusError, StatusOK}, []string{throttled, ""}}},
		},
		{
			name:   "cache table throttled on every attempt: those keys only",
			policy: enrichtest.Policy{Throttle: always(op("GetItem", `"a"`))},
			calls: []throttleCall{
				{FuncCache, `{"op":"get","keys":["a","b","c"]}`, []byte{StatusError, StatusOK, StatusNotFound}, []string{throttled, "2", ""}},
			},
		},
		{
			name:   "cache set and delete throttled on every attempt",
			policy: enrichtest.Policy{Throttle: always(func(r enrichtest.Request) bool { return r.Op == "PutItem" || r.Op == "DeleteItem" })},
			calls: []throttleCall{
				{FuncCache, `{"op":"set","entries":[{"key":"x","value":"1"}]}`, []byte{StatusError}, []string{throttled}},
				{FuncCache, `{"op":"delete","keys":["x"]}`, []byte{StatusError}, []string{throttled}},
				{FuncCache, `{"op":"get","keys":["a"]}`, []byte{StatusOK}, []string{"1"}},
			},
		},
		{
			name:   "cache get throttled twice, then served",
			policy: enrichtest.Policy{Throttle: first(2, op("GetItem"))},
			calls:  []throttleCall{{FuncCache, `{"op":"get","keys":["b"]}`, []byte{StatusOK}, []string{"2"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A proxy per case: a new endpoint, so a new client whose
			// retry token bucket is full.
			px := enrichtest.NewThrottleProxy(t, endpoint, tc.policy)
			env, err := New(engine.Capabilities{
				DynamoDB: &engine.DynamoDBCapability{Tables: []string{"users", "accounts", "many"}, Endpoint: px.URL, Region: "us-east-1", CacheTTL: -1},
				Cache:    &engine.CacheCapability{Backend: "dynamodb", Table: "cache", Endpoint: px.URL, Region: "us-east-1"},
			}, Options{Stage: "throttle"})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tc.calls {
				start := time.Now()
				rs := results(t, env.Call(context.Background(), c.fn, []byte(c.req)))
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("call %d took %s: retries are not bounded", i, d)
				}
				if len(rs) != len(c.want) {
					t.Fatalf("call %d: %d results, want %d", i, len(rs), len(c.want))
				}
				for j, r := range rs {
					if r.Status != c.want[j] || c.in != nil && !strings.Contains(string(r.Value), c.in[j]) {
						var in string
						if c.in != nil {
							in = c.in[j]
						}
						t.Fatalf("call %d, key %d: %d %q, want %d containing %q", i, j, r.Status, r.Value, c.want[j], in)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, px)
			}
		})
	}

	t.Run("throttling errors are not cached", func(t *testing.T) {
		px := enrichtest.NewThrottleProxy(t, endpoint, enrichtest.Policy{Throttle: always(op("BatchGetItem"))})
		env, err := New(engine.Capabilities{DynamoDB: &engine.DynamoDBCapability{Tables: []string{"users"}, Endpoint: px.URL, Region: "us-east-1"}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rs := results(t, env.Call(context.Background(), FuncDynamoDB, []byte(users))); rs[0].Status != StatusError {
			t.Fatalf("while throttled: %+v", rs)
		}
		px.SetPolicy(enrichtest.Policy{})
		rs := results(t, env.Call(context.Background(), FuncDynamoDB, []byte(users)))
		if rs[0].Status != StatusOK || rs[1].Status != StatusOK || rs[2].Status != StatusNotFound {
			t.Fatalf("once the throttling stopped: %+v", rs)
		}
		if st := env.Stats()[FuncDynamoDB]; st.Errors != 3 {
			t.Fatalf("stats %+v, want 3 errors", st)
		}
	})
}
