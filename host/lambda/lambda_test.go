package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/kpl"
)

// jsonStage fails records that are not JSON objects and echoes the rest.
type jsonStage struct{}

func (jsonStage) Process(_ context.Context, recs []engine.Record) ([]engine.Result, error) {
	out := make([]engine.Result, len(recs))
	for i, r := range recs {
		var m map[string]any
		if json.Unmarshal(r.Data, &m) != nil {
			out[i] = engine.Result{Status: engine.StatusFailed, Err: errors.New("not a JSON object")}
			continue
		}
		out[i] = engine.Result{Outputs: []engine.Output{{Data: r.Data}}}
	}
	return out, nil
}

func (jsonStage) Close(context.Context) error { return nil }

// memSink records what it is given.
type memSink struct{ got [][]byte }

func (s *memSink) Write(_ context.Context, o []engine.Output) error {
	for _, x := range o {
		s.got = append(s.got, x.Data)
	}
	return nil
}
func (s *memSink) Close(context.Context) error { return nil }

func newHandler(t *testing.T, maxAttempts int) (*Handler, *memSink, *memSink) {
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Name: "s", Module: "x.wasm"}}}
	p, err := engine.NewPipeline(context.Background(), cfg, func(context.Context, engine.StageConfig, string) (engine.Stage, error) { return jsonStage{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	out, dlq := &memSink{}, &memSink{}
	return &Handler{Pipeline: p, Sinks: map[string]engine.Sink{"default": out, "dlq": dlq}, DeadLetter: "dlq", MaxAttempts: maxAttempts, Attempts: &MemoryAttempts{}}, out, dlq
}

func kinesisJSON(datas ...string) []byte {
	var recs []string
	for i, d := range datas {
		recs = append(recs, fmt.Sprintf(`{"eventSource":"aws:kinesis","eventID":"shardId-0:%d","eventSourceARN":"arn:aws:kinesis:us-east-1:1:stream/s","kinesis":{"data":%q,"partitionKey":"p","sequenceNumber":"%d","approximateArrivalTimestamp":1700000000.5}}`, i+1, d, i+1))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestKinesis(t *testing.T) {
	agg, _ := kpl.Aggregate([]kpl.UserRecord{{PartitionKey: "a", Data: []byte(`{"n":1}`)}, {PartitionKey: "b", Data: []byte(`{"n":2}`)}}, 0)
	badKPL := bytes.Clone(agg[0].Data)
	badKPL[len(badKPL)-1] ^= 1
	aggBad, _ := kpl.Aggregate([]kpl.UserRecord{{PartitionKey: "a", Data: []byte(`{"n":3}`)}, {PartitionKey: "b", Data: []byte(`oops`)}}, 0)
	enc := base64.StdEncoding.EncodeToString
	// Records long enough for the vector base64 decoder (it stops at the
	// first byte outside the alphabet; encoding/base64 does the rest).
	long := b64(strings.Repeat(`{"pad":"`+strings.Repeat("x", 90)+`"}`+"\n", 60))
	longBad := long[:3001] + "!" + long[3002:]
	longBreak := long[:2000] + "\n" + long[2000:] // encoding/base64 skips line breaks
	cases := []struct {
		name     string
		event    []byte
		failures []string
		out      int
	}{
		{"plain", kinesisJSON(b64(`{"a":1}`), b64(`{"a":2}`)), nil, 2},
		{"ndjson and array", kinesisJSON(b64("{\"a\":1}\n{\"a\":2}\n"), b64(`[{"a":3},{"a":4}]`)), nil, 4},
		{"kpl", kinesisJSON(enc(agg[0].Data)), nil, 2},
		{"bad base64 fails its record only", kinesisJSON(b64(`{"a":1}`), "!!!", b64(`{"a":2}`)), []string{"2"}, 1},
		{"bad md5", kinesisJSON(enc(badKPL), b64(`{"a":2}`)), []string{"1"}, 0},
		{"long records", kinesisJSON(long, longBreak), nil, 120},
		{"bad base64 deep in a long record", kinesisJSON(long, longBad), []string{"2"}, 60},
		{"sub-record failure fails the parent", kinesisJSON(b64(`{"a":1}`), enc(aggBad[0].Data), b64(`not json`)), []string{"2", "3"}, 1},
		{"neither ndjson nor array", kinesisJSON(b64(`{"a":`)), []string{"1"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, out, _ := newHandler(t, 3)
			resp, err := h.Invoke(context.Background(), tc.event)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
			}
			if err := json.Unmarshal(resp, &got); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range got.BatchItemFailures {
				ids = append(ids, f.ItemIdentifier)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.failures) || len(out.got) != tc.out {
				t.Fatalf("failures %v (want %v), %d outputs (want %d)", ids, tc.failures, len(out.got), tc.out)
			}
		})
	}
}

func TestKinesisDeadLetterAfterMaxAttempts(t *testing.T) {
	h, out, dlq := newHandler(t, 2)
	ev := kinesisJSON(b64(`{"a":1}`), b64(`nope`), b64(`{"a":2}`))
	for attempt := 1; attempt <= 2; attempt++ {
		resp, err := h.Invoke(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		failed := strings.Contains(string(resp), `"itemIdentifier":"2"`)
		if failed != (attempt == 1) {
			t.Fatalf("attempt %d: %s", attempt, resp)
		}
	}
	if len(dlq.got) != 1 || !strings.Contains(string(dlq.got[0]), `"record":"nope"`) || !strings.Contains(string(dlq.got[0]), "after 2 attempts") {
		t.Fatalf("dead letters: %q", dlq.got)
	}
	// Attempt 1 delivered record 1 only (ordered); attempt 2 all three.
	if len(out.got) != 3 {
		t.Fatalf("outputs: %q", out.got)
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]string{
		`{"Records":[{"eventSource":"aws:kinesis"}]}`:               SourceKinesis,
		`{"Records":[{"eventSource":"aws:sqs"}]}`:                   SourceSQS,
		`{"Records":[{"EventSource":"aws:sns"}]}`:                   SourceSNS,
		`{"Records":[{"eventSource":"aws:s3"}]}`:                    SourceS3,
		`{"Records":[{"eventSource":"aws:dynamodb"}]}`:              SourceDynamoDB,
		`{"invocationId":"x","deliveryStreamArn":"a","records":[]}`: SourceFirehose,
		`{"rawPath":"/","requestContext":{}}`:                       SourceAPIGW,
		`{"Records":[{"eventSource":"aws:kafka"}]}`:                 "",
		`[1,2]`:                        SourceDirect,
		` [{"a":1}]`:                   SourceDirect,
		`{"eventName":"ConsoleLogin"}`: SourceDirect,
		`{"version":"0","id":"e1","detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"type":"Recon"}}`: SourceEventBridge,
		`not json`: "",
	}
	for ev, want := range cases {
		got, err := Detect([]byte(ev))
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Detect(%s) = %q, %v; want %q", ev, got, err, want)
		}
	}
}

func TestSQSAndFirehose(t *testing.T) {
	h, out, _ := newHandler(t, 5)
	sqsEv := `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{\"a\":1}","attributes":{"ApproximateReceiveCount":"1"}},
		{"messageId":"m2","eventSource":"aws:sqs","body":"bad","attributes":{"ApproximateReceiveCount":"1"}},
		{"messageId":"m3","eventSource":"aws:sqs","body":"{\"a\":3}","attributes":{"ApproximateReceiveCount":"1"}}]}`
	resp, err := h.Invoke(context.Background(), []byte(sqsEv))
	if err != nil || string(resp) != `{"batchItemFailures":[{"itemIdentifier":"m2"}]}` || len(out.got) != 2 {
		t.Fatalf("sqs: %s %v %q", resp, err, out.got)
	}
	fh := fmt.Sprintf(`{"invocationId":"i","deliveryStreamArn":"arn","records":[{"recordId":"r1","data":%q},{"recordId":"r2","data":%q},{"recordId":"r3","data":%q}]}`,
		b64("{\"a\":1}\n{\"a\":2}"), b64("bad"), b64("[]"))
	resp, err = h.Invoke(context.Background(), []byte(fh))
	if err != nil {
		t.Fatal(err)
	}
	var fr struct {
		Records []struct {
			RecordID, Result string
			Data             []byte
		} `json:"records"`
	}
	if err := json.Unmarshal(resp, &fr); err != nil {
		t.Fatal(err)
	}
	if len(fr.Records) != 3 || fr.Records[0].Result != "Ok" || string(fr.Records[0].Data) != "{\"a\":1}\n{\"a\":2}\n" ||
		fr.Records[1].Result != "ProcessingFailed" || fr.Records[2].Result != "Dropped" {
		t.Fatalf("firehose: %s", resp)
	}
}

func TestMalformedEvent(t *testing.T) {
	h, _, _ := newHandler(t, 3)
	for _, ev := range []string{`not json`, `{"Records":[{"eventSource":"aws:kinesis","kinesis":{"data":"e30="}}]}`} {
		if _, err := h.Invoke(context.Background(), []byte(ev)); err == nil {
			t.Errorf("Invoke(%s): no error", ev)
		}
	}
}

// TestS3TestEvent checks that the s3:TestEvent message S3 sends to a
// queue when notifications are set up is consumed without records.
func TestS3TestEvent(t *testing.T) {
	h, out, _ := newHandler(t, 3)
	body := `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}`
	ev, _ := json.Marshal(map[string]any{"Records": []map[string]any{
		{"messageId": "m1", "body": body, "eventSource": "aws:sqs", "attributes": map[string]string{"ApproximateReceiveCount": "1"}},
		{"messageId": "m2", "body": `{"a":1}`, "eventSource": "aws:sqs", "attributes": map[string]string{"ApproximateReceiveCount": "1"}},
	}})
	resp, err := h.Invoke(context.Background(), ev)
	if err != nil || string(resp) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s, %v", resp, err)
	}
	if len(out.got) != 1 || string(out.got[0]) != `{"a":1}` {
		t.Errorf("outputs %q", out.got)
	}
}

// TestDecodeEvent decodes saved events of every source without an S3
// client, as replay does: records in order with their ids as sequence
// numbers, undecodable units returned apart, naming their id.
func TestDecodeEvent(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		source, event string
		want          []string // data|seq
		unitErrs      []string
	}{
		{SourceSNS, `{"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"sns-1","TopicArn":"arn:t","Message":"{\"a\":1}\n{\"a\":2}"}}]}`,
			[]string{`{"a":1}|sns-1`, `{"a":2}|sns-1`}, nil},
		{SourceDynamoDB, `{"Records":[{"eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{"Keys":{"id":{"S":"x"}},"SequenceNumber":"7"}},{"eventName":"REMOVE","eventSource":"aws:dynamodb","dynamodb":{"Keys":{"id":{"Q":"x"}},"SequenceNumber":"8"}}]}`,
			[]string{`{"event_name":"INSERT","keys":{"id":"x"}}|7`}, []string{"dynamodb record 1 (seq 8)"}},
		{SourceFirehose, `{"deliveryStreamArn":"arn:d","records":[{"recordId":"r1","data":"` + b64([]byte(`[{"a":1},{"a":2}]`)) + `"},{"recordId":"r2","data":"%%"}]}`,
			[]string{`{"a":1}|r1`, `{"a":2}|r1`}, []string{"firehose record 1 (r2): invalid base64"}},
		{SourceAPIGW, `{"rawPath":"/","requestContext":{"requestId":"q"},"isBase64Encoded":true,"body":"` + b64([]byte("{\"a\":1}\n{\"a\":2}\n")) + `"}`,
			[]string{`{"a":1}|1`, `{"a":2}|2`}, nil},
	} {
		for _, src := range []string{tc.source, SourceAuto} {
			h := &Handler{Source: src}
			recs, unitErrs, err := h.DecodeEvent(context.Background(), []byte(tc.event))
			if err != nil {
				t.Fatalf("%s (%s): %v", tc.source, src, err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, string(r.Data)+"|"+r.Meta.SequenceNumber)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s (%s): records\n%s\nwant\n%s", tc.source, src, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(unitErrs) != len(tc.unitErrs) {
				t.Errorf("%s (%s): unit errors %v, want %v", tc.source, src, unitErrs, tc.unitErrs)
				continue
			}
			for i, e := range unitErrs {
				if !strings.Contains(e.Error(), tc.unitErrs[i]) {
					t.Errorf("%s: unit error %v, want %q", tc.source, e, tc.unitErrs[i])
				}
			}
		}
	}
	// An S3 notification needs an S3 client; its absence names the object.
	_, unitErrs, err := (&Handler{}).DecodeEvent(context.Background(), []byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","sequencer":"1"}}}]}`))
	if err != nil || len(unitErrs) != 1 || !strings.Contains(unitErrs[0].Error(), "s3 record 0") {
		t.Errorf("S3 without a client: %v %v", unitErrs, err)
	}
}

// TestDynamoDBDocuments: DynamoDB stream records become plain JSON
// documents (event name, keys, images with their attribute types
// unwrapped), in order, each carrying its sequence number.
func TestDynamoDBDocuments(t *testing.T) {
	ev := `{"Records":[
{"eventID":"1","eventName":"INSERT","eventSource":"aws:dynamodb","eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024","dynamodb":{"ApproximateCreationDateTime":1700000000,"Keys":{"id":{"S":"u1"}},"NewImage":{"id":{"S":"u1"},"age":{"N":"42"},"tags":{"SS":["a","b"]},"admin":{"BOOL":true},"profile":{"M":{"city":{"S":"Paris"}}}},"SequenceNumber":"111","StreamViewType":"NEW_AND_OLD_IMAGES"}},
{"eventID":"2","eventName":"MODIFY","eventSource":"aws:dynamodb","eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024","dynamodb":{"Keys":{"id":{"S":"u1"}},"NewImage":{"id":{"S":"u1"},"age":{"N":"43"}},"OldImage":{"id":{"S":"u1"},"age":{"N":"42"}},"SequenceNumber":"222","StreamViewType":"NEW_AND_OLD_IMAGES"}}]}`
	h := &Handler{Source: SourceAuto}
	recs, unitErrs, err := h.DecodeEvent(context.Background(), []byte(ev))
	if err != nil || len(unitErrs) != 0 {
		t.Fatal(err, unitErrs)
	}
	want := []struct{ seq, data string }{
		{"111", `{"event_name":"INSERT","keys":{"id":"u1"},"new_image":{"admin":true,"age":42,"id":"u1","profile":{"city":"Paris"},"tags":["a","b"]}}`},
		{"222", `{"event_name":"MODIFY","keys":{"id":"u1"},"new_image":{"age":43,"id":"u1"},"old_image":{"age":42,"id":"u1"}}`},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		if string(recs[i].Data) != w.data || recs[i].Meta.SequenceNumber != w.seq {
			t.Errorf("record %d = %s %s, want %s %s", i, recs[i].Meta.SequenceNumber, recs[i].Data, w.seq, w.data)
		}
	}
}

func TestLooksLikeEvent(t *testing.T) {
	for _, tc := range []struct {
		rec, source string
	}{
		{`{"kinesis":{"data":"e30="},"eventSource":"aws:kinesis"}`, SourceKinesis},
		{`{"Records":[{"kinesis":{"data":"e30="},"eventSource":"aws:kinesis"}]}`, SourceKinesis},
		{`{"messageId":"1","body":"{}","eventSource":"aws:sqs"}`, SourceSQS},
		{`{"EventSource":"aws:sns","Sns":{}}`, SourceSNS},
		{`{"eventSource":"aws:s3","s3":{}}`, SourceS3},
		{`{"eventSource":"aws:dynamodb","dynamodb":{}}`, SourceDynamoDB},
		{`{"invocationId":"i","deliveryStreamArn":"a","records":[]}`, SourceFirehose},
		{`{"requestContext":{},"rawPath":"/"}`, SourceAPIGW},
		{`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin"}`, ""},
		{`{"Records":[{"eventSource":"s3.amazonaws.com"}]}`, ""},
		{`{"eventSource":"aws:kinesis"}`, ""}, // no kinesis member
		{`[1]`, ""},
		{`not json`, ""},
	} {
		source, why, ok := LooksLikeEvent([]byte(tc.rec))
		if source != tc.source || ok != (tc.source != "") || ok && why == "" {
			t.Errorf("%s: %q %q %v, want %q", tc.rec, source, why, ok, tc.source)
		}
	}
}
