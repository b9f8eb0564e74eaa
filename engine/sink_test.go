package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/engine"
)

func outs(data ...string) []engine.Output {
	out := make([]engine.Output, len(data))
	for i, d := range data {
		out[i] = engine.Output{Data: []byte(d)}
	}
	return out
}

func TestWriterSink(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    string
		wantErr string
	}{
		{"lines", []string{`{"a":1}`, `{"b":2}`}, "{\"a\":1}\n{\"b\":2}\n", ""},
		{"trailing newline not doubled", []string{"{\"a\":1}\n", "{\"b\":2}\r\n"}, "{\"a\":1}\n{\"b\":2}\n", ""},
		{"indented JSON compacted", []string{"{\n  \"a\": [1,\n 2]\n}"}, "{\"a\":[1,2]}\n", ""},
		{"multi-line non-JSON refused", []string{"ok", "two\nlines"}, "", "sink stdout: output 1 spans several lines and is not JSON"},
		{"nothing", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := engine.NewWriterSink("stdout", &buf)
			err := s.Write(context.Background(), outs(tt.in...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Flushed at the end of Write, before Close.
			if buf.String() != tt.want {
				t.Errorf("wrote %q, want %q", buf.String(), tt.want)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), outs("x")); err == nil {
				t.Error("Write after Close accepted")
			}
		})
	}
}

func TestWriterSinkConcurrentWritesDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	s := engine.NewWriterSink("stdout", &buf)
	line := strings.Repeat("y", 100<<10) // larger than the buffer
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Write(context.Background(), outs(line, line)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if l != line {
			t.Fatalf("line %d is mangled (%d bytes)", i, len(l))
		}
	}
}

func TestFileSinkAppends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.ndjson")
	for _, d := range []string{"1", "2"} {
		s, err := engine.NewFileSink(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, outs(d)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "1\n2\n" {
		t.Errorf("file holds %q, %v", got, err)
	}
	if _, err := engine.NewFileSink(filepath.Join(t.TempDir(), "no", "such", "dir", "f")); err == nil || !strings.HasPrefix(err.Error(), "sink: ") {
		t.Errorf("bad path: %v", err)
	}
}

func TestOpenSinksAndRouteOutputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := &engine.Config{Version: 1, Dir: dir, Stages: []engine.StageConfig{{Module: "m"}}, Outputs: map[string]engine.OutputConfig{
		"alerts":  {Type: "stdout"},
		"errors":  {Type: "stderr"},
		"dlq":     {Type: "file", Path: "dead.ndjson"},
		"dlq2":    {Type: "file", Path: filepath.Join(dir, "dead.ndjson")},
		"ignored": {Type: "discard"},
	}}
	var stdout, stderr bytes.Buffer
	sinks, err := engine.OpenSinks(cfg, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(sinks) != 6 {
		t.Errorf("%d sinks, want 6 (five outputs and the implicit default)", len(sinks))
	}
	if sinks["default"] != sinks["alerts"] || sinks["dlq"] != sinks["dlq2"] {
		t.Error("outputs on the same stream do not share a sink")
	}
	res := &engine.BatchResult{Records: []engine.RecordResult{
		{Index: 0, Outputs: []engine.Output{{Data: []byte("d0")}, {Route: "alerts", Data: []byte("a0")}}},
		{Index: 1, Dropped: true},
		{Index: 2, Outputs: []engine.Output{{Route: "dlq", Data: []byte("x2")}, {Route: "errors", Data: []byte("e2")}}},
		{Index: 3, Outputs: []engine.Output{{Route: "ignored", Data: []byte("i3")}, {Route: "default", Data: []byte("d3")}, {Route: "dlq2", Data: []byte("y3")}}},
	}}
	if err := engine.RouteOutputs(ctx, res, sinks); err != nil {
		t.Fatal(err)
	}
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != "d0\nd3\na0\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := stderr.String(); got != "e2\n" {
		t.Errorf("stderr = %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "dead.ndjson")); string(got) != "x2\ny3\n" {
		t.Errorf("dead.ndjson = %q", got)
	}
}

func TestRouteOutputsUnknownRoute(t *testing.T) {
	var buf bytes.Buffer
	sinks := map[string]engine.Sink{"default": engine.NewWriterSink("stdout", &buf)}
	res := &engine.BatchResult{Records: []engine.RecordResult{
		{Index: 0, Outputs: []engine.Output{{Data: []byte("ok")}}},
		{Index: 1, Outputs: []engine.Output{{Route: "alerts", Data: []byte("a")}}},
		{Index: 2, Outputs: []engine.Output{{Route: "alerts", Data: []byte("b")}, {Route: "s3", Data: []byte("c")}}},
	}}
	err := engine.RouteOutputs(context.Background(), res, sinks)
	if !errors.Is(err, engine.ErrUnknownRoute) {
		t.Fatalf("error %v", err)
	}
	for _, want := range []string{`sink: record 1: route "alerts": route has no configured output`, `sink: record 2: route "s3"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nmissing %q", err, want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q although a route was unknown", buf.String())
	}
	// Without a default sink, empty routes are unknown too.
	err = engine.RouteOutputs(context.Background(), res, map[string]engine.Sink{})
	if err == nil || !strings.Contains(err.Error(), `sink: record 0: route "default"`) {
		t.Errorf("missing default: %v", err)
	}
}

type failingSink struct{}

func (failingSink) Write(context.Context, []engine.Output) error { return errors.New("disk full") }
func (failingSink) Close(context.Context) error                  { return errors.New("close failed") }

func TestSinkErrors(t *testing.T) {
	ctx := context.Background()
	res := &engine.BatchResult{Records: []engine.RecordResult{{Outputs: []engine.Output{{Data: []byte("x")}}}}}
	err := engine.RouteOutputs(ctx, res, map[string]engine.Sink{"default": failingSink{}})
	if err == nil || err.Error() != `sink: route "default": disk full` {
		t.Errorf("RouteOutputs: %v", err)
	}
	err = engine.CloseSinks(ctx, map[string]engine.Sink{"a": failingSink{}, "b": engine.NewDiscardSink()})
	if err == nil || err.Error() != `sink: output "a": close failed` {
		t.Errorf("CloseSinks: %v", err)
	}
	cfg := &engine.Config{Outputs: map[string]engine.OutputConfig{"f": {Type: "file", Path: filepath.Join(t.TempDir(), "x", "y")}}}
	if _, err := engine.OpenSinks(cfg, nil, nil); err == nil || !strings.HasPrefix(err.Error(), `sink: output "f": open `) {
		t.Errorf("OpenSinks: %v", err)
	}
	if err := engine.RouteOutputs(ctx, nil, nil); err != nil {
		t.Errorf("nil result: %v", err)
	}
}

func TestRegisteredSink(t *testing.T) {
	cfg := &engine.Config{Version: 1, Outputs: map[string]engine.OutputConfig{
		"default": {Type: engine.OutputStdout},
		"q":       {Type: engine.OutputSQS, QueueURL: "http://127.0.0.1:1/q"},
	}}
	if _, err := engine.OpenSinks(cfg, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `output "q"`) {
		t.Fatalf("unregistered type: err = %v", err)
	}
	var got engine.OutputConfig
	engine.RegisterSink(engine.OutputSQS, func(ctx context.Context, name string, oc engine.OutputConfig, c *engine.Config) (engine.Sink, error) {
		got = oc
		return engine.NewDiscardSink(), nil
	})
	defer engine.RegisterSink(engine.OutputSQS, nil)
	sinks, err := engine.OpenSinks(cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got.QueueURL != "http://127.0.0.1:1/q" || sinks["q"] == nil {
		t.Fatalf("factory got %+v", got)
	}
}
