package kinesisout

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
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
)

// faultProxy sits between the SDK and kinesalite. PutRecords call i
// (1-based) is answered by fault[i] when set: "throttle" returns the
// service's ProvisionedThroughputExceededException; "partial" forwards,
// then marks the last entry failed, as Kinesis does under load.
type faultProxy struct {
	mu    sync.Mutex
	calls []int // records per PutRecords call
	fault map[int]string
	next  http.Handler
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutRecords") {
		p.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct{ Records []json.RawMessage }
	if err := decodeBody(body, requestIsCBOR(r), &in); err != nil {
		writeKinesis(w, r, 400, map[string]string{"__type": "SerializationException", "message": err.Error()})
		return
	}
	p.mu.Lock()
	p.calls = append(p.calls, len(in.Records))
	f := p.fault[len(p.calls)]
	p.mu.Unlock()
	if f == "throttle" {
		writeKinesis(w, r, 400, map[string]string{"__type": "ProvisionedThroughputExceededException",
			"message": "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000."})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if f == "partial" {
		var resp map[string]any
		if err := decodeBody(out, isCBOR(rec.Header().Get("Content-Type")), &resp); err != nil {
			panic(fmt.Sprintf("kinesalite's answer %q: %v", out, err))
		}
		recs := resp["Records"].([]any)
		recs[len(recs)-1] = map[string]any{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
		resp["FailedRecordCount"] = 1
		out = encodeBody(resp, isCBOR(rec.Header().Get("Content-Type")))
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

// TestPutRecordsThrottlingAndPartialFailure, over both wire formats: a
// throttled call (a whole-request ProvisionedThroughputExceededException)
// is retried by the SDK's retryer, a record failed in a partial failure is
// re-sent alone, and a record that keeps failing is an error naming its
// outputs and the service's reason.
func TestPutRecordsThrottlingAndPartialFailure(t *testing.T) {
	hosttest.SetAWSEnv(t)
	kin := hosttest.Kinesalite(t)
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) { testThrottlingAndPartialFailure(t, proto, kin, "s-"+string(proto)) })
	}
}

func testThrottlingAndPartialFailure(t *testing.T, proto Protocol, kin, stream string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target, _ := url.Parse(kin)
	proxy := &faultProxy{fault: map[int]string{1: "throttle", 2: "partial"}, next: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	kc := kinesisClient(ctx, t, proto, srv.URL, 5, 100*time.Millisecond)
	hosttest.CreateStream(ctx, t, kc, stream, 1)

	// 3000 outputs of 1 KiB: 3 aggregated records; no aggregation: 6 calls.
	var outputs []engine.Output
	for i := 0; i < 3000; i++ {
		outputs = append(outputs, engine.Output{Data: []byte(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, strings.Repeat("x", 1000)))})
	}
	sink := New(kc, Options{Stream: stream, Aggregate: true, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err := sink.Write(ctx, outputs); err != nil {
		t.Fatal(err)
	}
	// Call 1 throttled (SDK retry = call 2, partial), call 3 re-sends
	// the one failed record alone.
	if fmt.Sprint(proxy.calls) != "[3 3 1]" {
		t.Fatalf("PutRecords calls (records each): %v", proxy.calls)
	}
	// Every output reached the stream (the partially failed record twice,
	// as Kinesis would have it after a real partial failure: at least once).
	d, _ := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	it, _ := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: d.StreamDescription.Shards[0].ShardId, ShardIteratorType: "TRIM_HORIZON"})
	got, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range got.Records {
		users, err := kpl.Deaggregate(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			seen[string(u.Data)] = true
		}
	}
	if len(seen) != len(outputs) {
		t.Fatalf("%d distinct outputs in the stream, want %d", len(seen), len(outputs))
	}

	// A record that keeps failing: an error naming the outputs.
	proxy.mu.Lock()
	proxy.calls, proxy.fault = nil, map[int]string{1: "partial", 2: "partial", 3: "partial"}
	proxy.mu.Unlock()
	sink = New(kc, Options{Stream: stream, Aggregate: false, MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	err = sink.Write(ctx, outputs[:5])
	if err == nil || !strings.Contains(err.Error(), "outputs 4") || !strings.Contains(err.Error(), "ProvisionedThroughputExceededException") {
		t.Fatalf("err = %v", err)
	}
	// Oversize record: refused before any call, naming the output.
	err = sink.Write(ctx, []engine.Output{{Data: make([]byte, DefaultMaxRecordBytes)}})
	if err == nil || !strings.Contains(err.Error(), "output 0") {
		t.Fatalf("oversize: err = %v", err)
	}
}

// kinesisClient returns a Kinesis client for endpoint whose calls make up
// to attempts attempts, backing off at most maxBackoff between them, making
// its PutRecords calls in proto, as Open makes them.
func kinesisClient(ctx context.Context, t testing.TB, proto Protocol, endpoint string, attempts int, maxBackoff time.Duration) *kinesis.Client {
	t.Helper()
	cfg, err := awsconf.Load(ctx, "us-east-1", attempts, maxBackoff)
	if err != nil {
		t.Fatal(err)
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) }, proto.Option())
}
