package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// watchReader is a stdin that records whether it was read.
type watchReader struct{ read atomic.Bool }

func (w *watchReader) Read(p []byte) (int, error) {
	w.read.Store(true)
	return 0, fmt.Errorf("stdin must not be read")
}

// TestBadConfig runs "weir run" and "weir validate" on broken
// configurations: exit status 2, a message naming the problem, no output,
// and stdin left unread.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	module := ctModule(t)
	dir := t.TempDir()
	writeFile(t, dir, "empty.wasm", nil)
	writeFile(t, dir, "text.wasm", []byte("#!/bin/sh\necho not wasm\n"))
	writeFile(t, dir, "truncated.wasm", []byte("\x00asm\x01\x00\x00\x00\x01"))
	wasm, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Hex(wasm)
	wrongPin := strings.Repeat("ab", 32)

	for _, tc := range []struct {
		name string
		yaml string
		want []string // substrings of stderr
	}{
		{name: "unknown key",
			yaml: "version: 1\nstages:\n  - name: normalize\n    module: " + module + "\n    modul: typo\n",
			want: []string{"pipeline.yaml:5:5", `unknown field "modul"`}},
		{name: "unknown top-level key",
			yaml: "version: 1\nstage:\n  - module: " + module + "\n",
			want: []string{"pipeline.yaml:2:1", `unknown field "stage"`}},
		{name: "missing module file",
			yaml: "version: 1\nstages:\n  - module: nope/missing.wasm\n",
			want: []string{"pipeline.yaml", `stage 0 "missing"`, filepath.Join(dir, "nope", "missing.wasm"), "no such file"}},
		{name: "empty module file",
			yaml: "version: 1\nstages:\n  - module: empty.wasm\n",
			want: []string{"pipeline.yaml", "empty.wasm", "not a WebAssembly module", "empty (0 bytes)"}},
		{name: "not wasm",
			yaml: "version: 1\nstages:\n  - module: text.wasm\n",
			want: []string{"pipeline.yaml", "text.wasm", "not a WebAssembly module"}},
		{name: "truncated wasm",
			yaml: "version: 1\nstages:\n  - module: truncated.wasm\n",
			want: []string{"pipeline.yaml", "truncated.wasm", "invalid module"}},
		{name: "sha256 mismatch",
			yaml: "version: 1\nstages:\n  - name: normalize\n    module: " + module + "\n    sha256: sha256:" + wrongPin + "\n",
			want: []string{"pipeline.yaml", `stage 0 "normalize"`, "digest mismatch", "sha256:" + digest, "expected sha256:" + wrongPin}},
		{name: "malformed pin",
			yaml: "version: 1\nstages:\n  - module: " + module + "\n    sha256: 1234\n",
			want: []string{"pipeline.yaml: stages[0].sha256: must be 64 hex digits"}},
		{name: "no version",
			yaml: "stages:\n  - module: " + module + "\n",
			want: []string{"pipeline.yaml: version: required"}},
		{name: "two problems",
			yaml: "version: 2\nstages:\n  - module: " + module + "\n    on_error: retry\n",
			want: []string{"weir: ", "pipeline.yaml: version: must be 1", "\nweir: ", "pipeline.yaml: stages[0].on_error: must be one of"}},
		{name: "dead letter without output",
			yaml: "version: 1\nstages:\n  - module: " + module + "\n    on_error: dead_letter\n    dead_letter: dlq\n",
			want: []string{"stages[0].dead_letter: no output named \"dlq\""}},
		{name: "bad timeout",
			yaml: "version: 1\nstages:\n  - module: " + module + "\n    limits: {timeout: soon}\n",
			want: []string{"pipeline.yaml:4:", "timeout"}},
		{name: "s3 without an AWS region",
			yaml: "version: 1\nstages:\n  - module: s3://bucket/m.wasm\n",
			want: []string{"pipeline.yaml", "s3://bucket/m.wasm", "no AWS region configured"}},
		{name: "empty config", yaml: "\n", want: []string{"pipeline.yaml: empty configuration"}},
		{name: "not yaml", yaml: "version: [1\n", want: []string{"pipeline.yaml:"}},
	} {
		cfg := writeFile(t, dir, "pipeline.yaml", []byte(tc.yaml))
		name := tc.name
		for _, cmd := range []string{"run", "validate"} {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				writeFile(t, dir, "pipeline.yaml", []byte(tc.yaml))
				stdin := &watchReader{}
				r := weir(t, stdin, cmd, "-p", cfg)
				if r.code != 2 || r.stdout != "" {
					t.Fatalf("want exit 2 and no output, got %v\nstdout: %s", r, r.stdout)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
					}
				}
				for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
					if !strings.HasPrefix(l, "weir: ") {
						t.Errorf("stderr line without the weir: prefix: %q", l)
					}
				}
				if stdin.read.Load() {
					t.Error("stdin was read")
				}
			})
		}
	}
}

// TestUsage checks usage errors: exit status 2 before anything runs.
func TestUsage(t *testing.T) {
	t.Parallel()
	pipe := ctPipeline(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no pipeline", []string{"run", "x.json"}, `no pipeline configuration: use -p pipeline.yaml, or run a bare module`},
		{"missing pipeline file", []string{"run", "-p", filepath.Join(t.TempDir(), "nope.yaml")}, "nope.yaml: no such file"},
		{"missing input", []string{"run", "-p", pipe, "/nonexistent/input.json"}, "/nonexistent/input.json: no such file"},
		{"directory input", []string{"run", "-p", pipe, t.TempDir()}, "is a directory"},
		{"zero batch size", []string{"run", "-p", pipe, "--batch-size", "0"}, "--batch-size must be at least 1"},
		{"bad format", []string{"run", "-p", pipe, "--format", "xml"}, `unknown format "xml"`},
		{"bad log level", []string{"--log-level", "loud", "run", "-p", pipe}, `--log-level: "loud"`},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"validate extra argument", []string{"validate", "-p", pipe, "extra"}, "unknown command"},
		{"inspect no module", []string{"inspect"}, "accepts 1 arg"},
		{"inspect missing module", []string{"inspect", "/nonexistent.wasm"}, "/nonexistent.wasm: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdin := &watchReader{}
			r := weir(t, stdin, tc.args...)
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit 2 and %q, got %v\nstdout: %s", tc.want, r, r.stdout)
			}
			if stdin.read.Load() {
				t.Error("stdin was read")
			}
		})
	}
}

// TestUndecodableInput: an input that cannot be decoded is reported and
// skipped, the others run, and the exit status is 1.
func TestUndecodableInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.ndjson", []byte("{\"eventName\":\"A\"}\n"))
	bad := writeFile(t, dir, "bad.json", []byte("[{\"eventName\":\"B\"},\n"))
	badGzip := writeFile(t, dir, "bad.gz", []byte("\x1f\x8b\x08\x00garbage"))
	r := weir(t, nil, "run", "-p", ctPipeline(t), good, bad, badGzip, good)
	if r.code != 1 || len(r.lines()) != 2 {
		t.Fatalf("want exit 1 and 2 outputs, got %v\nstdout: %s", r, r.stdout)
	}
	for _, want := range []string{
		"weir: input " + bad + " failed, skipped: codec: " + bad + ": unexpected end of input",
		"weir: input " + badGzip + " failed, skipped: codec: " + badGzip + ": ",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestValidate checks "weir validate" on good configurations: the example
// pipeline (its module path pointed at the module built for the test) and
// one with every kind of output.
func TestValidate(t *testing.T) {
	t.Parallel()
	module := ctModule(t)
	wasm, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Hex(wasm)
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "cloudtrail-ecs", "pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	moduleLine := regexp.MustCompile(`(?m)^(\s+module:\s*).*$`)
	if len(moduleLine.FindAll(example, -1)) != 1 {
		t.Fatal("the example pipeline does not have exactly one module line")
	}
	exampleCopy := moduleLine.ReplaceAll(example, []byte("${1}"+module))
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{name: "example", yaml: string(exampleCopy),
			want: []string{": ok (1 stages, 1 outputs)\n", `  stage "normalize": ` + module + " sha256:" + digest + "\n"}},
		{name: "pinned, outputs", yaml: "version: 1\nstages:\n  - module: " + module + "\n    sha256: " + strings.ToUpper(digest) +
			"\n    on_error: dead_letter\n    dead_letter: dlq\n  - name: second\n    module: " + module +
			"\noutputs:\n  default: {type: stdout}\n  dlq: {type: file, path: dlq.ndjson}\n  x: {type: discard}\n",
			want: []string{": ok (2 stages, 3 outputs)\n", `stage "second"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, dir, tc.name+".yaml", []byte(tc.yaml))
			r := weir(t, nil, "validate", "-p", cfg)
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, cfg+": ok") {
				t.Fatalf("%v\nstdout: %s", r, r.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "dlq.ndjson")); err == nil {
				t.Error("validate created an output file")
			}
		})
	}
	t.Run("unknown setting warns", func(t *testing.T) {
		// Substation ignores settings it does not know; weir accepts them
		// with a warning naming the transform and the key.
		cfg := writeFile(t, dir, "warn.yaml", []byte("version: 1\nstages:\n  - name: b\n    transforms:\n"+
			"      - {type: object_copy, settings: {object: {source_key: a, target_key: b}, pattern: x}}\n"))
		r := weir(t, nil, "validate", "-p", cfg)
		want := `transforms[0] (object_copy): settings: unknown setting "pattern" ignored`
		if r.code != 0 || !strings.Contains(r.stdout, `warning: stage 0 "b": `+want) ||
			!strings.Contains(r.stderr, `level=WARN msg="swap: built-in stage: transforms[0] (object_copy): settings: unknown setting \"pattern\" ignored`) {
			t.Fatalf("%v\nstdout: %s", r, r.stdout)
		}
	})
	t.Run("missing output folder", func(t *testing.T) {
		cfg := writeFile(t, dir, "out.yaml", []byte("version: 1\nstages:\n  - module: "+module+
			"\noutputs:\n  default: {type: file, path: no/such/dir/out.ndjson}\n"))
		r := weir(t, nil, "validate", "-p", cfg)
		if r.code != 2 || !strings.Contains(r.stderr, `output "default"`) || !strings.Contains(r.stderr, "no/such/dir") {
			t.Fatal(r)
		}
	})
}

// TestInterrupted: a run whose context ends stops with exit status 130.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	pipe := ctPipeline(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--cache-dir", cacheDir, "run", "-p", pipe}, strings.NewReader("{}\n"), &stdout, &stderr)
	if code != 130 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "weir: interrupted") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
