package dynamodbout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// unprocessedProxy sits between the SDK and dynalite and counts the items
// of every BatchWriteItem call; the first call is answered, without
// forwarding, with all its items unprocessed (as DynamoDB does when a
// partition is throttled). With partial set, the first call's first
// `partial` items are left unprocessed and the others forwarded.
type unprocessedProxy struct {
	mu      sync.Mutex
	items   []int
	next    http.Handler
	partial int
}

func (p *unprocessedProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".BatchWriteItem") {
		p.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		RequestItems map[string][]json.RawMessage
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	n := 0
	for _, l := range req.RequestItems {
		n += len(l)
	}
	p.mu.Lock()
	p.items = append(p.items, n)
	first := len(p.items) == 1
	p.mu.Unlock()
	if first && p.partial > 0 {
		left, fwd := map[string][]json.RawMessage{}, map[string][]json.RawMessage{}
		for table, l := range req.RequestItems {
			left[table], fwd[table] = l[:p.partial], l[p.partial:]
		}
		body, _ = json.Marshal(map[string]any{"RequestItems": fwd})
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", fmt.Sprint(len(body)))
		rec := httptest.NewRecorder()
		p.next.ServeHTTP(rec, r)
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != 200 {
			http.Error(w, fmt.Sprintf("dynalite answered %d %s", rec.Code, rec.Body), 500)
			return
		}
		resp["UnprocessedItems"] = left
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	if first {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(map[string]any{"UnprocessedItems": req.RequestItems})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	p.next.ServeHTTP(w, r)
}

// TestDynamoDBOutput writes 60 JSON objects to dynalite through a proxy
// that leaves the first call's items unprocessed: calls of at most 25
// items, the unprocessed ones re-sent, every item in the table with its
// types.
func TestDynamoDBOutput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial int
		calls   string
	}{
		{"all unprocessed", 0, "[25 25 25 10]"},
		{"three unprocessed, re-sent alone", 3, "[25 3 25 10]"},
	} {
		t.Run(tc.name, func(t *testing.T) { testDynamoDBOutput(t, tc.partial, tc.calls) })
	}
}

func testDynamoDBOutput(t *testing.T, partial int, wantCalls string) {
	hosttest.SetAWSEnv(t)
	endpoint := hosttest.Dynalite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target, _ := url.Parse(endpoint)
	p := &unprocessedProxy{next: httputil.NewSingleHostReverseProxy(target), partial: partial}
	proxy := httptest.NewServer(p)
	defer proxy.Close()

	cfg, err := awsconf.Load(ctx, "us-east-1", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL) })
	hosttest.CreateTable(ctx, t, client, "users", "id")
	s, err := Open(ctx, "context", engine.OutputConfig{Type: "dynamodb", Table: "users", Endpoint: proxy.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outs []engine.Output
	for i := 0; i < 60; i++ {
		outs = append(outs, engine.Output{Data: []byte(fmt.Sprintf(`{"id":"u%02d","n":%d,"admin":%v,"tags":["a","b"],"geo":{"city":"Paris","lat":48.85},"none":null}`, i, i, i%2 == 0))})
	}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	calls := fmt.Sprint(p.items)
	p.mu.Unlock()
	if calls != wantCalls {
		t.Errorf("BatchWriteItem items per call %s, want %s (the first call's unprocessed items re-sent)", calls, wantCalls)
	}
	scan, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("users")})
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Items) != 60 {
		t.Fatalf("%d items in the table, want 60", len(scan.Items))
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("users"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "u07"}}})
	if err != nil {
		t.Fatal(err)
	}
	it := got.Item
	if n, ok := it["n"].(*types.AttributeValueMemberN); !ok || n.Value != "7" {
		t.Errorf("n = %#v", it["n"])
	}
	if b, ok := it["admin"].(*types.AttributeValueMemberBOOL); !ok || b.Value {
		t.Errorf("admin = %#v", it["admin"])
	}
	if m, ok := it["geo"].(*types.AttributeValueMemberM); !ok || m.Value["lat"].(*types.AttributeValueMemberN).Value != "48.85" {
		t.Errorf("geo = %#v", it["geo"])
	}
	if _, ok := it["none"].(*types.AttributeValueMemberNULL); !ok {
		t.Errorf("none = %#v", it["none"])
	}

	// Outputs that cannot be items are errors naming them; nothing of
	// the batch is written.
	for _, tc := range []struct{ data, want string }{
		{`[1,2]`, "output 1: not a JSON object"},
		{`{"id":"big","pad":"` + strings.Repeat("x", MaxItemBytes) + `"}`, "output 1: 409"},
	} {
		err := s.Write(ctx, []engine.Output{{Data: []byte(`{"id":"ok"}`)}, {Data: []byte(tc.data)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "dynamodb users") {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
