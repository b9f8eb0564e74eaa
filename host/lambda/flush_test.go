package lambda

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// failingSink refuses every write.
type failingSink struct{ writes int }

func (s *failingSink) Write(context.Context, []engine.Output) error {
	s.writes++
	return errors.New("ServiceUnavailable")
}
func (s *failingSink) Close(context.Context) error { return nil }

// TestFlushAtEndOfInvocation: an output with batch settings (a count no
// invocation reaches, an hour's interval) is written before Invoke
// returns, and its failure fails the invocation.
func TestFlushAtEndOfInvocation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	failing := &failingSink{}
	engine.RegisterSink("lambda-test-failing", func(context.Context, string, engine.OutputConfig, *engine.Config) (engine.Sink, error) {
		return failing, nil
	})
	cfg, err := engine.ParseConfig([]byte(`version: 1
stages:
  - module: x.wasm
outputs:
  default: {type: file, path: out.ndjson, batch: {count: 1000, interval: 1h}}
  bad: {type: discard}
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	sinks, err := engine.OpenSinksContext(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.CloseSinks(ctx, sinks)
	h, _, _ := newHandler(t, 3)
	h.Sinks = sinks
	if _, err := h.Invoke(ctx, kinesisJSON(b64(`{"a":1}`), b64(`{"a":2}`))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out.ndjson"))
	if err != nil || string(b) != "{\"a\":1}\n{\"a\":2}\n" {
		t.Fatalf("after the invocation: %q, %v", b, err)
	}

	// The same with an output whose flush fails: the invocation fails.
	cfg.Outputs["default"] = engine.OutputConfig{Type: "lambda-test-failing", Batch: &engine.BatchConfig{Count: 1000, Interval: engine.Duration(3600e9)}}
	sinks2, err := engine.OpenSinksContext(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Sinks = sinks2
	_, err = h.Invoke(ctx, kinesisJSON(b64(`{"a":1}`)))
	if err == nil || !strings.Contains(err.Error(), "delivering outputs") || !strings.Contains(err.Error(), "ServiceUnavailable") || failing.writes != 1 {
		t.Fatalf("error %v after %d writes", err, failing.writes)
	}
	_ = engine.CloseSinks(ctx, sinks2)
}
