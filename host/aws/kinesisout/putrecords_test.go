package kinesisout

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// bodyRecorder is a loopback PutRecords endpoint that keeps each request's
// body and headers and accepts every record.
type bodyRecorder struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
}

func (b *bodyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, body)
	b.headers = append(b.headers, r.Header.Clone())
	b.mu.Unlock()
	var in struct{ Records []json.RawMessage }
	if err := json.Unmarshal(body, &in); err != nil {
		w.WriteHeader(400)
		return
	}
	recs := make([]map[string]string, len(in.Records))
	for i := range recs {
		recs[i] = map[string]string{"SequenceNumber": "1", "ShardId": "shardId-000000000000"}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedRecordCount": 0, "Records": recs})
}

// TestFastPutRecordsBody: the body FastPutRecords writes is, as JSON, the
// one the SDK's serializer writes for the same input (every member set or
// not, strings that need escaping, invalid UTF-8, empty Data,
// Data long enough for the vector encoder; the SDK refuses nil Data and
// partition keys before serializing), with the same target and
// content type; and the call succeeds through the SDK.
func TestFastPutRecordsBody(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	big := make([]byte, 70000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	tests := []struct {
		name string
		in   kinesis.PutRecordsInput
	}{
		{"plain", kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
			{Data: []byte(`{"a":1}`), PartitionKey: aws.String("pk-1")}, {Data: big, PartitionKey: aws.String("pk-2")}}}},
		{"every member", kinesis.PutRecordsInput{DryRun: aws.Bool(true), StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/s"),
			StreamId: aws.String("id-1"), StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
				{Data: big[:1000], PartitionKey: aws.String("k"), ExplicitHashKey: aws.String("340282366920938463463374607431768211455")}}}},
		{"escaping", kinesis.PutRecordsInput{StreamName: aws.String("s\"\\\n<&>é"), Records: []types.PutRecordsRequestEntry{
			{Data: []byte{}, PartitionKey: aws.String("tab\there \"quoted\" \\ \u2028 ü")},
			{Data: big[:3], PartitionKey: aws.String("bad \xff\xfe utf-8 \x01")}}}},
		{"no records", kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [2]*bodyRecorder
			for i, fast := range []bool{false, true} {
				rec := &bodyRecorder{}
				srv := httptest.NewServer(rec)
				defer srv.Close()
				cfg, err := awsconf.Load(ctx, "us-east-1", 1, 0)
				if err != nil {
					t.Fatal(err)
				}
				opts := []func(*kinesis.Options){func(o *kinesis.Options) { o.BaseEndpoint = aws.String(srv.URL) }}
				if fast {
					opts = append(opts, FastPutRecords)
				}
				in := tt.in
				if _, err := kinesis.NewFromConfig(cfg, opts...).PutRecords(ctx, &in); err != nil {
					t.Fatalf("fast %v: %v", fast, err)
				}
				if len(rec.bodies) != 1 {
					t.Fatalf("fast %v: %d calls", fast, len(rec.bodies))
				}
				got[i] = rec
			}
			var sdk, fast any
			if err := json.Unmarshal(got[0].bodies[0], &sdk); err != nil {
				t.Fatalf("SDK body: %v", err)
			}
			if err := json.Unmarshal(got[1].bodies[0], &fast); err != nil {
				t.Fatalf("fast body %.200q: %v", got[1].bodies[0], err)
			}
			if !reflect.DeepEqual(sdk, fast) {
				t.Errorf("bodies differ:\nSDK  %.300s\nfast %.300s", got[0].bodies[0], got[1].bodies[0])
			}
			for _, h := range []string{"X-Amz-Target", "Content-Type"} {
				if a, b := got[0].headers[0].Get(h), got[1].headers[0].Get(h); a != b || a == "" {
					t.Errorf("%s: SDK %q, fast %q", h, a, b)
				}
			}
		})
	}
}

// TestFastPutRecordsMembers fails when the SDK's PutRecords types gain a
// member that appendPutRecords does not write (it would be dropped
// silently): add it there, and to TestFastPutRecordsBody.
func TestFastPutRecordsMembers(t *testing.T) {
	known := map[reflect.Type][]string{
		reflect.TypeFor[kinesis.PutRecordsInput]():      {"DryRun", "Records", "StreamARN", "StreamId", "StreamName"},
		reflect.TypeFor[types.PutRecordsRequestEntry](): {"Data", "ExplicitHashKey", "PartitionKey"},
	}
	for typ, want := range known {
		var got []string
		for f := range typ.Fields() {
			if f.IsExported() {
				got = append(got, f.Name)
			}
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s has members %v, appendPutRecords writes %v", typ, got, want)
		}
	}
}

// TestFastPutRecordsKinesalite: records put through FastPutRecords read
// back from kinesalite byte for byte, with their partition keys.
func TestFastPutRecordsKinesalite(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	kc := kinesisClient(ctx, t, hosttest.Kinesalite(t), 3, 100*time.Millisecond)
	hosttest.CreateStream(ctx, t, kc, "fast", 1)
	data := [][]byte{[]byte(`{"a":"é"}`), make([]byte, 200000), {0, 1, 2, 255}}
	for i := range data[1] {
		data[1][i] = byte(i % 251)
	}
	in := &kinesis.PutRecordsInput{StreamName: aws.String("fast")}
	for i, d := range data {
		in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: d, PartitionKey: aws.String("pk \"" + string(rune('a'+i)) + "\"")})
	}
	out, err := kc.PutRecords(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatalf("%d records failed", aws.ToInt32(out.FailedRecordCount))
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("fast"), ShardId: out.Records[0].ShardId,
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Records) != len(data) {
		t.Fatalf("%d records read back, want %d", len(recs.Records), len(data))
	}
	for i, r := range recs.Records {
		if string(r.Data) != string(data[i]) || aws.ToString(r.PartitionKey) != aws.ToString(in.Records[i].PartitionKey) {
			t.Errorf("record %d: %d bytes, key %q; want %d bytes, key %q", i, len(r.Data), aws.ToString(r.PartitionKey), len(data[i]), aws.ToString(in.Records[i].PartitionKey))
		}
	}
}

// TestBuffers: a buffer given back is handed out again for a request it
// is large enough for, never twice, and never beyond the budget.
func TestBuffers(t *testing.T) {
	b := &buffers{budget: 100}
	x := b.get(60)
	if len(x) != 0 || cap(x) < 60 {
		t.Fatalf("get(60): len %d cap %d", len(x), cap(x))
	}
	y := b.get(30)
	b.put(append(x, 1, 2, 3))
	b.put(y[:5])
	if b.held != cap(x)+cap(y) {
		t.Fatalf("held %d", b.held)
	}
	if z := b.get(50); len(z) != 0 || &z[:1][0] != &x[:1][0] {
		t.Fatal("get(50) did not reuse the 60-byte buffer")
	}
	if z := b.get(50); &z[:1][0] == &x[:1][0] {
		t.Fatal("the 60-byte buffer was handed out twice")
	}
	b.put(make([]byte, 0, 500)) // over the budget: dropped
	if b.held > b.budget {
		t.Fatalf("held %d over the budget %d", b.held, b.budget)
	}
	// Full of small buffers, a larger one takes their place.
	b = &buffers{budget: 100}
	for range 5 {
		b.put(make([]byte, 0, 20))
	}
	large := make([]byte, 0, 70)
	b.put(large)
	if b.held > b.budget || len(b.free) != 2 {
		t.Fatalf("held %d in %d buffers", b.held, len(b.free))
	}
	if z := b.get(60); &z[:1][0] != &large[:1][0] {
		t.Fatal("the large buffer was not kept")
	}
}

// otherProtocol is the SDK's protocol under another name.
type otherProtocol struct{ smithyhttp.ClientProtocol }

func (otherProtocol) ID() smithy.ShapeID { return smithy.ShapeID{Namespace: "test", Name: "other"} }

// TestFastPutRecordsOtherProtocol: under a protocol other than awsJson 1.1
// FastPutRecords leaves the body to that protocol.
func TestFastPutRecordsOtherProtocol(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	rec := &bodyRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cfg, err := awsconf.Load(ctx, "us-east-1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wrapped smithyhttp.ClientProtocol
	kc := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Protocol = otherProtocol{o.Protocol}
	}, FastPutRecords, func(o *kinesis.Options) { wrapped = o.Protocol })
	if _, ok := wrapped.(*putRecordsProtocol); !ok {
		t.Fatalf("FastPutRecords did not wrap the protocol: %T", wrapped)
	}
	// The fast path would take a buffer from b.from and leave it in
	// b.buf; the protocol's own serializer does neither.
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("k")}}}
	var b body
	b.from = &buffers{budget: 1 << 20}
	if _, err := kc.PutRecords(context.WithValue(ctx, bodyKey{}, &b), in); err != nil {
		t.Fatal(err)
	}
	if b.buf != nil {
		t.Fatal("FastPutRecords wrote the body under another protocol")
	}
	if len(rec.bodies) != 1 || !json.Valid(rec.bodies[0]) {
		t.Fatalf("%d calls", len(rec.bodies))
	}
}
