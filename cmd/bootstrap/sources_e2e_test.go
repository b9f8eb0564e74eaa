package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// ecsDoc is the part of a cloudtrail-ecs output the tests check.
type ecsDoc struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		ID       string `json:"id"`
		Original string `json:"original"`
	} `json:"event"`
}

// TestBootstrapSourcesUnderRIE runs the real bootstrap binary under the
// Lambda runtime interface emulator with WEIR_SOURCE=auto and invokes it
// with an event of every other source in turn: SQS (a poison message
// reported by message id, bodies that are S3 notifications, direct or in
// an SNS envelope), SNS (an S3 notification as message; a failure is the
// invocation's error), S3 notifications (a gzip NDJSON
// object and a zstd CloudTrail Records file in gofakes3), DynamoDB
// Streams (images as plain JSON), Firehose transformation (Ok with every
// output, Dropped, ProcessingFailed with the original data) and a
// Function URL request (the transformed records in the response, 422
// with the errors). Outputs of the asynchronous sources land in a
// gofakes3 bucket and are read back.
func TestBootstrapSourcesUnderRIE(t *testing.T) {
	rie := hosttest.RequireTool(t, "aws-lambda-rie", "scripts/ensure-tools.sh go")
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()
	awsCfg, err := awsconf.Load(ctx, "us-east-1", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(fake.URL); o.UsePathStyle = true })
	for _, b := range []string{"input", "output"} {
		if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}

	// Compact CloudTrail records, and the objects S3 notifications name.
	var ct []string
	var ids []string
	for _, r := range cloudTrailRecords(t, 12) {
		var c bytes.Buffer
		if err := json.Compact(&c, r); err != nil {
			t.Fatal(err)
		}
		ct = append(ct, c.String())
		var id struct {
			EventID string `json:"eventID"`
		}
		_ = json.Unmarshal(r, &id)
		ids = append(ids, id.EventID)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Join(ct[0:3], "\n") + "\n"))
	_ = zw.Close()
	zenc, _ := zstd.NewWriter(nil)
	trail := zenc.EncodeAll([]byte(`{"Records":[`+strings.Join(ct[3:7], ",")+`]}`), nil)
	// bzip2 (made by the bzip2 tool: Go only reads it) and framed snappy.
	bzCmd := exec.CommandContext(ctx, hosttest.RequireTool(t, "bzip2", "apt-get install bzip2"), "-c")
	bzCmd.Stdin = strings.NewReader(strings.Join(ct[0:3], "\n") + "\n")
	bz, err := bzCmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var sn bytes.Buffer
	snw := snappy.NewBufferedWriter(&sn)
	_, _ = snw.Write([]byte(strings.Join(ct[0:3], "\n") + "\n"))
	_ = snw.Close()
	for key, body := range map[string][]byte{"logs/a b.ndjson.gz": gz.Bytes(), "AWSLogs/trail.json.zst": trail, "logs/c.ndjson.bz2": bz, "logs/d.ndjson.sz": sn.Bytes()} {
		if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("input"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	module := hosttest.GoModule(t, "modules/cloudtrail-ecs")
	pipeline := fmt.Sprintf(`version: 1
name: sources
stages:
  - name: normalize
    module: %s
outputs:
  default: {type: s3, bucket: output, key: "ecs/{date}/{uuid}.ndjson{ext}", compression: gzip, endpoint: %q}
`, module, fake.URL)
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bootstrap")
	if out, err := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port, apiPort := hosttest.FreePort(t), hosttest.FreePort(t)
	env := append(hosttest.AWSEnv(), "WEIR_PIPELINE=pipeline.yaml", "WEIR_SOURCE=auto", "WEIR_S3_ENDPOINT="+fake.URL,
		"WEIR_CACHE_DIR="+filepath.Join(dir, "cache"), "LAMBDA_TASK_ROOT="+dir, "WEIR_METRICS=off")
	cmd := hosttest.StartProcess(t, env, rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Dir = dir
	hosttest.WaitPort(t, port, 20*time.Second)

	// outputs returns the ECS documents written to the output bucket
	// since the last call (and deletes them).
	outputs := func(t *testing.T) []ecsDoc {
		t.Helper()
		list, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("output")})
		if err != nil {
			t.Fatal(err)
		}
		var docs []ecsDoc
		for _, o := range list.Contents {
			if !strings.HasPrefix(*o.Key, "ecs/"+time.Now().UTC().Format("2006-01-02")) || !strings.HasSuffix(*o.Key, ".ndjson.gz") {
				t.Errorf("object key %s does not follow the template", *o.Key)
			}
			obj, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("output"), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := engine.DecodeRecords(obj.Body, *o.Key)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				var d ecsDoc
				if err := json.Unmarshal(r.Data, &d); err != nil {
					t.Fatal(err)
				}
				docs = append(docs, d)
			}
			if _, err := sc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("output"), Key: o.Key}); err != nil {
				t.Fatal(err)
			}
		}
		return docs
	}
	// sameIDs checks the ECS documents are those of the CloudTrail
	// records with the given indexes (in any order: one object per
	// invocation, but the listing is by key).
	sameIDs := func(t *testing.T, docs []ecsDoc, want ...int) {
		t.Helper()
		var got, exp []string
		for _, d := range docs {
			got = append(got, d.Event.ID)
		}
		for _, i := range want {
			exp = append(exp, ids[i])
		}
		sort.Strings(got)
		sort.Strings(exp)
		if strings.Join(got, ",") != strings.Join(exp, ",") {
			t.Errorf("outputs of events %v, want %v", got, exp)
		}
	}
	s3Notification := func(keys ...string) string {
		var recs []map[string]any
		for i, k := range keys {
			recs = append(recs, map[string]any{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
				"eventTime": "2024-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
				"s3": map[string]any{"bucket": map[string]any{"name": "input", "arn": "arn:aws:s3:::input"},
					"object": map[string]any{"key": strings.ReplaceAll(k, " ", "+"), "size": 1, "sequencer": fmt.Sprintf("00%d", i)}}})
		}
		b, _ := json.Marshal(map[string]any{"Records": recs})
		return string(b)
	}

	t.Run("sqs", func(t *testing.T) {
		// The third body is an S3 notification (S3 -> SQS), the fourth one
		// in an SNS envelope (S3 -> SNS -> SQS without raw delivery).
		envelope, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "n1", "Message": s3Notification("AWSLogs/trail.json.zst")})
		msgs := []string{ct[7], "not json {", s3Notification("logs/a b.ndjson.gz"), string(envelope)}
		var recs []map[string]any
		for i, body := range msgs {
			recs = append(recs, map[string]any{"messageId": fmt.Sprintf("msg-%d", i), "receiptHandle": "h", "body": body,
				"attributes":  map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
				"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
		}
		ev, _ := json.Marshal(map[string]any{"Records": recs})
		resp := invoke(t, port, ev)
		if string(resp) != `{"batchItemFailures":[{"itemIdentifier":"msg-1"}]}` {
			t.Errorf("response %s", resp)
		}
		sameIDs(t, outputs(t), 7, 0, 1, 2, 3, 4, 5, 6)
	})
	t.Run("sns", func(t *testing.T) {
		snsEvent := func(id, msg string) []byte {
			b, _ := json.Marshal(map[string]any{"Records": []map[string]any{{"EventSource": "aws:sns", "EventVersion": "1.0",
				"Sns": map[string]any{"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
					"Message": msg, "Timestamp": "2024-01-01T00:00:00.000Z"}}}})
			return b
		}
		if resp := invoke(t, port, snsEvent("sns-1", ct[8])); string(resp) != "null" {
			t.Errorf("response %s", resp)
		}
		sameIDs(t, outputs(t), 8)
		// S3 -> SNS: the message is an S3 notification.
		if resp := invoke(t, port, snsEvent("sns-3", s3Notification("logs/a b.ndjson.gz"))); string(resp) != "null" {
			t.Errorf("response %s", resp)
		}
		sameIDs(t, outputs(t), 0, 1, 2)
		// A failure is the invocation's error, naming the message.
		resp := invoke(t, port, snsEvent("sns-2", "not json {"))
		if !strings.Contains(string(resp), "errorMessage") || !strings.Contains(string(resp), "sns-2") {
			t.Errorf("failed SNS message: response %s", resp)
		}
		sameIDs(t, outputs(t))
	})
	t.Run("direct", func(t *testing.T) {
		// A JSON array invoking the function directly: one record per
		// element; a CloudTrail document likewise.
		if resp := invoke(t, port, []byte("["+ct[11]+","+ct[8]+"]")); string(resp) != `{"records":2}` {
			t.Errorf("response %s", resp)
		}
		sameIDs(t, outputs(t), 11, 8)
		if resp := invoke(t, port, []byte(`{"Records":[`+ct[10]+`]}`)); string(resp) != `{"records":1}` {
			t.Errorf("response %s", resp)
		}
		sameIDs(t, outputs(t), 10)
	})
	t.Run("eventbridge", func(t *testing.T) {
		// S3 Object Created through EventBridge reads the object;
		// bzip2 and snappy objects are decompressed.
		for _, key := range []string{"logs/a b.ndjson.gz", "logs/c.ndjson.bz2", "logs/d.ndjson.sz"} {
			ev, _ := json.Marshal(map[string]any{"version": "0", "id": "eb-" + key, "detail-type": "Object Created", "source": "aws.s3",
				"account": "123456789012", "time": "2026-12-07T06:00:00Z", "region": "us-east-1", "resources": []string{"arn:aws:s3:::input"},
				"detail": map[string]any{"bucket": map[string]string{"name": "input"}, "object": map[string]any{"key": strings.ReplaceAll(key, " ", "+"), "size": 1}}})
			if resp := invoke(t, port, ev); string(resp) != "null" {
				t.Errorf("%s: response %s", key, resp)
			}
			sameIDs(t, outputs(t), 0, 1, 2)
		}
		// Any other event is one record, the whole event: not a
		// CloudTrail record, so the reference module fails it and the
		// invocation fails naming the event's id.
		resp := invoke(t, port, []byte(`{"version":"0","id":"gd-1","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2026-12-07T06:00:00Z","region":"us-east-1","resources":[],"detail":{"severity":8}}`))
		if !strings.Contains(string(resp), "errorMessage") || !strings.Contains(string(resp), "eventbridge: 1 of 1 failed (gd-1)") {
			t.Errorf("response %s", resp)
		}
	})
	t.Run("s3", func(t *testing.T) {
		if resp := invoke(t, port, []byte(s3Notification("logs/a b.ndjson.gz", "AWSLogs/trail.json.zst"))); string(resp) != "null" {
			t.Errorf("response %s", resp)
		}
		sameIDs(t, outputs(t), 0, 1, 2, 3, 4, 5, 6)
		resp := invoke(t, port, []byte(s3Notification("missing.json")))
		if !strings.Contains(string(resp), "errorMessage") || !strings.Contains(string(resp), "s3://input/missing.json") {
			t.Errorf("missing object: response %s", resp)
		}
	})
	t.Run("dynamodb", func(t *testing.T) {
		ev := `{"Records":[
{"eventID":"1","eventName":"INSERT","eventSource":"aws:dynamodb","eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024","dynamodb":{"ApproximateCreationDateTime":1700000000,"Keys":{"id":{"S":"u1"}},"NewImage":{"id":{"S":"u1"},"age":{"N":"42"},"tags":{"SS":["a","b"]},"admin":{"BOOL":true},"profile":{"M":{"city":{"S":"Paris"}}}},"SequenceNumber":"111","StreamViewType":"NEW_AND_OLD_IMAGES"}},
{"eventID":"2","eventName":"MODIFY","eventSource":"aws:dynamodb","eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024","dynamodb":{"Keys":{"id":{"S":"u1"}},"NewImage":{"id":{"S":"u1"},"age":{"N":"43"}},"OldImage":{"id":{"S":"u1"},"age":{"N":"42"}},"SequenceNumber":"222","StreamViewType":"NEW_AND_OLD_IMAGES"}}]}`
		// The stream records become {"event_name", "keys", "new_image",
		// ...} documents (host/lambda's TestDynamoDBDocuments checks
		// them): not CloudTrail events, which the reference module
		// fails, each reported by its sequence number.
		resp := invoke(t, port, []byte(ev))
		if string(resp) != `{"batchItemFailures":[{"itemIdentifier":"111"},{"itemIdentifier":"222"}]}` {
			t.Errorf("response %s", resp)
		}
		if docs := outputs(t); len(docs) != 0 {
			t.Errorf("%d outputs from DynamoDB records", len(docs))
		}
	})
	t.Run("firehose", func(t *testing.T) {
		b64 := base64.StdEncoding.EncodeToString
		ev, _ := json.Marshal(map[string]any{"invocationId": "inv", "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/d",
			"region": "us-east-1", "records": []map[string]any{
				{"recordId": "r-ok", "approximateArrivalTimestamp": 1700000000000, "data": b64([]byte(ct[9] + "\n" + ct[10] + "\n"))},
				{"recordId": "r-dropped", "approximateArrivalTimestamp": 1700000000000, "data": ""},
				{"recordId": "r-bad", "approximateArrivalTimestamp": 1700000000000, "data": b64([]byte("not json {"))},
				{"recordId": "r-b64", "approximateArrivalTimestamp": 1700000000000, "data": "%%%"},
			}})
		resp := invoke(t, port, ev)
		var got struct {
			Records []struct {
				RecordID string `json:"recordId"`
				Result   string `json:"result"`
				Data     []byte `json:"data"`
			} `json:"records"`
		}
		if err := json.Unmarshal(resp, &got); err != nil || len(got.Records) != 4 {
			t.Fatalf("response %s (%v)", resp, err)
		}
		results := map[string]string{}
		for _, r := range got.Records {
			results[r.RecordID] = r.Result
		}
		if results["r-ok"] != "Ok" || results["r-dropped"] != "Dropped" || results["r-bad"] != "ProcessingFailed" || results["r-b64"] != "ProcessingFailed" {
			t.Errorf("results %v", results)
		}
		lines := strings.Split(strings.TrimSuffix(string(got.Records[0].Data), "\n"), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], ids[9]) || !strings.Contains(lines[1], ids[10]) {
			t.Errorf("Ok record data: %q", got.Records[0].Data)
		}
		if string(got.Records[2].Data) != "not json {" {
			t.Errorf("ProcessingFailed data %q, want the original", got.Records[2].Data)
		}
		sameIDs(t, outputs(t)) // the default route is the response
	})
	t.Run("apigw", func(t *testing.T) {
		request := func(body string, b64 bool) []byte {
			ev, _ := json.Marshal(map[string]any{"version": "2.0", "rawPath": "/", "headers": map[string]string{"content-type": "application/x-ndjson"},
				"requestContext": map[string]any{"requestId": "req-1", "http": map[string]any{"method": "POST", "path": "/"}},
				"body":           body, "isBase64Encoded": b64})
			return ev
		}
		var got struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		for _, b64 := range []bool{false, true} {
			body := ct[10] + "\n" + ct[11] + "\n"
			if b64 {
				body = base64.StdEncoding.EncodeToString([]byte(body))
			}
			resp := invoke(t, port, request(body, b64))
			if err := json.Unmarshal(resp, &got); err != nil || got.StatusCode != 200 {
				t.Fatalf("response %s (%v)", resp, err)
			}
			lines := strings.Split(strings.TrimSuffix(got.Body, "\n"), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], ids[10]) || !strings.Contains(lines[1], ids[11]) || !strings.Contains(lines[0], `"@timestamp"`) {
				t.Errorf("base64 %v: body %q", b64, got.Body)
			}
		}
		resp := invoke(t, port, request(ct[10]+"\nnot json {\n", false))
		if err := json.Unmarshal(resp, &got); err != nil || got.StatusCode != 422 || !strings.Contains(got.Body, "invalid JSON") {
			t.Errorf("bad record: response %s", resp)
		}
		sameIDs(t, outputs(t))
	})
}
