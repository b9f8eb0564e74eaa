package swap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// TestBuiltinModuleSwapBetweenBatches: a pipeline configuration polled from
// a file moves between a module stage, a built-in stage and a mixed
// pipeline (built-ins, then a module) while batches run without pause.
// Every version is built and smoke-tested before it serves; a broken
// built-in version is refused; and every batch is processed by exactly one
// version, the one Run reports: no batch sees two.
func TestBuiltinModuleSwapBetweenBatches(t *testing.T) {
	l, _, logs := newLoader(t, source.Options{})
	dir := t.TempDir()
	module := func(tag string) string {
		p := filepath.Join(dir, strings.TrimSuffix(tag, "|")+".wasm")
		if err := os.WriteFile(p, tagModule(t, tag, false, ""), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	builtins := func(v int) string {
		return fmt.Sprintf("    transforms:\n      - {type: object_insert, settings: {object: {target_key: v}, value: %d}}\n", v)
	}
	versions := []struct {
		cfg     string
		marker  func(i int) string // the output of record {"i":i}
		refused bool
	}{
		{cfg: "  - name: tag\n    module: " + module("m1|") + "\n    entry: record\n    smoke: [{input: '{\"i\":0}', expect: ['m1|{\"i\":0}']}]\n",
			marker: func(i int) string { return fmt.Sprintf(`m1|{"i":%d}`, i) }},
		{cfg: "  - name: shape\n" + builtins(2) + "    smoke: [{input: '{\"i\":0}', expect: ['{\"i\":0,\"v\":2}']}]\n",
			marker: func(i int) string { return fmt.Sprintf(`{"i":%d,"v":2}`, i) }},
		{cfg: "  - name: shape\n    transforms: [{type: object_insert, settings: {object: {target_key: v}}}]\n    smoke: [{input: '{}', expect: ['never']}]\n", refused: true},
		{cfg: "  - name: shape\n" + builtins(3) + "  - name: tag\n    module: " + module("m3|") + "\n    entry: record\n",
			marker: func(i int) string { return fmt.Sprintf(`m3|{"i":%d,"v":3}`, i) }},
		{cfg: "  - name: shape\n" + builtins(4),
			marker: func(i int) string { return fmt.Sprintf(`{"i":%d,"v":4}`, i) }},
	}
	path := filepath.Join(dir, "pipeline.yaml")
	// Written to a temporary file and renamed, so the poller never reads
	// a half-written version.
	write := func(k int) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte("version: 1\nname: v"+fmt.Sprint(k)+"\nstages:\n"+versions[k].cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	ctx := context.Background()
	pipe, err := l.OpenPipeline(ctx, path, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close(ctx)

	// Batches run back to back on two goroutines while versions change.
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		seen    = map[string]int{}
		batchEr error
	)
	recs := make([]engine.Record, 50)
	for i := range recs {
		recs[i] = engine.Record{Data: fmt.Appendf(nil, `{"i":%d}`, i)}
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				res, v, err := pipe.Run(ctx, recs)
				if err == nil {
					var k int
					_, err = fmt.Sscanf(v.Config.Name, "v%d", &k)
					for i, r := range res.Records {
						if err == nil && (r.Err != nil || len(r.Outputs) != 1 || string(r.Outputs[0].Data) != versions[k].marker(i)) {
							err = fmt.Errorf("batch run by %s: record %d gave %+v, want %s", v.Config.Name, i, r, versions[k].marker(i))
						}
					}
				}
				mu.Lock()
				if err != nil && batchEr == nil {
					batchEr = err
				}
				if v.Config != nil {
					seen[v.Config.Name]++
				}
				mu.Unlock()
			}
		}()
	}
	for k := 1; k < len(versions); k++ {
		before := l.Metrics().Snapshot()
		time.Sleep(20 * time.Millisecond) // file modification times must differ
		write(k)
		waitFor(t, fmt.Sprintf("version %d to be handled", k), 20*time.Second, func() bool {
			now := l.Metrics().Snapshot()
			return now.Swaps+now.RefusedTotal() > before.Swaps+before.RefusedTotal()
		})
		after := l.Metrics().Snapshot()
		if versions[k].refused {
			if after.Refused[ReasonBuild] != before.Refused[ReasonBuild]+1 {
				t.Fatalf("version %d: refused %v, want one more %q", k, after.Refused, ReasonBuild)
			}
			continue
		}
		if got := pipe.Current().Config.Name; got != fmt.Sprintf("v%d", k) {
			t.Fatalf("version %d: current is %s", k, got)
		}
		// Let batches run on this version.
		waitFor(t, fmt.Sprintf("batches on v%d", k), 20*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return seen[fmt.Sprintf("v%d", k)] >= 3
		})
	}
	stop.Store(true)
	wg.Wait()
	if batchEr != nil {
		t.Fatal(batchEr)
	}
	if !strings.Contains(logs.String(), "smoke") {
		t.Errorf("the refused version's smoke failure is not logged")
	}
	t.Logf("batches per version: %v", seen)
}
