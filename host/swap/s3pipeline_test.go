package swap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// TestPipelineFromS3 serves the pipeline configuration itself from S3
// (WEIR_PIPELINE=s3://...): the first version serves, a new object
// version is picked up by the watcher and swapped in, a bad one is
// refused while the good one keeps serving. The configurations hold an
// ${env:...} reference, resolved for every version through
// Options.Resolve.
func TestPipelineFromS3(t *testing.T) {
	s3f := newFakeS3(t)
	l, _, _ := newLoader(t, source.Options{S3: s3f.client})
	var resolved atomic.Int32
	l.o.Resolve = func(ctx context.Context, cfg *engine.Config) (*engine.Config, error) {
		resolved.Add(1)
		return cfg.Resolved(ctx, engine.ResolverFunc(func(_ context.Context, ref engine.Ref) (string, error) {
			return "greeting-" + ref.ID, nil
		}))
	}
	dir := t.TempDir()
	cfgOf := func(i int) []byte {
		tag := fmt.Sprintf("p%d|", i)
		path := filepath.Join(dir, fmt.Sprintf("p%d.wasm", i))
		if err := os.WriteFile(path, tagModule(t, tag, false, ""), 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Appendf(nil, "version: 1\nname: v%d\nstages:\n  - name: tag\n    module: %s\n    entry: record\n    instances: 1\n    config: {greeting: \"${env:G%d}\"}\n", i, path, i)
	}
	s3f.put(t, "pipelines/prod.yaml", cfgOf(0), nil)
	ctx := context.Background()
	pipe, err := l.OpenPipeline(ctx, "s3://mods/pipelines/prod.yaml", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close(ctx)
	run := func() string {
		t.Helper()
		res, _, err := pipe.Run(ctx, []engine.Record{{Data: []byte("x")}})
		if err != nil || len(res.Records) != 1 || res.Records[0].Err != nil || len(res.Records[0].Outputs) != 1 {
			t.Fatalf("run: %+v, %v", res, err)
		}
		return string(res.Records[0].Outputs[0].Data)
	}
	if got := run(); got != "p0|x" {
		t.Fatalf("first version: %q", got)
	}
	if v := pipe.Current(); v.Config.Name != "v0" || v.Config.Stages[0].Config["greeting"] != "greeting-G0" {
		t.Fatalf("first version %+v", v.Config.Stages[0].Config)
	}
	s3f.put(t, "pipelines/prod.yaml", []byte("version: 1\nstages: [{module: }]\n"), nil) // refused
	time.Sleep(100 * time.Millisecond)
	if got := run(); got != "p0|x" {
		t.Fatalf("after a bad version: %q", got)
	}
	s3f.put(t, "pipelines/prod.yaml", cfgOf(1), nil)
	deadline := time.Now().Add(20 * time.Second)
	for run() != "p1|x" {
		if time.Now().After(deadline) {
			t.Fatal("the new S3 object version was not swapped in within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := pipe.Current(); v.Config.Name != "v1" || v.Config.Stages[0].Config["greeting"] != "greeting-G1" || resolved.Load() < 2 {
		t.Fatalf("second version %+v (resolved %d times)", v.Config.Stages[0].Config, resolved.Load())
	}
}
