package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
)

// replayRecords are CloudTrail records for the replay tests; the fourth
// is not JSON.
var replayRecords = []string{
	`{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","eventID":"r0","userIdentity":{"type":"IAMUser","userName":"alice"}}`,
	`{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.2","eventID":"r1","userIdentity":{"type":"IAMUser","userName":"bob"}}`,
	`{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:02Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.3","eventID":"r2","userIdentity":{"type":"Root"}}`,
	`not json {`,
}

// TestReplayKinesis replays a saved Kinesis event: a KPL-aggregated
// record of three CloudTrail records, a plain record that is not JSON,
// and a KPL record with a bad MD5. The good records come out, the
// failure names its sequence number, the undecodable record its own.
func TestReplayKinesis(t *testing.T) {
	var users []kpl.UserRecord
	for i, r := range replayRecords[:3] {
		users = append(users, kpl.UserRecord{PartitionKey: fmt.Sprint("pk", i), Data: []byte(r)})
	}
	agg, err := kpl.Aggregate(users, 0)
	if err != nil || len(agg) != 1 {
		t.Fatal(len(agg), err)
	}
	bad := append([]byte(nil), agg[0].Data...)
	bad[len(bad)-1] ^= 0xff
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/in"
	seqs := []string{"49590338271490256608559692538361571095921575989136588801", "49590338271490256608559692538361571095921575989136588802", "49590338271490256608559692538361571095921575989136588803"}
	var ev struct {
		Records []map[string]any `json:"Records"`
	}
	for i, data := range [][]byte{agg[0].Data, []byte(replayRecords[3]), bad} {
		ev.Records = append(ev.Records, map[string]any{
			"eventSource": "aws:kinesis", "eventSourceARN": arn, "eventID": "shardId-000000000000:" + seqs[i],
			"kinesis": map[string]any{"data": base64.StdEncoding.EncodeToString(data), "partitionKey": "k", "sequenceNumber": seqs[i],
				"approximateArrivalTimestamp": 1.7e9, "kinesisSchemaVersion": "1.0"},
		})
	}
	b, _ := json.Marshal(ev)
	dir := t.TempDir()
	file := writeFile(t, dir, "kinesis-event.json", b)
	cfg := ctPipeline(t)
	for _, source := range []string{"kinesis", "auto"} {
		r := weir(t, nil, "run", "-p", cfg, "--event", source, file)
		if r.code != 1 {
			t.Fatalf("--event %s: %v", source, r)
		}
		checkECS(t, r, []string{"r0", "r1", "r2"})
		fail := regexp.MustCompile(`(?m)^weir: record 3 \(` + regexp.QuoteMeta(arn) + `, seq ` + seqs[1] + `\) failed: stage "normalize" .*invalid JSON`)
		if !fail.MatchString(r.stderr) {
			t.Errorf("--event %s: no failure line for seq %s:\n%s", source, seqs[1], r.stderr)
		}
		if !strings.Contains(r.stderr, "kinesis record 2 (seq "+seqs[2]+")") || !strings.Contains(r.stderr, "MD5") {
			t.Errorf("--event %s: the bad MD5 record is not reported by sequence number:\n%s", source, r.stderr)
		}
	}
	// A saved event of another source is refused by --event kinesis.
	r := weir(t, nil, "run", "-p", cfg, "--event", "kinesis", writeFile(t, dir, "x.json", []byte(`{"Records":"no"}`)))
	if r.code != 1 || !strings.Contains(r.stderr, "malformed Kinesis event") {
		t.Errorf("malformed event: %v", r)
	}
	if r := weir(t, nil, "run", "-p", cfg, "--event", "kafka", file); r.code != 2 || !strings.Contains(r.stderr, "--event") {
		t.Errorf("unknown source: %v", r)
	}
}

// TestReplaySQS replays a saved SQS event: three messages, one holding
// an NDJSON body of two records, one not JSON; the failure is reported
// by message id.
func TestReplaySQS(t *testing.T) {
	const arn = "arn:aws:sqs:us-east-1:123456789012:q"
	ids := []string{"059f36b4-87a3-44ab-83d2-661975830a7d", "2e1424d4-f796-459a-8184-9c92662be6da", "6b1ba1c4-7e0a-4d0f-a4a6-7c3b2b1f0001"}
	bodies := []string{replayRecords[0], replayRecords[1] + "\n" + replayRecords[2] + "\n", replayRecords[3]}
	var ev struct {
		Records []map[string]any `json:"Records"`
	}
	for i, body := range bodies {
		ev.Records = append(ev.Records, map[string]any{
			"messageId": ids[i], "receiptHandle": "h", "body": body, "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
			"attributes": map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
		})
	}
	b, _ := json.Marshal(ev)
	file := writeFile(t, t.TempDir(), "sqs-event.json", b)
	r := weir(t, nil, "run", "-p", ctPipeline(t), "--event", "sqs", file)
	if r.code != 1 {
		t.Fatal(r)
	}
	checkECS(t, r, []string{"r0", "r1", "r2"})
	fail := regexp.MustCompile(`(?m)^weir: record 3 \(` + regexp.QuoteMeta(arn) + `, seq ` + ids[2] + `\) failed: stage "normalize"`)
	if !fail.MatchString(r.stderr) {
		t.Errorf("no failure line naming message %s:\n%s", ids[2], r.stderr)
	}
}

// checkECS checks the outputs are ECS documents of the CloudTrail events
// with the given ids, in order.
func checkECS(t *testing.T, r result, ids []string) {
	t.Helper()
	lines := r.lines()
	if len(lines) != len(ids) {
		t.Fatalf("%d outputs, want %d:\n%s\n%v", len(lines), len(ids), r.stdout, r)
	}
	for i, l := range lines {
		if !strings.Contains(l, `"@timestamp"`) || !strings.Contains(l, ids[i]) {
			t.Errorf("output %d is not the ECS document of %s: %s", i, ids[i], l)
		}
	}
}

// TestReplayS3 replays a saved S3 notification: the object (a gzip
// CloudTrail Records file) is read from gofakes3 (WEIR_S3_ENDPOINT) and
// split; a missing object is reported by its URL.
func TestReplayS3(t *testing.T) {
	hosttest.SetAWSEnv(t)
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	t.Setenv("WEIR_S3_ENDPOINT", srv.URL)
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx, "us-east-1", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"Records":[` + strings.Join(replayRecords[:3], ",") + `]}`))
	_ = zw.Close()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("trail"), Key: aws.String("AWSLogs/1/x.json.gz"), Body: bytes.NewReader(gz.Bytes())}); err != nil {
		t.Fatal(err)
	}
	event := func(key string) []byte {
		return []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2024-01-01T00:00:00Z","s3":{"bucket":{"name":"trail"},"object":{"key":"` + key + `","sequencer":"01"}}}]}`)
	}
	dir := t.TempDir()
	cfgFile := ctPipeline(t)
	r := weir(t, nil, "run", "-p", cfgFile, "--event", "auto", writeFile(t, dir, "s3.json", event("AWSLogs/1/x.json.gz")))
	if r.code != 0 {
		t.Fatal(r)
	}
	checkECS(t, r, []string{"r0", "r1", "r2"})
	r = weir(t, nil, "run", "-p", cfgFile, "--event", "s3", writeFile(t, dir, "missing.json", event("nope.json")))
	if r.code != 1 || !strings.Contains(r.stderr, "s3://trail/nope.json") {
		t.Errorf("missing object: %v", r)
	}
}
