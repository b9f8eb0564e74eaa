package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// arenaStage writes each record's output, its data upper-cased and
// suffix, into the batch's arena (as the built-in and Wasm stages do).
func arenaStage(suffix string) *fakeStage {
	return &fakeStage{process: func(ctx context.Context, recs []engine.Record) ([]engine.Result, error) {
		a := engine.ArenaFrom(ctx)
		res := a.Results(len(recs))
		outs := a.Outputs(len(recs))
		for i, r := range recs {
			b := a.Bytes(len(r.Data) + len(suffix))
			b = append(append(b, strings.ToUpper(string(r.Data))...), suffix...)
			outs[i] = engine.Output{Data: b}
			res[i] = engine.Result{Status: engine.StatusOK, Outputs: outs[i : i+1 : i+1]}
		}
		return res, nil
	}}
}

// passStage passes every record through: its output aliases its input
// (the previous stage's output, in the arena).
func passStage() *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result {
		return engine.Result{Status: engine.StatusOK, Outputs: []engine.Output{{Data: r.Data}}}
	})
}

// poisoned turns arena poisoning on for the test: a byte read after its
// arena's Release is 0xA5.
func poisoned(t *testing.T) {
	old := engine.SetArenaPoison(true)
	t.Cleanup(func() { engine.SetArenaPoison(old) })
}

// TestArenaSinkHoldsAcrossBatches: an output with batch settings holds
// outputs past the Write of their batch, past its arena's Release and
// the next batch (which reuses the memory); what it writes at the flush
// is intact.
func TestArenaSinkHoldsAcrossBatches(t *testing.T) {
	poisoned(t)
	ctx := context.Background()
	p, err := engine.NewPipeline(ctx, &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "a"}}},
		builderOf(map[string]engine.Stage{"a": arenaStage("!")}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	sinks, rec := openRecording(t, engine.OutputConfig{Batch: &engine.BatchConfig{Count: 100}})
	var want []string
	for batch := range 3 {
		in := []string{fmt.Sprintf("b%d-x", batch), fmt.Sprintf("b%d-y", batch)}
		a := engine.NewArena()
		res, err := p.Run(engine.WithArena(ctx, a), records(in...))
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.RouteOutputs(ctx, res, sinks); err != nil {
			t.Fatal(err)
		}
		a.Release()
		for _, s := range in {
			want = append(want, strings.ToUpper(s)+"!")
		}
	}
	if got := rec.got(); got != "" {
		t.Fatalf("written before the flush: %s", got)
	}
	if err := engine.FlushSinks(ctx, sinks); err != nil {
		t.Fatal(err)
	}
	if got, w := rec.got(), fmt.Sprint(want); got != w {
		t.Errorf("flushed %s\nwant    %s", got, w)
	}
}

// TestArenaPipelineStages: in a pipeline of several stages, outputs
// made in the arena become the next stage's records, a pass-through
// output aliases them, and nothing is released before the end: with the
// arena, every batch gives what it gives without one, and a released
// arena's memory (poisoned) never shows in a later batch.
func TestArenaPipelineStages(t *testing.T) {
	poisoned(t)
	ctx := context.Background()
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{
		{Module: "one"}, {Name: "pass1", Module: "pass"}, {Module: "multi"}, {Module: "two"}, {Name: "pass2", Module: "pass"},
	}}
	p, err := engine.NewPipeline(ctx, cfg, builderOf(map[string]engine.Stage{
		"one": arenaStage("-1"), "pass": passStage(), "multi": multiStage(), "two": arenaStage("-2"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for batch := range 4 {
		in := make([]string, 50+batch*40) // batches of different sizes
		for i := range in {
			in[i] = fmt.Sprintf("b%d-r%d-%s", batch, i, strings.Repeat("z", i%13))
		}
		plain, err := p.Run(ctx, records(in...))
		if err != nil {
			t.Fatal(err)
		}
		a := engine.NewArena()
		res, err := p.Run(engine.WithArena(ctx, a), records(in...))
		if err != nil {
			t.Fatal(err)
		}
		for i := range in {
			got, want := outputs(res.Records[i]), outputs(plain.Records[i])
			if fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 2 {
				t.Fatalf("batch %d record %d: %q, want %q", batch, i, got, want)
			}
			if w := strings.ToUpper(in[i]) + "-1#1-2"; want[0] != w {
				t.Fatalf("batch %d record %d: %q, want %q", batch, i, want[0], w)
			}
		}
		if res.Out != plain.Out || res.Records[len(in)-1].Index != len(in)-1 {
			t.Errorf("batch %d: %d outputs (%d without the arena)", batch, res.Out, plain.Out)
		}
		a.Release()
	}
}
