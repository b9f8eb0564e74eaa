package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirhq/weir/host/hosttest"
)

// The tests of this file run the real weir binary (built once per test
// process) on Substation config files modelled on Substation's examples
// (examples/build/config/config.jsonnet and its send examples): "weir run
// -p" with the outputs the sends became, "weir import substation" with its
// flags and exit statuses. The conversion itself is package
// engine/builtin/substation, tested there.

// weirExec runs the weir binary with args, stdin and extra environment.
func weirExec(t testing.TB, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hosttest.WeirBinary(t), append([]string{"--cache-dir", cacheDir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return exited(t, args, err, stdout.String(), stderr.String())
}

// substationExample is Substation's examples/build/config/config.jsonnet
// as it compiles to JSON, and substationRouting sends by severity: the
// configurations engine/builtin/substation's tests convert.
var (
	substationExample = readSubstationTestdata("example.json")
	substationRouting = readSubstationTestdata("routing.json")
)

func readSubstationTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "engine", "builtin", "substation", "testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSubstationConfigRuns(t *testing.T) {
	for _, tc := range []struct {
		name, config, input string
		want                []string // stdout lines
		wantFile            []string // lines of out/substation.jsonl, when set
		wantLog             string
	}{
		{
			name:    "example",
			config:  substationExample,
			input:   "{\"b\":1}\n{\"a\":\"x\"}\n",
			want:    []string{`{"b":1,"a":"z","c":"d"}`, `{"a":"z","c":"d"}`},
			wantLog: "reading a Substation config",
		},
		{
			name:   "routing",
			config: substationRouting,
			input: `{"detail":{"severity":"high"},"n":1}
{"detail":{"severity":"low"},"n":2}
{"detail":{"severity":"none"},"n":3}
{"detail":{"severity":"high"},"n":4}
`,
			want:     []string{`{"n":2,"severity":"low"}`},
			wantFile: []string{`{"n":1,"severity":"high","alert":true}`, `{"n":4,"severity":"high","alert":true}`},
		},
		{
			name:   "no send",
			config: `{"transforms":[{"type":"object_insert","settings":{"object":{"target_key":"x"},"value":1}}]}`,
			input:  "{}\n",
			want:   []string{`{"x":1}`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := writeFile(t, dir, "config.json", []byte(tc.config))
			r := weirExec(t, tc.input, nil, "run", "-p", p)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			if got := strings.Join(r.lines(), "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			if !strings.Contains(r.stderr, "reading a Substation config") {
				t.Errorf("no log line says the config is Substation's: %s", r.stderr)
			}
			if tc.wantFile != nil {
				b, err := os.ReadFile(filepath.Join(dir, "out", "substation.jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(string(b)); got != strings.Join(tc.wantFile, "\n") {
					t.Errorf("file output:\n%s\nwant:\n%s", got, strings.Join(tc.wantFile, "\n"))
				}
			}
			// weir import prints a pipeline that runs the same way.
			imp := weirExec(t, "", nil, "import", "substation", p)
			if imp.code != 0 {
				t.Fatalf("import: %v", imp)
			}
			yp := writeFile(t, dir, "pipeline.yaml", []byte(imp.stdout))
			if tc.wantFile != nil {
				_ = os.Remove(filepath.Join(dir, "out", "substation.jsonl"))
			}
			r2 := weirExec(t, tc.input, nil, "run", "-p", yp)
			if r2.code != 0 || r2.stdout != r.stdout {
				t.Errorf("imported pipeline: stdout %q, want %q (%v)\n%s", r2.stdout, r.stdout, r2, imp.stdout)
			}
		})
	}
}

// TestSubstationKinesis: a send_aws_kinesis_data_stream closing a
// meta_switch case becomes a kinesis output the case routes to; the
// records reach a kinesalite stream named by the send's ARN.
func TestSubstationKinesis(t *testing.T) {
	endpoint := hosttest.Kinesalite(t)
	env := append(hosttest.AWSEnv(), "AWS_ENDPOINT_URL="+endpoint)
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const stream = "substation-dst"
	kc := activeStream(ctx, t, endpoint, stream, 1)
	config := `{"transforms": [
	  {"type": "meta_switch", "settings": {"cases": [
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "eventName"}, "value": "ConsoleLogin"}},
	     "transforms": [
	       {"type": "object_insert", "settings": {"object": {"target_key": "logins"}, "value": 1}},
	       {"type": "send_aws_kinesis_data_stream", "settings": {"aws": {"arn": "arn:aws:kinesis:us-east-1:000000000000:stream/` + stream + `"}}}
	     ]}
	  ]}}
	]}`
	p := writeFile(t, t.TempDir(), "config.json", []byte(config))
	r := weirExec(t, "{\"eventName\":\"ConsoleLogin\",\"n\":1}\n{\"eventName\":\"GetObject\",\"n\":2}\n{\"eventName\":\"ConsoleLogin\",\"n\":3}\n", env, "run", "-p", p)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("stdout %q; %v", r.stdout, r)
	}
	d, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: d.StreamDescription.Shards[0].ShardId, ShardIteratorType: "TRIM_HORIZON"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, rec := range got.Records {
		seen = append(seen, string(rec.Data))
	}
	sort.Strings(seen)
	want := []string{`{"eventName":"ConsoleLogin","n":1,"logins":1}`, `{"eventName":"ConsoleLogin","n":3,"logins":1}`}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stream holds:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestSubstationJsonnet(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "lib.libsonnet", []byte(`{
  insert(key, value): {type: 'object_insert', settings: {object: {target_key: key}, value: value}},
  stdout: {type: 'send_stdout'},
}`))
	ok := writeFile(t, dir, "config.jsonnet", []byte(`local lib = import 'lib.libsonnet';
{
  transforms: [lib.insert('k%d' % i, i) for i in std.range(1, 2)] + [lib.stdout],
}`))
	r := weirExec(t, "{}\n", nil, "run", "-p", ok)
	if r.code != 0 || r.stdout != "{\"k1\":1,\"k2\":2}\n" {
		t.Fatalf("stdout %q; %v", r.stdout, r)
	}
	// Substation's own library is not available: the error names it.
	sub := writeFile(t, dir, "sub.jsonnet", []byte(`local sub = import '../../../build/config/substation.libsonnet';
{ transforms: [sub.tf.send.stdout()] }`))
	for _, args := range [][]string{{"run", "-p", sub}, {"import", "substation", sub}} {
		r = weirExec(t, "{}\n", nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, `cannot import "../../../build/config/substation.libsonnet": file not found (Substation's own Jsonnet library is not shipped with weir)`) {
			t.Errorf("weir %v: want exit 2 naming substation.libsonnet; %v", args, r)
		}
	}
}

func TestImportSubstation(t *testing.T) {
	dir := t.TempDir()
	// Kinesis and SQS sends map to outputs with their settings.
	p := writeFile(t, dir, "config.json", []byte(`{"transforms": [
	  {"type": "meta_switch", "settings": {"cases": [
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "a"}, "value": "q"}},
	     "transforms": [{"type": "send_aws_sqs", "settings": {"id": "queue", "aws": {"arn": "arn:aws:sqs:eu-west-1:123456789012:alerts"}}}]}
	  ]}},
	  {"type": "send_aws_kinesis_data_stream", "settings": {"aws": {"arn": "arn:aws:kinesis:us-east-2:123456789012:stream/dst", "assume_role_arn": "arn:aws:iam::1:role/r"}, "enable_record_aggregation": true}}
	]}`))
	r := weirExec(t, "", nil, "import", "substation", p)
	if r.code != exitUsage || !strings.Contains(r.stderr, "weir sends a record to one output, not to several") {
		t.Fatalf("a send after a routing switch is a fan-out: want exit 2; %v\n%s", r, r.stdout)
	}
	r = weirExec(t, "", nil, "import", "substation", "--force", p)
	if r.code != 0 {
		t.Fatalf("--force: %v", r)
	}
	// The whole mapping is engine/builtin/substation's TestConvert; here,
	// that --force prints it.
	for _, want := range []string{
		"# Converted from a Substation config by weir import substation.\n",
		"  \"default\":\n    type: kinesis\n    stream: \"dst\"\n    region: \"us-east-2\"\n    aggregate: true\n",
		"# NOT CONVERTED: transforms[1] (send_aws_kinesis_data_stream): records a meta_switch case sent would also be sent here",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, r.stdout)
		}
	}

	// What has no weir equivalent is listed, and refused unless --force.
	bad := writeFile(t, dir, "bad.json", []byte(`{"transforms": [
	  {"type": "send_stdout"},
	  {"type": "object_insert", "settings": {"object": {"target_key": "x"}, "value": 1}},
	  {"type": "send_aws_sns", "settings": {"aws": {"arn": "arn:aws:sns:us-east-1:1:t"}}}
	]}`))
	r = weirExec(t, "", nil, "import", "substation", bad)
	for _, want := range []string{
		"transforms[0] (send_stdout) is followed by transforms[1] (object_insert)",
		"transforms[2] (send_aws_sns) has no weir output",
	} {
		if r.code != exitUsage || !strings.Contains(r.stderr, "weir: import: not converted: "+want) || !strings.Contains(r.stdout, "# NOT CONVERTED: "+want) {
			t.Errorf("want exit 2 and %q listed; %v\n%s", want, r, r.stdout)
		}
	}
	r = weirExec(t, "{}\n", nil, "run", "-p", bad)
	if r.code != exitUsage || !strings.Contains(r.stderr, "transforms[2] (send_aws_sns) has no weir output") {
		t.Errorf("run: want exit 2 naming send_aws_sns; %v", r)
	}
	// A weir pipeline is not a Substation config.
	r = weirExec(t, "", nil, "import", "substation", ctPipeline(t))
	if r.code != exitUsage || !strings.Contains(r.stderr, "not a Substation config") {
		t.Errorf("pipeline.yaml: %v", r)
	}
}
