package substation_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
	"github.com/weirhq/weir/engine/builtin/substation"
	"github.com/weirhq/weir/host/hosttest"
)

// The configs are modelled on Substation's examples
// (examples/build/config/config.jsonnet and its send examples);
// cmd/weir's substation tests run them through "weir run -p" and
// "weir import substation", outputs included.

// example (testdata/example.json) is Substation's
// examples/build/config/config.jsonnet as it compiles to JSON (v2
// settings): insert, a conditional insert, send to stdout.
var example = readTestdata("example.json")

// routing (testdata/routing.json) sends by severity: high to a file, low
// to stdout, the rest nowhere (as Substation, which only keeps what a
// send sends).
var routing = readTestdata("routing.json")

// readTestdata returns a file of testdata/ (cmd/weir's tests read the
// same configurations).
func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// run builds cfg's built-in stages and runs the input lines through them:
// one "route <- data" line per output ("" route: default).
func run(t *testing.T, cfg *engine.Config, lines ...string) []string {
	t.Helper()
	ctx := context.Background()
	p, err := engine.NewPipeline(ctx, cfg, func(_ context.Context, sc engine.StageConfig, _ string) (engine.Stage, error) {
		return builtin.NewStage(sc.RawTransforms())
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	recs := make([]engine.Record, len(lines))
	for i, l := range lines {
		recs[i] = engine.Record{Data: []byte(l)}
	}
	res, err := p.Run(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Records {
		if r.Err != nil {
			t.Fatalf("record %d: %v", r.Index, r.Err)
		}
		for _, o := range r.Outputs {
			out = append(out, o.Route+" <- "+string(o.Data))
		}
	}
	return out
}

// TestLoadRuns: Load converts a Substation config into a pipeline whose
// built-in stage gives the records Substation gives, routed to the
// outputs its sends became.
func TestLoadRuns(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		input        []string
		want         []string
		outputs      map[string]string // output name -> type
		wantNote     string
	}{
		{
			name:     "example",
			config:   example,
			input:    []string{`{"b":1}`, `{"a":"x"}`},
			want:     []string{` <- {"b":1,"a":"z","c":"d"}`, ` <- {"a":"z","c":"d"}`},
			outputs:  map[string]string{"default": "stdout"},
			wantNote: "concurrency is not mapped",
		},
		{
			name:     "routing",
			config:   routing,
			input:    []string{`{"detail":{"severity":"high"},"n":1}`, `{"detail":{"severity":"low"},"n":2}`, `{"detail":{"severity":"none"},"n":3}`, `{"detail":{"severity":"high"},"n":4}`},
			want:     []string{`alerts <- {"n":1,"severity":"high","alert":true}`, `stdout <- {"n":2,"severity":"low"}`, ` <- {"n":3,"severity":"none"}`, `alerts <- {"n":4,"severity":"high","alert":true}`},
			outputs:  map[string]string{"default": "discard", "alerts": "file", "stdout": "stdout"},
			wantNote: "records no meta_switch case sends are discarded",
		},
		{
			name:     "no send",
			config:   `{"transforms":[{"type":"object_insert","settings":{"object":{"target_key":"x"},"value":1}}]}`,
			input:    []string{`{}`},
			want:     []string{` <- {"x":1}`},
			outputs:  map[string]string{"default": "stdout"},
			wantNote: "the config has no send_* transform",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := write(t, dir, "config.json", tc.config)
			var logs bytes.Buffer
			cfg, err := substation.Load(p, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), "reading a Substation config") || !strings.Contains(logs.String(), tc.wantNote) {
				t.Errorf("the log does not say the config is Substation's or lacks %q:\n%s", tc.wantNote, logs.String())
			}
			if cfg.Dir != dir {
				t.Errorf("Dir %q, want %q", cfg.Dir, dir)
			}
			if got := strings.Join(run(t, cfg, tc.input...), "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("outputs:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			if len(cfg.Outputs) != len(tc.outputs) {
				t.Errorf("outputs %v, want %v", cfg.Outputs, tc.outputs)
			}
			for name, typ := range tc.outputs {
				if cfg.Outputs[name].Type != typ {
					t.Errorf("output %q: type %q, want %q", name, cfg.Outputs[name].Type, typ)
				}
			}
			// The printed pipeline parses to the same configuration.
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			conv, err := substation.Convert(data, p)
			if err != nil || conv.Err() != nil {
				t.Fatalf("Convert: %v, %v", err, conv.Err())
			}
			yp := write(t, dir, "pipeline.yaml", conv.YAML())
			cfg2, err := substation.Load(yp, nil)
			if err != nil {
				t.Fatalf("the printed pipeline: %v\n%s", err, conv.YAML())
			}
			if got := strings.Join(run(t, cfg2, tc.input...), "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("the printed pipeline's outputs:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestConvert: sends map to outputs with their settings; what is mapped
// approximately is a note, what has no weir equivalent a problem, both
// printed as comments.
func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		yaml         []string // parts of YAML()
		problems     []string // parts of Problems, in order
	}{
		{
			name: "kinesis and sqs",
			// Kinesis and SQS sends map to outputs with their settings;
			// a send after a routing switch is a fan-out.
			config: `{"transforms": [
	  {"type": "meta_switch", "settings": {"cases": [
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "a"}, "value": "q"}},
	     "transforms": [{"type": "send_aws_sqs", "settings": {"id": "queue", "aws": {"arn": "arn:aws:sqs:eu-west-1:123456789012:alerts"}}}]}
	  ]}},
	  {"type": "send_aws_kinesis_data_stream", "settings": {"aws": {"arn": "arn:aws:kinesis:us-east-2:123456789012:stream/dst", "assume_role_arn": "arn:aws:iam::1:role/r"}, "enable_record_aggregation": true}}
	]}`,
			yaml: []string{
				"  \"queue\":\n    type: sqs\n    queue_url: \"https://sqs.eu-west-1.amazonaws.com/123456789012/alerts\"\n    region: \"eu-west-1\"\n",
				"  \"default\":\n    type: kinesis\n    stream: \"dst\"\n    region: \"us-east-2\"\n    aggregate: true\n",
				"# note: transforms[1] (send_aws_kinesis_data_stream): aws.assume_role_arn is not mapped",
				"# NOT CONVERTED: transforms[1] (send_aws_kinesis_data_stream): records a meta_switch case sent would also be sent here",
				`{"type":"object_insert","settings":{"object":{"target_key":"meta route"},"value":"queue"}}`,
			},
			problems: []string{"transforms[1] (send_aws_kinesis_data_stream): records a meta_switch case sent would also be sent here; weir sends a record to one output, not to several"},
		},
		{
			name: "unconvertible",
			config: `{"transforms": [
	  {"type": "send_stdout"},
	  {"type": "object_insert", "settings": {"object": {"target_key": "x"}, "value": 1}},
	  {"type": "send_aws_sns", "settings": {"aws": {"arn": "arn:aws:sns:us-east-1:1:t"}}}
	]}`,
			problems: []string{
				"transforms[0] (send_stdout) is followed by transforms[1] (object_insert)",
				"transforms[2] (send_aws_sns) has no weir output",
				"transforms[2] (send_aws_sns): a second send after send_stdout",
			},
		},
		{
			name: "more outputs",
			config: `{"transforms": [
	  {"type": "meta_switch", "settings": {"cases": [
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "a"}, "value": "1"}},
	     "transforms": [{"type": "send_aws_data_firehose", "settings": {"aws": {"arn": "arn:aws:firehose:us-east-1:1:deliverystream/fh"}}}]},
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "a"}, "value": "2"}},
	     "transforms": [{"type": "send_aws_s3", "settings": {"aws": {"arn": "arn:aws:s3:::bkt"}}}]},
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "a"}, "value": "3"}},
	     "transforms": [{"type": "send_aws_dynamodb_put", "settings": {"aws": {"arn": "arn:aws:dynamodb:us-east-1:1:table/tb"}}}]},
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "a"}, "value": "4"}},
	     "transforms": [{"type": "send_aws_sqs", "settings": {"aws": {"arn": "not-an-arn"}}}]}
	  ]}}
	]}`,
			yaml: []string{
				"  \"data_firehose\":\n    type: firehose\n    stream: \"fh\"\n    region: \"us-east-1\"\n",
				"  \"s3\":\n    type: s3\n    bucket: \"bkt\"\n",
				"  \"dynamodb_put\":\n    type: dynamodb\n    table: \"tb\"\n    region: \"us-east-1\"\n",
			},
			problems: []string{`.cases[3].transforms[0] (send_aws_sqs): aws.arn must be the SQS queue ARN (got "not-an-arn")`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv, err := substation.Convert([]byte(tc.config), "config.json")
			if err != nil {
				t.Fatal(err)
			}
			text := conv.YAML()
			for _, want := range tc.yaml {
				if !strings.Contains(text, want) {
					t.Errorf("YAML lacks %q:\n%s", want, text)
				}
			}
			if len(conv.Problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d: %q", conv.Problems, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if !strings.Contains(conv.Problems[i], want) || !strings.Contains(text, "# NOT CONVERTED: "+conv.Problems[i]) {
					t.Errorf("problem %d %q: want %q, listed in the YAML", i, conv.Problems[i], want)
				}
				if err := conv.Err(); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Err() %v lacks %q", err, want)
				}
			}
			if len(tc.problems) == 0 {
				if _, err := engine.ParseConfig([]byte(text), "config.json"); err != nil {
					t.Errorf("the pipeline does not parse: %v\n%s", err, text)
				}
			}
		})
	}
}

// TestLoadErrors: a config with problems is refused with all of them; a
// weir pipeline loads as one; Jsonnet evaluates, and a missing import
// (Substation's own library) is named.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "bad.json", `{"transforms": [
	  {"type": "send_stdout"},
	  {"type": "object_insert", "settings": {"object": {"target_key": "x"}, "value": 1}},
	  {"type": "send_aws_sns", "settings": {"aws": {"arn": "arn:aws:sns:us-east-1:1:t"}}}
	]}`)
	_, err := substation.Load(bad, nil)
	if err == nil || !strings.Contains(err.Error(), bad+": Substation config: ") || !strings.Contains(err.Error(), "transforms[2] (send_aws_sns) has no weir output") ||
		!strings.Contains(err.Error(), "transforms[0] (send_stdout) is followed by transforms[1] (object_insert)") {
		t.Errorf("Load of a config with problems: %v", err)
	}

	ct := filepath.Join(hosttest.RepoRoot(t), "examples", "cloudtrail-ecs", "pipeline.yaml")
	data, err := substation.ReadFile(ct)
	if err != nil || substation.IsConfig(data) {
		t.Errorf("a weir pipeline is not a Substation config: %v", err)
	}
	cfg, err := substation.Load(ct, nil)
	if err != nil || len(cfg.Stages) == 0 || cfg.Stages[0].Module == "" {
		t.Errorf("Load of a weir pipeline: %v", err)
	}

	write(t, dir, "lib.libsonnet", `{
  insert(key, value): {type: 'object_insert', settings: {object: {target_key: key}, value: value}},
  stdout: {type: 'send_stdout'},
}`)
	ok := write(t, dir, "config.jsonnet", `local lib = import 'lib.libsonnet';
{
  transforms: [lib.insert('k%d' % i, i) for i in std.range(1, 2)] + [lib.stdout],
}`)
	cfg, err = substation.Load(ok, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(run(t, cfg, `{}`), "\n"); got != ` <- {"k1":1,"k2":2}` {
		t.Errorf("the Jsonnet config gives %q", got)
	}
	// Substation's own library is not available: the error names it.
	sub := write(t, dir, "sub.jsonnet", `local sub = import '../../../build/config/substation.libsonnet';
{ transforms: [sub.tf.send.stdout()] }`)
	for _, f := range []func() error{
		func() error { _, err := substation.Load(sub, nil); return err },
		func() error { _, err := substation.ReadFile(sub); return err },
	} {
		err := f()
		if err == nil || !strings.Contains(err.Error(), `cannot import "../../../build/config/substation.libsonnet": file not found (Substation's own Jsonnet library is not shipped with weir)`) {
			t.Errorf("want an error naming substation.libsonnet; got %v", err)
		}
	}
}

func TestIsConfig(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{
		{`{"transforms": []}`, true},
		{` {"transforms": [], "concurrency": 2, "metrics": {}}`, true},
		{`{"transforms": {}}`, false},
		{`{"transforms": [], "stages": []}`, false},
		{`{"version": 1, "stages": []}`, false},
		{"version: 1\nstages: []\n", false},
		{``, false},
	} {
		if got := substation.IsConfig([]byte(tc.data)); got != tc.want {
			t.Errorf("IsConfig(%q) = %v, want %v", tc.data, got, tc.want)
		}
	}
}
