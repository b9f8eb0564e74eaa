package kinesisout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/cbor"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// bodyRecorder is a loopback PutRecords endpoint that keeps each request's
// body and headers and accepts every record (answering in the request's
// wire format).
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
	if err := decodeBody(body, requestIsCBOR(r), &in); err != nil {
		writeKinesis(w, r, 400, map[string]string{"__type": "SerializationException", "message": err.Error()})
		return
	}
	recs := make([]map[string]string, len(in.Records))
	for i := range recs {
		recs[i] = map[string]string{"SequenceNumber": "1", "ShardId": "shardId-000000000000"}
	}
	writeKinesis(w, r, 200, map[string]any{"FailedRecordCount": 0, "Records": recs})
}

// newRecorder starts a bodyRecorder on loopback (closed with the test) and
// returns it with an SDK configuration (one attempt) and its URL.
func newRecorder(t *testing.T) (*bodyRecorder, aws.Config, string) {
	t.Helper()
	rec := &bodyRecorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	cfg, err := awsconf.Load(context.Background(), "us-east-1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rec, cfg, srv.URL
}

// TestFastPutRecordsBody: the body FastPutRecords writes is, as JSON, the
// one the SDK's serializer writes for the same input (every member set or
// not, strings that need escaping, invalid UTF-8, empty Data,
// Data long enough for the vector encoder; the SDK refuses nil Data and
// partition keys before serializing), with the same target and
// content type; the body CBORPutRecords writes, decoded by smithy-go's
// CBOR decoder, means that JSON too (Data as byte strings), under the
// same target and the CBOR content type; and the calls succeed through
// the SDK.
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
			var got [3]*bodyRecorder
			for i, opt := range []func(*kinesis.Options){nil, FastPutRecords, CBORPutRecords} {
				rec, cfg, url := newRecorder(t)
				opts := []func(*kinesis.Options){func(o *kinesis.Options) { o.BaseEndpoint = aws.String(url) }}
				if opt != nil {
					opts = append(opts, opt)
				}
				in := tt.in
				out, err := kinesis.NewFromConfig(cfg, opts...).PutRecords(ctx, &in)
				if err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
				if len(rec.bodies) != 1 {
					t.Fatalf("client %d: %d calls", i, len(rec.bodies))
				}
				if len(out.Records) != len(in.Records) || aws.ToInt32(out.FailedRecordCount) != 0 ||
					(len(out.Records) > 0 && aws.ToString(out.Records[0].ShardId) != "shardId-000000000000") {
					t.Fatalf("client %d: response %+v", i, out)
				}
				got[i] = rec
			}
			var sdk, fast, cbor any
			if err := json.Unmarshal(got[0].bodies[0], &sdk); err != nil {
				t.Fatalf("SDK body: %v", err)
			}
			if err := json.Unmarshal(got[1].bodies[0], &fast); err != nil {
				t.Fatalf("fast body %.200q: %v", got[1].bodies[0], err)
			}
			if err := decodeBody(got[2].bodies[0], true, &cbor); err != nil {
				t.Fatalf("CBOR body %.200q: %v", got[2].bodies[0], err)
			}
			if !reflect.DeepEqual(sdk, fast) {
				t.Errorf("bodies differ:\nSDK  %.300s\nfast %.300s", got[0].bodies[0], got[1].bodies[0])
			}
			if !reflect.DeepEqual(sdk, cbor) {
				t.Errorf("CBOR body differs:\nSDK  %.300s\nCBOR %.300v", got[0].bodies[0], cbor)
			}
			if n := putRecordsCBORSize(&tt.in); n != len(got[2].bodies[0]) {
				t.Errorf("CBOR body of %d bytes, putRecordsCBORSize %d", len(got[2].bodies[0]), n)
			}
			for _, h := range []string{"X-Amz-Target", "Content-Type"} {
				if a, b := got[0].headers[0].Get(h), got[1].headers[0].Get(h); a != b || a == "" {
					t.Errorf("%s: SDK %q, fast %q", h, a, b)
				}
			}
			if a, b := got[0].headers[0].Get("X-Amz-Target"), got[2].headers[0].Get("X-Amz-Target"); a != b {
				t.Errorf("X-Amz-Target: SDK %q, CBOR %q", a, b)
			}
			if ct := got[2].headers[0].Get("Content-Type"); ct != "application/x-amz-cbor-1.1" {
				t.Errorf("CBOR Content-Type %q", ct)
			}
		})
	}
}

// TestFastPutRecordsMembers fails when the SDK's PutRecords types gain a
// member that appendPutRecords and writePutRecordsCBOR do not write (it
// would be dropped silently): add it there (and to putRecordsSize and
// putRecordsCBORSize), and to TestFastPutRecordsBody.
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

// TestFastPutRecordsKinesalite: records put over either wire format read
// back from kinesalite (with GetRecords over JSON, the SDK's) byte for
// byte, with their partition keys: JSON text, every byte value, a
// one-byte record, one at the 1 MiB record limit, unicode and quoted
// partition keys, and an ExplicitHashKey.
func TestFastPutRecordsKinesalite(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	kin := hosttest.Kinesalite(t)
	every := make([]byte, 200000)
	for i := range every {
		every[i] = byte(i % 251)
	}
	const bigKey = "pk-groß-日本-🙂"
	big := bytes.Repeat([]byte{0xff, 0x00, 0x80}, (DefaultMaxRecordBytes-len(bigKey))/3)
	records := []types.PutRecordsRequestEntry{
		{Data: []byte(`{"a":"é"}`), PartitionKey: aws.String(`pk "a"`)},
		{Data: every, PartitionKey: aws.String("ключ")},
		{Data: []byte{0, 1, 2, 255}, PartitionKey: aws.String("pk\\tab\t")},
		{Data: []byte{0}, PartitionKey: aws.String("x")},
		{Data: big, PartitionKey: aws.String(bigKey)},
		{Data: []byte("hashed"), PartitionKey: aws.String("h"), ExplicitHashKey: aws.String("170141183460469231731687303715884105728")},
	}
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			kc := kinesisClient(ctx, t, proto, kin, 3, 100*time.Millisecond)
			stream := "fast-" + string(proto)
			hosttest.CreateStream(ctx, t, kc, stream, 1)
			in := &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: records}
			out, err := kc.PutRecords(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != len(records) {
				t.Fatalf("%d records failed, %d results", aws.ToInt32(out.FailedRecordCount), len(out.Records))
			}
			for i, r := range out.Records {
				if aws.ToString(r.SequenceNumber) == "" || aws.ToString(r.ShardId) != "shardId-000000000000" {
					t.Fatalf("result %d: sequence number %q, shard %q", i, aws.ToString(r.SequenceNumber), aws.ToString(r.ShardId))
				}
			}
			// Read back over JSON (the SDK's own client).
			cfg, err := awsconf.Load(ctx, "us-east-1", 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			plain := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kin) })
			it, err := plain.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: out.Records[0].ShardId,
				ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := plain.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs.Records) != len(records) {
				t.Fatalf("%d records read back, want %d", len(recs.Records), len(records))
			}
			for i, r := range recs.Records {
				if !bytes.Equal(r.Data, records[i].Data) || aws.ToString(r.PartitionKey) != aws.ToString(records[i].PartitionKey) ||
					aws.ToString(r.SequenceNumber) != aws.ToString(out.Records[i].SequenceNumber) {
					t.Errorf("record %d: %d bytes, key %q; want %d bytes, key %q", i, len(r.Data), aws.ToString(r.PartitionKey), len(records[i].Data), aws.ToString(records[i].PartitionKey))
				}
			}
		})
	}
}

// TestPutRecordsErrors: over either wire format, a whole-call error is the
// SDK's typed error (a stream kinesalite does not have:
// *types.ResourceNotFoundException naming it; throttling:
// *types.ProvisionedThroughputExceededException; an unknown code:
// smithy.GenericAPIError with code and message), and a malformed answer is
// a smithy.DeserializationError, not a panic.
func TestPutRecordsErrors(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	kin := hosttest.Kinesalite(t)
	in := func(stream string) *kinesis.PutRecordsInput {
		return &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: []types.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("k")}}}
	}
	for _, proto := range protocols {
		t.Run(string(proto)+"/no such stream", func(t *testing.T) {
			_, err := kinesisClient(ctx, t, proto, kin, 1, 0).PutRecords(ctx, in("no-such-stream"))
			var rnf *types.ResourceNotFoundException
			if !errors.As(err, &rnf) || !strings.Contains(rnf.ErrorMessage(), "no-such-stream") {
				t.Fatalf("err = %T %v, want a ResourceNotFoundException naming the stream", err, err)
			}
		})
	}
	// Canned answers, in the wire format of the request unless raw.
	for _, tc := range []struct {
		name   string
		status int
		body   any    // encoded in the request's format
		raw    []byte // sent as is, with the CBOR content type
		check  func(error) bool
	}{
		{"throttled", 400, map[string]string{"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded for shard"}, nil, func(err error) bool {
			var e *types.ProvisionedThroughputExceededException
			return errors.As(err, &e) && e.ErrorMessage() == "Rate exceeded for shard"
		}},
		{"namespaced type", 400, map[string]string{"__type": "com.amazonaws.kinesis#KMSThrottlingException", "Message": "slow down"}, nil, func(err error) bool {
			var e *types.KMSThrottlingException
			return errors.As(err, &e) && e.ErrorMessage() == "slow down"
		}},
		{"unknown code", 400, map[string]string{"__type": "SomethingNewException", "message": "new"}, nil, func(err error) bool {
			var e *smithy.GenericAPIError
			return errors.As(err, &e) && e.Code == "SomethingNewException" && e.Message == "new"
		}},
		{"malformed error", 400, nil, []byte{0xa1, 0x66, '_', '_', 't'}, isDeserializationError},
		{"malformed answer", 200, nil, []byte{0xbf, 0x01}, isDeserializationError},
		{"answer not a map", 200, nil, []byte{0x83, 1, 2, 3}, isDeserializationError},
		{"records not an array", 200, nil, cbor.Encode(cbor.Map{"FailedRecordCount": cbor.Uint(0), "Records": cbor.String("x")}), isDeserializationError},
		{"count not a number", 200, nil, cbor.Encode(cbor.Map{"FailedRecordCount": cbor.String("0")}), isDeserializationError},
	} {
		for _, proto := range protocols {
			if tc.raw != nil && proto == JSON {
				continue
			}
			t.Run(string(proto)+"/"+tc.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tc.raw == nil {
						writeKinesis(w, r, tc.status, tc.body)
						return
					}
					w.Header().Set("Content-Type", cborContentType)
					w.WriteHeader(tc.status)
					_, _ = w.Write(tc.raw)
				}))
				defer srv.Close()
				_, err := kinesisClient(ctx, t, proto, srv.URL, 1, 0).PutRecords(ctx, in("s"))
				if err == nil || !tc.check(err) {
					t.Fatalf("err = %T %v", err, err)
				}
				t.Logf("%v", err)
			})
		}
	}
}

// isDeserializationError reports whether err wraps a
// smithy.DeserializationError.
func isDeserializationError(err error) bool {
	var e *smithy.DeserializationError
	return errors.As(err, &e)
}

// FuzzPutRecordsCBOR: the CBOR body of any input is exactly
// putRecordsCBORSize bytes, and smithy-go's decoder reads it back as the
// input: Data byte for byte, strings as encoding/json carries them
// (invalid UTF-8 bytes as U+FFFD).
func FuzzPutRecordsCBOR(f *testing.F) {
	f.Add([]byte("data"), "pk", "", "stream", true)
	f.Add(make([]byte, 70000), "ключ \xff", "340282366920938463463374607431768211455", "s\x00", false)
	f.Add([]byte{}, "", "", "", false)
	f.Fuzz(func(t *testing.T, data []byte, pk, hash, stream string, dryRun bool) {
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream), DryRun: aws.Bool(dryRun), Records: []types.PutRecordsRequestEntry{
			{Data: data, PartitionKey: aws.String(pk)}, {Data: data[:len(data)/2], PartitionKey: aws.String(stream), ExplicitHashKey: aws.String(hash)}}}
		if len(data)%3 == 0 {
			in.StreamARN, in.StreamName, in.Records[1].ExplicitHashKey = aws.String(stream), nil, nil
		}
		b := appendPutRecordsCBOR([]byte("prefix"), in)
		if string(b[:6]) != "prefix" || len(b)-6 != putRecordsCBORSize(in) {
			t.Fatalf("%d bytes written, putRecordsCBORSize %d", len(b)-6, putRecordsCBORSize(in))
		}
		checkPieces(t, in, b[6:], len(data))
		v, err := cbor.Decode(b[6:])
		if err != nil {
			t.Fatal(err)
		}
		jsonString := func(s *string) cbor.Value {
			q, _ := json.Marshal(*s)
			var u string
			_ = json.Unmarshal(q, &u)
			return cbor.String(u)
		}
		want := cbor.Map{"DryRun": cbor.Bool(dryRun), "Records": cbor.List{}}
		for _, r := range in.Records {
			m := cbor.Map{"Data": cbor.Slice(r.Data), "PartitionKey": jsonString(r.PartitionKey)}
			if r.ExplicitHashKey != nil {
				m["ExplicitHashKey"] = jsonString(r.ExplicitHashKey)
			}
			want["Records"] = append(want["Records"].(cbor.List), m)
		}
		if in.StreamName != nil {
			want["StreamName"] = jsonString(in.StreamName)
		} else {
			want["StreamARN"] = jsonString(in.StreamARN)
		}
		if !reflect.DeepEqual(normalizeSlices(v), normalizeSlices(want)) {
			t.Fatalf("decoded %#v\nwant %#v", v, want)
		}
	})
}

// checkPieces checks that cborBody(in) reads as want, the whole body, by
// Read (in chunks of every size up to 7), WriteTo and after Seek to off
// (and to the start, the end, and past it), with Len the bytes left.
func checkPieces(t *testing.T, in *kinesis.PutRecordsInput, want []byte, off int) {
	t.Helper()
	body, glue := cborBody([]byte("kept"), in)
	if string(glue[:4]) != "kept" || len(glue)-4 != cborGlueSize(in) {
		t.Fatalf("glue of %d bytes, cborGlueSize %d", len(glue)-4, cborGlueSize(in))
	}
	if body.Len() != len(want) {
		t.Fatalf("Len %d, body of %d bytes", body.Len(), len(want))
	}
	var got bytes.Buffer
	for n := 1; body.Len() > 0; n = n%7 + 1 {
		chunk := make([]byte, n)
		k, err := body.Read(chunk)
		if err != nil || k == 0 {
			t.Fatalf("Read after %d bytes: %d, %v", got.Len(), k, err)
		}
		got.Write(chunk[:k])
	}
	if k, err := body.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		t.Fatalf("Read at the end: %d, %v", k, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("Read differs from appendPutRecordsCBOR")
	}
	for _, at := range []int{0, min(off, len(want)), len(want) / 2, len(want), len(want) + 3} {
		if pos, err := body.Seek(int64(at), io.SeekStart); err != nil || pos != int64(at) {
			t.Fatalf("Seek(%d): %d, %v", at, pos, err)
		}
		if body.Len() != max(len(want)-at, 0) {
			t.Fatalf("Len after Seek(%d) = %d", at, body.Len())
		}
		var w bytes.Buffer
		if _, err := body.WriteTo(&w); err != nil || !bytes.Equal(w.Bytes(), want[min(at, len(want)):]) {
			t.Fatalf("WriteTo after Seek(%d): %d bytes, %v", at, w.Len(), err)
		}
	}
	if _, err := body.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek(-1) succeeded")
	}
	if pos, err := body.Seek(-2, io.SeekEnd); err != nil || pos != int64(len(want)-2) {
		t.Fatalf("Seek(-2, end): %d, %v", pos, err)
	}
}

// normalizeSlices makes empty byte strings compare equal to nil ones.
func normalizeSlices(v cbor.Value) cbor.Value {
	switch v := v.(type) {
	case cbor.Slice:
		if len(v) == 0 {
			return cbor.Slice(nil)
		}
	case cbor.Map:
		for k, e := range v {
			v[k] = normalizeSlices(e)
		}
	case cbor.List:
		for i, e := range v {
			v[i] = normalizeSlices(e)
		}
	}
	return v
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
// FastPutRecords and CBORPutRecords leave the body to that protocol.
func TestFastPutRecordsOtherProtocol(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			rec, cfg, url := newRecorder(t)
			var wrapped smithyhttp.ClientProtocol
			kc := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
				o.BaseEndpoint = aws.String(url)
				o.Protocol = otherProtocol{o.Protocol}
			}, proto.Option(), func(o *kinesis.Options) { wrapped = o.Protocol })
			if p, ok := wrapped.(*putRecordsProtocol); !ok || p.cbor != (proto == CBOR) {
				t.Fatalf("%s did not wrap the protocol: %T", proto, wrapped)
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
				t.Fatal("the body was written under another protocol")
			}
			if len(rec.bodies) != 1 || !json.Valid(rec.bodies[0]) {
				t.Fatalf("%d calls", len(rec.bodies))
			}
		})
	}
}

// TestProtocolOptions: the last of FastPutRecords and CBORPutRecords
// applied decides, wrapping the SDK's protocol once; ParseProtocol takes
// "", "cbor" and "json" and refuses anything else, and Open names the
// output whose protocol it refuses.
func TestProtocolOptions(t *testing.T) {
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx, "us-east-1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got smithyhttp.ClientProtocol
	kinesis.NewFromConfig(cfg, FastPutRecords, CBORPutRecords, CBORPutRecords, func(o *kinesis.Options) { got = o.Protocol })
	p, ok := got.(*putRecordsProtocol)
	if !ok || !p.cbor {
		t.Fatalf("protocol %T %+v", got, got)
	}
	if _, twice := p.ClientProtocol.(*putRecordsProtocol); twice {
		t.Fatal("wrapped twice")
	}
	for in, want := range map[string]Protocol{"": CBOR, "cbor": CBOR, "json": JSON, "CBOR": "", "xml": ""} {
		p, err := ParseProtocol(in)
		if p != want || (err != nil) != (want == "") {
			t.Errorf("ParseProtocol(%q) = %q, %v", in, p, err)
		}
	}
	if _, err := Open(ctx, "audit", engine.OutputConfig{Type: engine.OutputKinesis, Stream: "s", Protocol: "xml"}, nil); err == nil ||
		!strings.Contains(err.Error(), `kinesis output "audit"`) || !strings.Contains(err.Error(), `"xml"`) {
		t.Fatalf("Open with protocol xml: %v", err)
	}
}
