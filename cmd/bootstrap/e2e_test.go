package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
	"github.com/weirhq/weir/host/lambda"
)

// cloudTrailRecords returns n real CloudTrail records.
func cloudTrailRecords(t *testing.T, n int) [][]byte {
	dir := filepath.Join(hosttest.SharedDir(t), "testdata", "cloudtrail", "stratus-red-team")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out [][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := engine.DecodeRecords(fh, f)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			out = append(out, bytes.Clone(r.Data))
			if len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("only %d CloudTrail records", len(out))
	return nil
}

func createStream(ctx context.Context, t *testing.T, kc *kinesis.Client, name string) string {
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		d, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
		if err == nil && d.StreamDescription.StreamStatus == ktypes.StreamStatusActive {
			return aws.ToString(d.StreamDescription.StreamARN)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("stream %s never became active", name)
	return ""
}

// readStream returns every record of a one-shard stream.
func readStream(ctx context.Context, t *testing.T, kc *kinesis.Client, name string) []ktypes.Record {
	d, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(name),
		ShardId: d.StreamDescription.Shards[0].ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []ktypes.Record
	iter := it.ShardIterator
	for i := 0; i < 20 && iter != nil; i++ {
		r, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Records...)
		if len(r.Records) == 0 {
			break
		}
		iter = r.NextShardIterator
	}
	return out
}

// kinesisEvent shapes records read from a stream as the Lambda Kinesis
// event.
func kinesisEvent(arn string, recs []ktypes.Record) []byte {
	krs := make([]lambda.KinesisRecord, len(recs))
	for i, r := range recs {
		krs[i] = lambda.KinesisRecord{ShardID: "shardId-000000000000", SequenceNumber: *r.SequenceNumber, PartitionKey: *r.PartitionKey,
			Data: r.Data, ArrivalTime: *r.ApproximateArrivalTimestamp}
	}
	b, err := lambda.NewKinesisEvent(arn, krs)
	if err != nil {
		panic(err)
	}
	return b
}

func invoke(t *testing.T, port int, event []byte) []byte {
	t.Helper()
	var resp *http.Response
	var err error
	for i := 0; i < 50; i++ {
		resp, err = http.Post(fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port), "application/json", bytes.NewReader(event))
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("invoke: %s: %s", resp.Status, b)
	}
	return b
}

// TestBootstrapKinesisUnderRIE runs the real bootstrap binary under the
// Lambda runtime interface emulator: KPL-aggregated CloudTrail records
// from kinesalite, two poison records (a KPL record with a bad MD5, a
// record that is not JSON), partial batch failures, then dead-lettering
// to S3 (gofakes3) on the second attempt, and the outputs read back from
// the output stream and de-aggregated.
func TestBootstrapKinesisUnderRIE(t *testing.T) {
	rie := hosttest.RequireTool(t, "aws-lambda-rie", "scripts/ensure-tools.sh go")
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	kin := hosttest.Kinesalite(t)
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()

	awsCfg, err := awsconf.Load(ctx, "us-east-1", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	kc := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kin) })
	sc := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(fake.URL); o.UsePathStyle = true })
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dlq")}); err != nil {
		t.Fatal(err)
	}
	inARN := createStream(ctx, t, kc, "in")
	createStream(ctx, t, kc, "out")

	dir := t.TempDir()
	module := hosttest.GoModule(t, "modules/cloudtrail-ecs")
	pipeline := fmt.Sprintf(`version: 1
name: e2e
stages:
  - name: normalize
    module: %s
    instances: 2
outputs:
  default: {type: kinesis, stream: out, endpoint: %q}
  dlq: {type: s3, bucket: dlq, key: "dead/{date}/{uuid}.ndjson{ext}", compression: none, endpoint: %q}
`, module, kin, fake.URL)
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bootstrap")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// Input: 4 KPL records of 10 CloudTrail records each, a KPL record
	// with a corrupt MD5 (3rd) and a record that is not JSON (5th).
	ct := cloudTrailRecords(t, 40)
	var payloads [][]byte
	for i := 0; i < 4; i++ {
		var users []kpl.UserRecord
		for _, d := range ct[i*10 : i*10+10] {
			users = append(users, kpl.UserRecord{PartitionKey: fmt.Sprintf("pk-%d", i), Data: d})
		}
		agg, err := kpl.Aggregate(users, 0)
		if err != nil || len(agg) != 1 {
			t.Fatal(len(agg), err)
		}
		payloads = append(payloads, agg[0].Data)
	}
	bad := bytes.Clone(payloads[0])
	bad[len(bad)-1] ^= 0xff
	payloads = [][]byte{payloads[0], payloads[1], bad, payloads[2], []byte("this is not json"), payloads[3]}
	for i, p := range payloads {
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("in"), PartitionKey: aws.String(fmt.Sprint("k", i)), Data: p}); err != nil {
			t.Fatal(err)
		}
	}
	in := readStream(ctx, t, kc, "in")
	if len(in) != len(payloads) {
		t.Fatalf("read %d records from the input stream", len(in))
	}

	port, apiPort := hosttest.FreePort(t), hosttest.FreePort(t)
	env := append(hosttest.AWSEnv(), "WEIR_PIPELINE=pipeline.yaml", "WEIR_DEAD_LETTER=dlq", "WEIR_MAX_ATTEMPTS=2",
		"WEIR_CACHE_DIR="+filepath.Join(dir, "cache"), "LAMBDA_TASK_ROOT="+dir, "WEIR_LOG_LEVEL=info")
	cmd := hosttest.StartProcess(t, env, rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Dir = dir
	hosttest.WaitPort(t, port, 20*time.Second)

	// First delivery: both poison records fail; the records before the
	// first failure are delivered.
	resp := invoke(t, port, kinesisEvent(inARN, in))
	var got struct {
		BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(resp, &got); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	want := []string{*in[2].SequenceNumber, *in[4].SequenceNumber}
	if len(got.BatchItemFailures) != 2 || got.BatchItemFailures[0].ItemIdentifier != want[0] || got.BatchItemFailures[1].ItemIdentifier != want[1] {
		t.Fatalf("batchItemFailures = %s, want %v", resp, want)
	}
	if n := countOutputs(ctx, t, kc); n != 20 {
		t.Fatalf("after the first invocation, %d records in the output stream, want 20", n)
	}

	// Lambda retries from the lowest failed sequence number: the second
	// failure of each poison record dead-letters it.
	resp = invoke(t, port, kinesisEvent(inARN, in[2:]))
	if err := json.Unmarshal(resp, &got); err != nil || len(got.BatchItemFailures) != 0 {
		t.Fatalf("second invocation: %s (%v), want no failures", resp, err)
	}
	if n := countOutputs(ctx, t, kc); n != 40 {
		t.Fatalf("%d records in the output stream, want 40", n)
	}
	list, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("dlq")})
	if err != nil {
		t.Fatal(err)
	}
	var entries []engine.DeadLetterEntry
	for _, o := range list.Contents {
		obj, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dlq"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := engine.DecodeRecords(obj.Body, *o.Key)
		obj.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			var e engine.DeadLetterEntry
			if err := json.Unmarshal(r.Data, &e); err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
		}
	}
	if len(entries) != 2 {
		t.Fatalf("%d dead-letter entries, want 2: %+v", len(entries), entries)
	}
	md5, notJSON := entries[0], entries[1]
	if !strings.Contains(md5.Error, "MD5") || md5.SequenceNumber != *in[2].SequenceNumber || md5.Stage != "decode" || md5.RecordBase64 != base64.StdEncoding.EncodeToString(bad) || md5.Source != inARN {
		t.Errorf("MD5 entry = %+v", md5)
	}
	if notJSON.Stage != "normalize" || notJSON.Digest == "" || notJSON.Record != "this is not json" || notJSON.SequenceNumber != *in[4].SequenceNumber || !strings.Contains(notJSON.Error, "after 2 attempts") {
		t.Errorf("not-JSON entry = %+v", notJSON)
	}
}

// countOutputs de-aggregates the output stream and checks every record
// is an ECS document.
func countOutputs(ctx context.Context, t *testing.T, kc *kinesis.Client) int {
	t.Helper()
	n := 0
	for _, r := range readStream(ctx, t, kc, "out") {
		users, err := kpl.Deaggregate(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			var doc map[string]any
			if err := json.Unmarshal(u.Data, &doc); err != nil || doc["@timestamp"] == nil {
				t.Fatalf("output %q is not an ECS document (%v)", u.Data, err)
			}
			n++
		}
	}
	return n
}
