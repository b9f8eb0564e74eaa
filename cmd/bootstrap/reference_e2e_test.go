package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/host/enrich/enrichtest"
	"github.com/weirhq/weir/host/hosttest"
)

// TestReferenceJobUnderRIE produces the talk's whole reference document
// through the Lambda path: the real bootstrap under the runtime interface
// emulator receives the reference ConsoleLogin record in a Kinesis event
// and runs cloudtrail-ecs then ecs-enrich, with reverse DNS from dnsmasq,
// the users and accounts tables in dynalite, and the ASN from an MMDB.
// The document it writes holds every field of the shared
// consolelogin.expected.json and equals hosttest.ExpectedFile.
func TestReferenceJobUnderRIE(t *testing.T) {
	rie := hosttest.RequireTool(t, "aws-lambda-rie", "scripts/ensure-tools.sh go")
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	dnsAddr := enrichtest.Dnsmasq(t, enrichtest.ReferenceDNS...)
	ddb := enrichtest.Dynalite(t)
	enrichtest.ReferenceTables(t, enrichtest.Client(t, ddb))

	root := hosttest.RepoRoot(t)
	shared := hosttest.SharedDir(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	pipeline := fmt.Sprintf(`version: 1
name: reference
stages:
  - name: normalize
    module: %s
  - name: enrich
    module: %s
    config: {accounts_table: accounts, accounts_key: account_id, users_table: users, users_key: user_name}
    capabilities:
      dns: {resolver: %q, timeout: 2s}
      dynamodb: {tables: [users, accounts], endpoint: %q, region: us-east-1}
      mmdb: {asn: %s}
outputs:
  default: {type: file, path: %s}
`, hosttest.GoModule(t, "modules/cloudtrail-ecs"), hosttest.GoModule(t, "modules/ecs-enrich"), dnsAddr, ddb,
		filepath.Join(root, "examples", "cloudtrail-ecs", "fixtures", "asn.mmdb"), out)
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bootstrap")
	if b, err := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}

	record, err := os.ReadFile(filepath.Join(shared, "reference", "consolelogin.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	record = []byte(strings.TrimRight(string(record), "\n"))
	event, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventSource": "aws:kinesis", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/cloudtrail",
		"eventID": "shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
		"kinesis": map[string]any{
			"data": base64.StdEncoding.EncodeToString(record), "partitionKey": "987654321012",
			"sequenceNumber":              "49590338271490256608559692538361571095921575989136588898",
			"approximateArrivalTimestamp": 1684273645.5, "kinesisSchemaVersion": "1.0",
		},
	}}})

	port, apiPort := hosttest.FreePort(t), hosttest.FreePort(t)
	env := append(hosttest.AWSEnv(), "WEIR_PIPELINE=pipeline.yaml", "LAMBDA_TASK_ROOT="+dir, "WEIR_CACHE_DIR="+filepath.Join(dir, "cache"))
	cmd := hosttest.StartProcess(t, env, rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Dir = dir
	hosttest.WaitPort(t, port, 20*time.Second)

	resp := invoke(t, port, event)
	var r struct {
		BatchItemFailures []any `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(resp, &r); err != nil || len(r.BatchItemFailures) != 0 {
		t.Fatalf("response %s: %v", resp, err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d documents written, want 1:\n%s", len(lines), got)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	// Every field of the talk's document, with its value; and the whole
	// document is weir's expected one (the reference plus the widened
	// fields).
	hosttest.CheckReferenceFields(t, doc)
	if want := hosttest.ExpectedDocument(t); !reflect.DeepEqual(doc, want) {
		pretty, _ := json.MarshalIndent(doc, "", "  ")
		t.Fatalf("the document differs from %s:\n%s", hosttest.ExpectedFile, pretty)
	}
}
