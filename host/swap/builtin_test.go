package swap

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// TestBuiltinPipelineSwap: a pipeline configuration whose stage is a
// built-in transforms list is swapped like any other: each version is
// built (compiled), checked (smoke tests) and only then serves; a version
// with a bad transform or a failing smoke test is refused and the
// running one keeps serving.
func TestBuiltinPipelineSwap(t *testing.T) {
	ac := newAppConfig(t)
	l, _, logs := newLoader(t, source.Options{AppConfig: source.AppConfigAPI, AppConfigData: ac.dataClient()})
	cfg := func(v int, smokeWant string) []byte {
		return fmt.Appendf(nil, `version: 1
stages:
  - name: shape
    transforms:
      - {type: object_copy, settings: {object: {source_key: a, target_key: b}}}
      - {type: object_insert, settings: {object: {target_key: v}, value: %d}}
    smoke:
      - input: '{"a":1}'
        expect: ['%s']
`, v, smokeWant)
	}
	const key = "weir/prod/pipeline"
	ac.deploy(key, cfg(1, `{"a":1,"b":1,"v":1}`), "1")
	ctx := context.Background()
	pipe, err := l.OpenPipeline(ctx, "appconfig://weir/prod/pipeline", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close(ctx)
	run := func() string {
		t.Helper()
		res, _, err := pipe.Run(ctx, []engine.Record{{Data: []byte(`{"a":"x"}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Records[0]; r.Err != nil || len(r.Outputs) != 1 {
			t.Fatalf("record: %+v", r)
		}
		return string(res.Records[0].Outputs[0].Data)
	}
	if got := run(); got != `{"a":"x","b":"x","v":1}` {
		t.Fatalf("version 1: %s", got)
	}
	steps := []struct {
		name, reason, want, log string
		cfg                     []byte
	}{
		{name: "good 2", cfg: cfg(2, `{"a":1,"b":1,"v":2}`), want: `{"a":"x","b":"x","v":2}`},
		{name: "mistyped setting", reason: ReasonBuild, cfg: []byte("version: 1\nstages:\n  - transforms: [{type: object_copy, settings: {object: {source_key: [a]}}}]\n"), log: `must be a string`},
		{name: "refused transform", reason: ReasonBuild, cfg: []byte("version: 1\nstages:\n  - transforms: [{type: send_aws_sqs}]\n"), log: "not supported by weir"},
		{name: "smoke fails", reason: ReasonBuild, cfg: cfg(3, `nope`), log: "smoke test"},
		{name: "good 3", cfg: cfg(3, `{"a":1,"b":1,"v":3}`), want: `{"a":"x","b":"x","v":3}`},
	}
	for i, step := range steps {
		before := l.Metrics().Snapshot()
		ac.deploy(key, step.cfg, fmt.Sprint(i+2))
		// A refusal is counted before its log line is written: wait for
		// both (a missing line still fails below, after the wait).
		waitFor(t, step.name+" to be handled", 20*time.Second, func() bool {
			now := l.Metrics().Snapshot()
			return now.Swaps+now.RefusedTotal() > before.Swaps+before.RefusedTotal() &&
				(step.log == "" || strings.Contains(logs.String(), step.log))
		})
		after := l.Metrics().Snapshot()
		// The version's own event names it by the digest of the bytes
		// deployed (what weir release watches).
		ev := l.Metrics().DrainEvents()
		if want := (VersionEvent{Target: PipelineTarget, Digest: source.Digest(step.cfg), Refused: step.reason != "", Reason: step.reason}); len(ev) == 0 || ev[len(ev)-1] != want {
			t.Errorf("%s: events %+v, want the last %+v", step.name, ev, want)
		}
		if step.reason != "" {
			if after.Refused[step.reason]-before.Refused[step.reason] != 1 {
				t.Fatalf("%s: refused %v, want one more %q", step.name, after.Refused, step.reason)
			}
			if !strings.Contains(logs.String(), step.log) {
				t.Errorf("%s: logs lack %q", step.name, step.log)
			}
			continue
		}
		if got := run(); got != step.want {
			t.Fatalf("%s: %s, want %s", step.name, got, step.want)
		}
	}
}
