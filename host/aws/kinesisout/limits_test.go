package kinesisout

import (
	"bytes"
	"context"
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

// TestRequestLimitKinesalite: on a stream with the default record limit,
// PutRecords calls carry up to 5 MiB (kinesalite refuses larger requests
// with 413, as the service did before large records), and a record at the
// 1 MiB limit (data plus partition key) goes through while one byte more
// is refused before any call, naming the output and the setting.
func TestRequestLimitKinesalite(t *testing.T) {
	hosttest.SetAWSEnv(t)
	kin := hosttest.Kinesalite(t)
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) { testRequestLimit(t, proto, kin, "limits-"+string(proto)) })
	}
}

func testRequestLimit(t *testing.T, proto Protocol, kin, stream string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target, _ := url.Parse(kin)
	proxy := &faultProxy{fault: map[int]string{}, next: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	kc := kinesisClient(ctx, t, proto, srv.URL, 3, 100*time.Millisecond)
	// The stream is made, and waited for until ACTIVE, straight on
	// kinesalite: the fault proxy counts only the sink's requests.
	hosttest.CreateStream(ctx, t, kinesisClient(ctx, t, proto, target.String(), 3, 100*time.Millisecond), stream, 1)
	sink := New(kc, Options{Stream: stream, Parallel: 1}) // calls in order, for their shapes
	var outs []engine.Output
	for i := range 9 {
		outs = append(outs, engine.Output{Data: bytes.Repeat([]byte{byte('a' + i)}, 1000<<10)})
	}
	if err := sink.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(proxy.calls) != "[5 4]" {
		t.Fatalf("records per PutRecords call %v, want [5 4] (5000 KiB per 5 MiB request)", proxy.calls)
	}
	keyLen := len(awsconf.RandomKey())
	edge := engine.Output{Data: make([]byte, DefaultMaxRecordBytes-keyLen)}
	if err := sink.Write(ctx, []engine.Output{edge}); err != nil {
		t.Fatalf("a record of exactly 1 MiB with its key: %v", err)
	}
	proxy.calls = nil
	over := engine.Output{Data: make([]byte, DefaultMaxRecordBytes-keyLen+1)}
	err := sink.Write(ctx, []engine.Output{edge, over})
	if err == nil || !strings.Contains(err.Error(), "output 1:") || !strings.Contains(err.Error(), "max_record_bytes") || len(proxy.calls) != 0 {
		t.Fatalf("one byte over: %v after %v calls", err, proxy.calls)
	}
}

// largeKinesis is a loopback Kinesis speaking the JSON and CBOR wire
// protocols (Kinesis_20131202.PutRecords, UpdateMaxRecordSize; answering
// in the request's format) with today's record
// limits: 1 MiB per record (data plus partition key) until
// UpdateMaxRecordSize raises it to at most 10 MiB, and 10 MiB and 500
// records per PutRecords request. kinesalite predates large records (it
// caps data at 1 MiB), hence this server.
type largeKinesis struct {
	mu       sync.Mutex
	maxKiB   int
	calls    []int
	accepted [][]byte
}

func (k *largeKinesis) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(typ, msg string) {
		writeKinesis(w, r, 400, map[string]string{"__type": typ, "message": msg})
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("SerializationException", err.Error())
		return
	}
	decode := func(v any) bool {
		if err := decodeBody(body, requestIsCBOR(r), v); err != nil {
			fail("SerializationException", err.Error())
			return false
		}
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202."); op {
	case "UpdateMaxRecordSize":
		var in struct{ MaxRecordSizeInKiB int }
		if !decode(&in) {
			return
		}
		if in.MaxRecordSizeInKiB < 1024 || in.MaxRecordSizeInKiB > 10240 {
			fail("ValidationException", "MaxRecordSizeInKiB must be between 1024 and 10240")
			return
		}
		k.maxKiB = in.MaxRecordSizeInKiB
		writeKinesis(w, r, 200, struct{}{})
	case "PutRecords":
		var in struct {
			Records []struct {
				Data         []byte
				PartitionKey string
			}
		}
		if !decode(&in) {
			return
		}
		if len(in.Records) > 500 {
			fail("ValidationException", "more than 500 records")
			return
		}
		total, limit := 0, max(k.maxKiB, 1024)<<10
		for i, rec := range in.Records {
			n := len(rec.Data) + len(rec.PartitionKey)
			total += n
			if n > limit {
				fail("ValidationException", fmt.Sprintf("1 validation error detected: Value at 'records.%d.member.data' failed to satisfy constraint: Member must have length less than or equal to %d", i+1, limit))
				return
			}
		}
		if total > 10<<20 {
			fail("InvalidArgumentException", fmt.Sprintf("Records size exceeds 10 MB limit: %d", total))
			return
		}
		k.calls = append(k.calls, len(in.Records))
		out := struct {
			FailedRecordCount int
			Records           []map[string]string
		}{}
		for _, rec := range in.Records {
			k.accepted = append(k.accepted, rec.Data)
			out.Records = append(out.Records, map[string]string{"SequenceNumber": fmt.Sprint(len(k.accepted)), "ShardId": "shardId-000000000000"})
		}
		writeKinesis(w, r, 200, out)
	default:
		fail("UnknownOperationException", op)
	}
}

// TestLargeRecords: max_record_bytes lets a stream configured for large
// records take outputs (and aggregated records) up to 10 MiB; at the
// default 1 MiB they are refused before any call, naming the output.
func TestLargeRecords(t *testing.T) {
	hosttest.SetAWSEnv(t)
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) { testLargeRecords(t, proto) })
	}
}

func testLargeRecords(t *testing.T, proto Protocol) {
	ctx := context.Background()
	k := &largeKinesis{}
	srv := httptest.NewServer(k)
	defer srv.Close()
	kc := kinesisClient(ctx, t, proto, srv.URL, 1, 10*time.Millisecond)
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/large"
	big := func(c byte, n int) engine.Output { return engine.Output{Data: bytes.Repeat([]byte{c}, n)} }
	// Parallel 1: the calls go in order, for the call shapes checked
	// below (TestParallelWrite covers parallel calls).
	large := New(kc, Options{Stream: arn, MaxRecordBytes: MaxLargeRecordBytes, Parallel: 1})

	// The setting must match the stream: before UpdateMaxRecordSize the
	// service refuses, and the error names the output.
	err := large.Write(ctx, []engine.Output{big('a', 3<<20)})
	if err == nil || !strings.Contains(err.Error(), "outputs 0") || !strings.Contains(err.Error(), "ValidationException") {
		t.Fatalf("before the stream was raised: %v", err)
	}
	if _, err := kc.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String(arn), MaxRecordSizeInKiB: aws.Int32(10240)}); err != nil {
		t.Fatal(err)
	}
	// The default setting refuses a 3 MiB output itself.
	err = New(kc, Options{Stream: arn}).Write(ctx, []engine.Output{big('a', 3<<20)})
	if err == nil || !strings.Contains(err.Error(), "output 0:") || !strings.Contains(err.Error(), "1048576-byte record limit") {
		t.Fatalf("default limit: %v", err)
	}

	keyLen := len(awsconf.RandomKey())
	// Calls of up to 10 MiB: 3 MiB alone (9 MiB more would pass 10 MiB),
	// then 9 MiB + 1 KiB, then a record of exactly 10 MiB with its key.
	outs := []engine.Output{big('a', 3<<20), big('b', 9<<20), big('c', 1<<10), big('d', MaxLargeRecordBytes-keyLen)}
	if err := large.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(k.calls) != "[1 2 1]" || len(k.accepted) != len(outs) {
		t.Fatalf("records per call %v, %d accepted", k.calls, len(k.accepted))
	}
	for i, o := range outs {
		if !bytes.Equal(k.accepted[i], o.Data) {
			t.Fatalf("record %d differs", i)
		}
	}
	err = large.Write(ctx, []engine.Output{big('x', MaxLargeRecordBytes-keyLen+1)})
	if err == nil || !strings.Contains(err.Error(), "output 0:") || !strings.Contains(err.Error(), "10485760-byte record limit") {
		t.Fatalf("over 10 MiB: %v", err)
	}

	// Aggregated: six 2 MiB outputs make two records of about 8 and 4 MiB.
	k.calls, k.accepted = nil, nil
	agg := New(kc, Options{Stream: arn, Aggregate: true, MaxRecordBytes: MaxLargeRecordBytes, Parallel: 1})
	var six []engine.Output
	for i := range 6 {
		six = append(six, big(byte('0'+i), 2<<20))
	}
	if err := agg.Write(ctx, six); err != nil {
		t.Fatal(err)
	}
	if len(k.accepted) != 2 {
		t.Fatalf("%d aggregated records, want 2", len(k.accepted))
	}
	var got []engine.Output
	for _, rec := range k.accepted {
		users, err := kpl.Deaggregate(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			got = append(got, engine.Output{Data: u.Data})
		}
	}
	if len(got) != len(six) {
		t.Fatalf("%d user records, want %d", len(got), len(six))
	}
	for i := range six {
		if !bytes.Equal(got[i].Data, six[i].Data) {
			t.Fatalf("user record %d differs", i)
		}
	}
}
