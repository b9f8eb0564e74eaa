package enrich

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/enrich/enrichtest"
	"github.com/weirhq/weir/host/hosttest"
)

func TestDynamoDBDynalite(t *testing.T) {
	endpoint := enrichtest.Dynalite(t)
	client := enrichtest.Client(t, endpoint)
	enrichtest.ReferenceTables(t, client)
	enrichtest.Table(t, client, "cache", "pk")
	ctx := context.Background()

	env, err := New(engine.Capabilities{
		DynamoDB: &engine.DynamoDBCapability{Tables: []string{"users", "accounts", "missing"}, Endpoint: endpoint, Region: "us-east-1"},
		Cache:    &engine.CacheCapability{Backend: "dynamodb", Table: "cache", Endpoint: endpoint, Region: "us-east-1"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  string
		want []byte
		in   []string // substrings of each value
	}{
		{"get one", `{"op":"get","table":"users","keys":[{"user_name":"anonymous"}]}`,
			[]byte{StatusOK}, []string{`"roles":["admin","security"]`}},
		{"batch get with duplicates, misses and bad keys", `{"op":"get","table":"users","keys":[{"user_name":"anonymous"},{"user_name":"nobody"},{"user_name":"jdoe"},{"user_name":"anonymous"},{"user_name":7}]}`,
			[]byte{StatusOK, StatusNotFound, StatusOK, StatusOK, StatusError}, []string{"Jane Doe", "", "John Doe", "Jane Doe", ""}},
		{"accounts", `{"op":"get","table":"accounts","keys":[{"account_id":"987654321012"}]}`,
			[]byte{StatusOK}, []string{`"name":"Development"`}},
		{"missing table", `{"op":"get","table":"missing","keys":[{"id":"1"},{"id":"2"}]}`,
			[]byte{StatusError, StatusError}, []string{"ResourceNotFound", "ResourceNotFound"}},
		{"table not granted", `{"op":"get","table":"cache","keys":[{"pk":"1"}]}`,
			[]byte{StatusDenied}, []string{"not granted"}},
		{"query", `{"op":"query","table":"users","queries":[{"key_condition":"user_name = :u","values":{":u":"jdoe"}}]}`,
			[]byte{StatusOK}, []string{`[{"full_name":"John Doe"`}},
		{"put", `{"op":"put","table":"accounts","items":[{"account_id":"123456789012","name":"Production","tags":{"env":"prod"},"n":3}]}`,
			[]byte{StatusOK}, []string{""}},
		{"get what was put", `{"op":"get","table":"accounts","keys":[{"account_id":"123456789012"}]}`,
			[]byte{StatusOK}, []string{`"n":3,"name":"Production","tags":{"env":"prod"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := results(t, env.Call(ctx, FuncDynamoDB, []byte(tc.req)))
			if len(rs) != len(tc.want) {
				t.Fatalf("%d results, want %d", len(rs), len(tc.want))
			}
			for i, r := range rs {
				if r.Status != tc.want[i] || !strings.Contains(string(r.Value), tc.in[i]) {
					t.Fatalf("result %d: %d %q, want %d containing %q", i, r.Status, r.Value, tc.want[i], tc.in[i])
				}
			}
		})
	}

	t.Run("cache table", func(t *testing.T) {
		rs := results(t, env.Call(ctx, FuncCache, []byte(`{"op":"set","entries":[{"key":"a","value":"1"},{"key":"b","value":"2","ttl_seconds":60}]}`)))
		if rs[0].Status != StatusOK || rs[1].Status != StatusOK {
			t.Fatalf("set: %+v", rs)
		}
		// An item whose TTL passed (DynamoDB deletes them lazily) is a miss.
		past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cache"), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "old"}, "v": &types.AttributeValueMemberS{Value: "x"}, "ttl": &types.AttributeValueMemberN{Value: past},
		}}); err != nil {
			t.Fatal(err)
		}
		rs = results(t, env.Call(ctx, FuncCache, []byte(`{"op":"get","keys":["a","b","old","none"]}`)))
		if rs[0].Status != StatusOK || string(rs[0].Value) != "1" || string(rs[1].Value) != "2" || rs[2].Status != StatusNotFound || rs[3].Status != StatusNotFound {
			t.Fatalf("get: %+v", rs)
		}
		results(t, env.Call(ctx, FuncCache, []byte(`{"op":"delete","keys":["a"]}`)))
		if rs := results(t, env.Call(ctx, FuncCache, []byte(`{"op":"get","keys":["a"]}`))); rs[0].Status != StatusNotFound {
			t.Fatalf("after delete: %+v", rs)
		}
	})

	t.Run("missing cache table", func(t *testing.T) {
		env, _ := New(engine.Capabilities{Cache: &engine.CacheCapability{Backend: "dynamodb", Table: "nope", Endpoint: endpoint, Region: "us-east-1"}}, Options{})
		rs := results(t, env.Call(ctx, FuncCache, []byte(`{"op":"get","keys":["a","b"]}`)))
		for _, r := range rs {
			if r.Status != StatusError || !strings.Contains(string(r.Value), "ResourceNotFound") {
				t.Fatalf("got %d %q", r.Status, r.Value)
			}
		}
	})
}

func TestMemoryCache(t *testing.T) {
	env, _ := New(engine.Capabilities{Cache: &engine.CacheCapability{MaxEntries: 100}}, Options{})
	ctx := context.Background()
	results(t, env.Call(ctx, FuncCache, []byte(`{"op":"set","entries":[{"key":"k","value":"v","ttl_seconds":1}]}`)))
	if rs := results(t, env.Call(ctx, FuncCache, []byte(`{"op":"get","keys":["k","x"]}`))); string(rs[0].Value) != "v" || rs[1].Status != StatusNotFound {
		t.Fatalf("got %+v", rs)
	}
	time.Sleep(1100 * time.Millisecond)
	if rs := results(t, env.Call(ctx, FuncCache, []byte(`{"op":"get","keys":["k"]}`))); rs[0].Status != StatusNotFound {
		t.Fatalf("expired entry served: %+v", rs)
	}
}

func TestMMDBGeoLite(t *testing.T) {
	path := filepath.Join(hosttest.SharedDir(t), "testdata", "maxmind", "GeoLite2-ASN-Test.mmdb")
	env, err := New(engine.Capabilities{MMDB: map[string]string{"asn": path}}, Options{})
	if err != nil {
		t.Fatalf("GeoLite2-ASN-Test.mmdb: %v", err)
	}
	rs := results(t, env.Call(context.Background(), FuncMMDB, []byte(`{"db":"asn","ips":["89.160.20.156","not-an-ip","10.0.0.1","89.160.20.156"]}`)))
	if rs[0].Status != StatusOK || !strings.Contains(string(rs[0].Value), `"autonomous_system_number":29518,"autonomous_system_organization":"Bredband2 AB"`) {
		t.Fatalf("89.160.20.156: %d %s", rs[0].Status, rs[0].Value)
	}
	if rs[1].Status != StatusError || rs[2].Status != StatusNotFound || string(rs[3].Value) != string(rs[0].Value) {
		t.Fatalf("got %+v", rs)
	}
	if rs := results(t, env.Call(context.Background(), FuncMMDB, []byte(`{"db":"city","ips":["1.1.1.1"]}`))); rs[0].Status != StatusDenied {
		t.Fatalf("ungranted db: %+v", rs)
	}
}

// TestDynamoDBAssumeRole: with assume_role_arn the DynamoDB lookups and
// the DynamoDB cache are signed with the role's credentials, obtained
// from a loopback STS server (the real stscreds provider); a proxy in
// front of dynalite records the access key of every request.
func TestDynamoDBAssumeRole(t *testing.T) {
	endpoint := enrichtest.Dynalite(t)
	client := enrichtest.Client(t, endpoint)
	enrichtest.ReferenceTables(t, client)
	enrichtest.Table(t, client, "cache", "pk")
	hosttest.SetAWSEnv(t)
	sts := hosttest.STS(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var keys []string
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, hosttest.AccessKeyOf(r))
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	const lookupRole, cacheRole = "arn:aws:iam::210987654321:role/weir-lookups", "arn:aws:iam::210987654321:role/weir-cache"
	env, err := New(engine.Capabilities{
		DynamoDB: &engine.DynamoDBCapability{Tables: []string{"users"}, Endpoint: proxy.URL, Region: "us-east-1", AssumeRoleARN: lookupRole},
		Cache:    &engine.CacheCapability{Backend: "dynamodb", Table: "cache", Endpoint: proxy.URL, Region: "us-east-1", AssumeRoleARN: cacheRole},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := context.Background()
	rs := results(t, env.Call(ctx, FuncDynamoDB, []byte(`{"op":"get","table":"users","keys":[{"user_name":"anonymous"}]}`)))
	if len(rs) != 1 || rs[0].Status != StatusOK {
		t.Fatalf("lookup: %+v", rs)
	}
	rs = results(t, env.Call(ctx, FuncCache, []byte(`{"op":"set","entries":[{"key":"k","value":"v"}]}`)))
	if len(rs) != 1 || rs[0].Status != StatusOK {
		t.Fatalf("cache set: %+v", rs)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{hosttest.RoleKey(lookupRole): true, hosttest.RoleKey(cacheRole): true}
	seen := map[string]bool{}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("a DynamoDB request was signed with %q, not a role's key", k)
		}
		seen[k] = true
	}
	if len(seen) != 2 {
		t.Errorf("keys seen %v, want both roles' keys", keys)
	}
	got := strings.Join(sts.Assumed(), ",")
	if !strings.Contains(got, lookupRole) || !strings.Contains(got, cacheRole) {
		t.Errorf("STS assumed %s", got)
	}
}
