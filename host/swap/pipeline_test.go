package swap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// TestPipelineConfigSwap serves pipeline configurations from a loopback
// AppConfigData API and deploys good and bad versions while records
// stream through: every record comes out once, made by a good
// configuration; bad ones are refused with their reason.
func TestPipelineConfigSwap(t *testing.T) {
	ac := newAppConfig(t)
	l, _, logs := newLoader(t, source.Options{AppConfig: source.AppConfigAPI, AppConfigData: ac.dataClient()})
	dir := t.TempDir()
	p := &producer{}
	module := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	goodCfg := func(i int) []byte {
		tag := fmt.Sprintf("c%d|", i)
		p.good.Store(tag, true)
		path := module(fmt.Sprintf("c%d.wasm", i), tagModule(t, tag, false, ""))
		return fmt.Appendf(nil, "version: 1\nname: v%d\nstages:\n  - name: tag\n    module: %s\n    entry: record\n    instances: 2\n    smoke:\n      - input: x\n        expect: [\"%sx\"]\n", i, path, tag)
	}
	const key = "weir/prod/pipeline"
	ac.deploy(key, goodCfg(0), "1")
	ctx := context.Background()
	pipe, err := l.OpenPipeline(ctx, "appconfig://weir/prod/pipeline", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close(ctx)
	if v := pipe.Current(); v.SourceVersion != "1" || v.Config.Name != "v0" {
		t.Fatalf("first version %+v", v)
	}
	p.process = func(ctx context.Context, recs []engine.Record) ([][]string, error) {
		res, _, err := pipe.Run(ctx, recs)
		if err != nil {
			return nil, err
		}
		outs := make([][]string, len(recs))
		for i, r := range res.Records {
			if r.Err != nil {
				return nil, r.Err
			}
			for _, o := range r.Outputs {
				outs[i] = append(outs[i], string(o.Data))
			}
		}
		return outs, nil
	}
	p.start(2, 16)

	notWasm := module("bad.wasm", []byte("not a module"))
	steps := []struct {
		name, reason string
		cfg          []byte
		wantLog      string
	}{
		{name: "good 1", cfg: goodCfg(1)},
		{name: "unknown field", reason: ReasonConfig, cfg: []byte("version: 1\nstages:\n  - module: x.wasm\n    colour: blue\n"), wantLog: "colour"},
		{name: "good 2", cfg: goodCfg(2)},
		{name: "bad URI", reason: ReasonConfig, cfg: []byte("version: 1\nstages:\n  - module: appconfig://only-app\n"), wantLog: "want appconfig://application/environment/profile"},
		{name: "good 3", cfg: goodCfg(3)},
		{name: "module not wasm", reason: ReasonBuild, cfg: fmt.Appendf(nil, "version: 1\nstages:\n  - module: %s\n", notWasm), wantLog: "not a WebAssembly"},
		{name: "good 4", cfg: goodCfg(4)},
		{name: "smoke test fails", reason: ReasonBuild, cfg: fmt.Appendf(nil, "version: 1\nstages:\n  - module: %s\n    entry: record\n    smoke: [{input: x, expect: [nope]}]\n", filepath.Join(dir, "c4.wasm")), wantLog: "smoke test 0"},
		{name: "good 5", cfg: goodCfg(5)},
	}
	for i, step := range steps {
		before := l.Metrics().Snapshot()
		prev := pipe.Current()
		ac.deploy(key, step.cfg, fmt.Sprint(i+2))
		// The refusal is counted before its log line is written: wait for
		// both (a missing line still fails below, after the wait).
		waitFor(t, step.name+" to be handled", 20*time.Second, func() bool {
			now := l.Metrics().Snapshot()
			return now.Swaps+now.RefusedTotal() > before.Swaps+before.RefusedTotal() &&
				(step.wantLog == "" || strings.Contains(logs.String(), step.wantLog))
		})
		after := l.Metrics().Snapshot()
		cur := pipe.Current()
		if step.reason == "" {
			if cur.SourceVersion != fmt.Sprint(i+2) {
				t.Fatalf("%s: serving %s", step.name, cur)
			}
			continue
		}
		if after.Refused[step.reason]-before.Refused[step.reason] != 1 {
			t.Fatalf("%s: refused %v, want one more %q", step.name, after.Refused, step.reason)
		}
		if cur.SourceVersion != prev.SourceVersion {
			t.Fatalf("%s: running version changed to %s", step.name, cur)
		}
		if !strings.Contains(logs.String(), step.wantLog) {
			t.Errorf("%s: logs lack %q", step.name, step.wantLog)
		}
	}
	if n := p.finish(t); n < 2 {
		t.Errorf("the producer saw %d versions", n)
	}
	if vi := l.Metrics().Snapshot().Versions[PipelineTarget]; vi.SourceVersion != fmt.Sprint(len(steps)+1) {
		t.Errorf("pipeline version in use %+v", vi)
	}
}

// TestAppConfigDataPollInterval: the watcher never polls faster than the
// server's Next-Poll-Interval-In-Seconds.
func TestAppConfigDataPollInterval(t *testing.T) {
	ac := newAppConfig(t)
	ac.interval = 1
	src, err := source.Open(context.Background(), "appconfig://a/e/p", source.Options{AppConfig: source.AppConfigAPI, AppConfigData: ac.dataClient()})
	if err != nil {
		t.Fatal(err)
	}
	ac.deploy("a/e/p", []byte("one"), "1")
	ctx := context.Background()
	obj, err := src.Fetch(ctx, "")
	if err != nil || string(obj.Data) != "one" || obj.Version != "1" {
		t.Fatalf("fetch: %v %+v", err, obj)
	}
	if src.MinInterval() != time.Second {
		t.Fatalf("MinInterval %s", src.MinInterval())
	}
	if _, err := src.Fetch(ctx, obj.Version); err != source.ErrNotModified {
		t.Fatalf("unchanged: %v", err)
	}
	ac.deploy("a/e/p", []byte("two"), "2")
	if obj, err = src.Fetch(ctx, obj.Version); err != nil || string(obj.Data) != "two" {
		t.Fatalf("changed: %v %+v", err, obj)
	}
}
