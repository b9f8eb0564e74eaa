package engine_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/weirhq/weir/engine"
)

const goodYAML = `version: 1
name: cloudtrail-to-ecs
stages:
  - module: modules/normalize.wasm
    sha256: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    entry: fast
    config:
      target: ecs
    limits:
      memory_pages: 2048
      timeout: 250ms
      max_output_bytes: 1048576
    instances: 4
    on_error: dead_letter
    dead_letter: dlq
  - name: enrich
    module: s3://bucket/mods/enrich.wasm?versionId=3
    on_error: drop
outputs:
  default:
    type: stdout
  dlq:
    type: file
    path: dead.ndjson
`

func TestParseConfigGood(t *testing.T) {
	cfg, err := engine.ParseConfig([]byte(goodYAML), "pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := cfg.Stages[0], cfg.Stages[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"stage 0 name", s0.Name, "normalize"},
		{"stage 0 entry", s0.Entry, "fast"},
		{"stage 0 function default", s0.Function, engine.DefaultFunction},
		{"stage 0 timeout", time.Duration(s0.Limits.Timeout), 250 * time.Millisecond},
		{"stage 0 pages", s0.Limits.MemoryPages, uint32(2048)},
		{"stage 0 config", s0.Config["target"], "ecs"},
		{"stage 0 instances", s0.Instances, 4},
		{"stage 1 name", s1.Name, "enrich"},
		{"stage 1 entry default", s1.Entry, engine.EntryAuto},
		{"stage 1 pages default", s1.Limits.MemoryPages, uint32(engine.DefaultMemoryPages)},
		{"stage 1 timeout default", time.Duration(s1.Limits.Timeout), engine.DefaultTimeout},
		{"stage 1 max output default", s1.Limits.MaxOutputBytes, int64(engine.DefaultMaxOutputBytes)},
		{"stage 1 on_error", s1.OnError, engine.OnErrorDrop},
		{"dlq path", cfg.Outputs["dlq"].Path, "dead.ndjson"},
		{"dir", cfg.Dir, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s1.Instances < 1 {
		t.Errorf("default instances = %d, want the CPU count", s1.Instances)
	}
}

func TestParseConfigJSON(t *testing.T) {
	data := `{"version": 1, "stages": [{"module": "file:///m/x.wasm", "limits": {"timeout": "5s"}}]}`
	cfg, err := engine.ParseConfig([]byte(data), "pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Stages[0].Name != "x" || time.Duration(cfg.Stages[0].Limits.Timeout) != 5*time.Second {
		t.Errorf("got %+v", cfg.Stages[0])
	}
	if cfg.Outputs[engine.DefaultRoute].Type != engine.OutputStdout {
		t.Errorf("default output = %+v, want stdout", cfg.Outputs[engine.DefaultRoute])
	}
}

func TestParseConfigErrors(t *testing.T) {
	const stage = "version: 1\nstages:\n  - module: a.wasm\n"
	tests := []struct {
		name string
		in   string
		want string // fragment of the error
	}{
		{"empty", "", "pipeline.yaml: empty configuration"},
		{"comment only", "# nothing\n", "pipeline.yaml: empty configuration"},
		{"two documents", stage + "---\nversion: 1\n", "only one YAML document"},
		{"syntax", "version: 1\nstages: [\n", "pipeline.yaml:2:"},
		{"unknown top-level key", stage + "stage: x\n", `pipeline.yaml:4:1: unknown field "stage"`},
		{"unknown stage key", stage + "    modul: b.wasm\n", `pipeline.yaml:4:5: unknown field "modul"`},
		{"unknown key in json", `{"version": 1, "stages": [{"module": "a.wasm", "x": 1}]}`, `pipeline.yaml:1:48: unknown field "x"`},
		{"dir is not a key", stage + "dir: /tmp\n", `unknown field "dir"`},
		{"type error", stage + "    limits:\n      memory_pages: lots\n", "pipeline.yaml:5:21: memory_pages: want an integer, got a string"},
		{"overflow", stage + "    limits:\n      memory_pages: -1\n", "pipeline.yaml:5:21: memory_pages: -1 is out of range for uint32"},
		{"duplicate key", "version: 1\nversion: 1\n", "pipeline.yaml:2:1:"},
		{"bad duration", stage + "    limits:\n      timeout: 5 seconds\n", `pipeline.yaml:5:16: timeout: invalid duration "5 seconds"`},
		{"duration without unit", stage + "    limits:\n      timeout: 5\n", `invalid duration "5"`},
		{"duration not scalar", stage + "    limits:\n      timeout: [5s]\n", `pipeline.yaml:5:16: timeout: duration must be a string`},
		{"version missing", "stages:\n  - module: a.wasm\n", "pipeline.yaml: version: required, must be 1"},
		{"version 2", "version: 2\nstages:\n  - module: a.wasm\n", "pipeline.yaml: version: must be 1 (got 2)"},
		{"no stages", "version: 1\n", "pipeline.yaml: stages: at least one stage is required"},
		{"no module", "version: 1\nstages:\n  - name: x\n", "pipeline.yaml: stages[0].module: required"},
		{"bad scheme", "version: 1\nstages:\n  - module: ftp://h/a.wasm\n", `stages[0].module: unsupported scheme "ftp"`},
		{"bad entry", stage + "    entry: turbo\n", `pipeline.yaml: stages[0].entry: must be one of auto, fast, batch, record (got "turbo")`},
		{"bad on_error", stage + "  - module: b.wasm\n    on_error: retry\n", `pipeline.yaml: stages[1].on_error: must be one of fail, drop, dead_letter (got "retry")`},
		{"dead_letter without output name", stage + "    on_error: dead_letter\n", "stages[0].dead_letter: required when on_error is dead_letter"},
		{"dead_letter output missing", stage + "    on_error: dead_letter\n    dead_letter: dlq\n", `stages[0].dead_letter: no output named "dlq" (outputs: default)`},
		{"dead_letter without policy", stage + "    dead_letter: default\n", `stages[0].dead_letter: only used when on_error is dead_letter (on_error is "fail")`},
		{"memory pages", stage + "    limits:\n      memory_pages: 65537\n", "stages[0].limits.memory_pages: must be at most 65536"},
		{"negative timeout", stage + "    limits:\n      timeout: -1s\n", "stages[0].limits.timeout: must not be negative (got -1s)"},
		{"negative max output", stage + "    limits:\n      max_output_bytes: -5\n", "stages[0].limits.max_output_bytes: must be between 0 and"},
		{"negative instances", stage + "    instances: -1\n", "stages[0].instances: must not be negative"},
		{"bad sha256", stage + "    sha256: abcd\n", `stages[0].sha256: must be 64 hex digits`},
		{"duplicate derived name", stage + "  - module: s3://b/a.wasm\n", `stages[1].name: duplicate stage name "a" (also stages[0])`},
		{"duplicate explicit name", "version: 1\nstages:\n  - {name: n, module: a.wasm}\n  - {name: n, module: b.wasm}\n", `stages[1].name: duplicate stage name "n"`},
		{"output type", stage + "outputs:\n  out:\n    type: kafka\n", `pipeline.yaml: outputs.out.type: must be one of stdout, stderr, file, discard, kinesis, firehose, s3, sqs, dynamodb, sns, eventbridge, lambda, http (got "kafka")`},
		{"output type missing", stage + "outputs:\n  out:\n    path: x\n", "outputs.out.type: required"},
		{"file without path", stage + "outputs:\n  out:\n    type: file\n", "outputs.out.path: required for type file"},
		{"path on stdout", stage + "outputs:\n  out:\n    type: stdout\n    path: x\n", "outputs.out.path: only used by type file"},
		{"kinesis record limit over 10 MiB", stage + "outputs:\n  out:\n    type: kinesis\n    stream: s\n    max_record_bytes: 10485761\n", "outputs.out.max_record_bytes: must be between 1 and 10485760"},
		{"kinesis protocol", stage + "outputs:\n  out:\n    type: kinesis\n    stream: s\n    protocol: xml\n", `outputs.out.protocol: must be cbor or json (got "xml")`},
		{"protocol on sqs", stage + "outputs:\n  out:\n    type: sqs\n    queue_url: https://q\n    protocol: json\n", "outputs.out.protocol: only used by type kinesis"},
		{"record limit on sqs", stage + "outputs:\n  out:\n    type: sqs\n    queue_url: https://q\n    max_record_bytes: 1024\n", "outputs.out.max_record_bytes: only used by type kinesis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.ParseConfig([]byte(tt.in), "pipeline.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant fragment %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "pipeline.yaml") {
				t.Errorf("error %q does not start with the file name", err)
			}
			if !errors.Is(err, engine.ErrInvalidConfig) {
				t.Errorf("errors.Is(%v, ErrInvalidConfig) = false", err)
			}
			var ce *engine.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("errors.As(%v, *ConfigError) = false", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := &engine.Config{
		Version: 3,
		Stages: []engine.StageConfig{
			{Module: "a.wasm", OnError: "retry"},
			{Module: "a.wasm", Entry: "x"},
		},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"config: version: must be 1 (got 3)",
		`config: stages[0].on_error: must be one of fail, drop, dead_letter (got "retry")`,
		`config: stages[1].name: duplicate stage name "a"`,
		`config: stages[1].entry: must be one of auto, fast, batch, record (got "x")`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nmissing %q", err, want)
		}
	}
}

func TestApplyDefaults(t *testing.T) {
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "appconfig://app/env/profile"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate before defaults: %v", err)
	}
	cfg.ApplyDefaults()
	sc := cfg.Stages[0]
	if sc.Name != "profile" || sc.Entry != "auto" || sc.OnError != "fail" || sc.Function != "transform" ||
		sc.Limits.MemoryPages != 1024 || sc.Limits.Timeout != engine.Duration(10*time.Second) ||
		sc.Limits.MaxOutputBytes != 64<<20 || sc.Instances < 1 {
		t.Errorf("defaults not applied: %+v", sc)
	}
	if cfg.Outputs["default"].Type != "stdout" {
		t.Errorf("default output = %+v", cfg.Outputs["default"])
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate after defaults: %v", err)
	}
}

func TestDefaultStageName(t *testing.T) {
	tests := []struct{ module, want string }{
		{"normalize.wasm", "normalize"},
		{"./mods/normalize.wasm", "normalize"},
		{"file:///opt/weir/x.y.wasm", "x.y"},
		{"s3://bucket/a/enrich.wasm?versionId=7", "enrich"},
		{"https://example.com/m/geo.wasm#frag", "geo"},
		{"appconfig://app/env/profile", "profile"},
		{`C:\mods\win.wasm`, "win"},
	}
	for _, tt := range tests {
		cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: tt.module}}}
		cfg.ApplyDefaults()
		if got := cfg.Stages[0].Name; got != tt.want {
			t.Errorf("module %q: name %q, want %q", tt.module, got, tt.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(path, []byte(goodYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := engine.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != dir {
		t.Errorf("Dir = %q, want %q", cfg.Dir, dir)
	}
	_, err = engine.LoadConfig(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), "config: ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nstages:\n  - module: a.wasm\n    on_error: retry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = engine.LoadConfig(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+": stages[0].on_error") {
		t.Errorf("bad file: %v", err)
	}
}

func TestDurationCodecs(t *testing.T) {
	type holder struct {
		D engine.Duration `json:"d" yaml:"d"`
	}
	tests := []struct {
		name    string
		decode  func([]byte, any) error
		in      string
		want    time.Duration
		wantErr string
	}{
		{"json string", json.Unmarshal, `{"d": "250ms"}`, 250 * time.Millisecond, ""},
		{"json compound", json.Unmarshal, `{"d": "1m30s"}`, 90 * time.Second, ""},
		{"json null", json.Unmarshal, `{"d": null}`, 0, ""},
		{"json number", json.Unmarshal, `{"d": 5}`, 0, `duration must be a string such as "5s" (got 5)`},
		{"json bad", json.Unmarshal, `{"d": "soon"}`, 0, `invalid duration "soon"`},
		{"yaml plain", yaml.Unmarshal, "d: 5s\n", 5 * time.Second, ""},
		{"yaml quoted", yaml.Unmarshal, "d: \"2h\"\n", 2 * time.Hour, ""},
		{"yaml null", yaml.Unmarshal, "d: null\n", 0, ""},
		{"yaml bad", yaml.Unmarshal, "d: 5 s\n", 0, `invalid duration "5 s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h holder
			err := tt.decode([]byte(tt.in), &h)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Duration(h.D) != tt.want {
				t.Errorf("got %v, want %v", time.Duration(h.D), tt.want)
			}
		})
	}

	h := holder{D: engine.Duration(1500 * time.Millisecond)}
	js, err := json.Marshal(h)
	if err != nil || string(js) != `{"d":"1.5s"}` {
		t.Errorf("json.Marshal = %s, %v", js, err)
	}
	ys, err := yaml.Marshal(h)
	if err != nil || string(ys) != "d: 1.5s\n" {
		t.Errorf("yaml.Marshal = %q, %v", ys, err)
	}
	var back holder
	if err := yaml.Unmarshal(ys, &back); err != nil || back != h {
		t.Errorf("yaml round trip = %v, %v", back, err)
	}
}
