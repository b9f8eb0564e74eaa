package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
)

// TestConsumeKinesis consumes a two-shard kinesalite stream holding plain
// and KPL-aggregated CloudTrail records: every record is normalized once,
// a rerun finds nothing new (checkpoints), new records are picked up, and
// a poison record goes to the dead-letter output after its attempts.
func TestConsumeKinesis(t *testing.T) {
	endpoint := hosttest.Kinesalite(t)
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const stream = "weir-consume"
	kc := activeStream(ctx, t, endpoint, stream, 2)
	raw, err := os.ReadFile(filepath.Join(hosttest.SharedDir(t), "testdata", "cloudtrail", "panther", "panther_cloudtrail_tests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var logs [][]byte
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var w struct{ Log json.RawMessage }
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			t.Fatal(err)
		}
		// 8 logs have lower-cased keys: not CloudTrail events, which
		// the module fails.
		if bytes.Contains(w.Log, []byte(`"eventTime"`)) || bytes.Contains(w.Log, []byte(`"eventName"`)) {
			logs = append(logs, w.Log)
		}
	}
	put := func(pk string, data []byte) {
		t.Helper()
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(pk), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	// 10 plain records and 20 more in KPL-aggregated records of 5.
	for i := 0; i < 10; i++ {
		put(fmt.Sprintf("pk-%d", i), logs[i])
	}
	agg := kpl.NewAggregator(1 << 20)
	for i := 10; i < 30; i++ {
		if full, err := agg.Add(kpl.UserRecord{PartitionKey: fmt.Sprintf("pk-%d", i), Data: logs[i]}); err != nil {
			t.Fatal(err)
		} else if full != nil {
			t.Fatal("aggregator full early")
		}
		if agg.Len() == 5 {
			a := agg.Flush()
			put(a.PartitionKey, a.Data)
		}
	}

	dir := t.TempDir()
	out, dlq, cps := filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "dlq.ndjson"), filepath.Join(dir, "cp.json")
	p := pipeline(t, ctModule(t), "", fmt.Sprintf("outputs:\n  default: {type: file, path: %s}\n  dlq: {type: file, path: %s}\n", out, dlq))
	consume := func() result {
		return weir(t, nil, "consume", "kinesis://"+stream, "-p", p, "--endpoint", endpoint, "--once", "--poll", "20ms",
			"--checkpoints", "file://"+cps, "--dead-letter", "dlq", "--max-attempts", "2")
	}
	lines := func(path string) []string {
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}

	if r := consume(); r.code != 0 {
		t.Fatalf("consume: %v", r)
	}
	got := lines(out)
	if len(got) != 30 {
		t.Fatalf("%d outputs, want 30", len(got))
	}
	ids := map[string]bool{}
	for _, l := range got {
		var doc struct {
			Event struct{ Original string } `json:"event"`
		}
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatalf("output %q: %v", l, err)
		}
		ids[doc.Event.Original] = true
	}
	for i := 0; i < 30; i++ {
		if !ids[string(logs[i])] {
			t.Errorf("record %d has no output", i)
		}
	}
	var cp map[string]string
	b, _ := os.ReadFile(cps)
	if err := json.Unmarshal(b, &cp); err != nil || len(cp) != 2 {
		t.Fatalf("checkpoints %s: %v", b, err)
	}

	// A second run starts from the checkpoints: nothing new.
	if r := consume(); r.code != 0 || !strings.Contains(r.stderr, "consumed 0 records") {
		t.Fatalf("rerun: %v", r)
	}
	if n := len(lines(out)); n != 30 {
		t.Fatalf("the rerun wrote again: %d outputs", n)
	}

	// New records, one of them poison: the others are normalized, the
	// poison one is retried, then dead-lettered.
	put("pk-a", logs[30])
	put("pk-a", []byte("not json"))
	put("pk-a", logs[31])
	if r := consume(); r.code != 0 {
		t.Fatalf("consume with a poison record: %v", r)
	}
	if n := len(lines(out)); n != 32 {
		t.Fatalf("%d outputs after the poison batch, want 32", n)
	}
	d := lines(dlq)
	if len(d) != 1 || !strings.Contains(d[0], "invalid JSON") || !strings.Contains(d[0], `"record":"not json"`) {
		t.Fatalf("dead letters: %q", d)
	}
}

// activeStream creates a kinesalite stream of the given shards at
// endpoint, waits until it is ACTIVE and returns a client for it. The
// caller has set the AWS environment (hosttest.SetAWSEnv).
func activeStream(ctx context.Context, t *testing.T, endpoint, stream string, shards int32) *kinesis.Client {
	t.Helper()
	cfg, err := awsconf.Load(ctx, "us-east-1", 3, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kc := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	for {
		d, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && d.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
			return kc
		}
		time.Sleep(50 * time.Millisecond)
	}
}
