package benchkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/weirhq/weir/engine"
)

// benchOne measures one module or pipeline: startup, then every batch
// size x workers combination. failure reports records that failed (the
// report is then partial); err is a fatal error.
func benchOne(ctx context.Context, o *Options, rep *Report, prog *progress, t *Target, in *Input) (failure, err error) {
	rep.Targets = []TargetInfo{{Kind: t.Kind, Path: t.Path}}
	su := &StartupInfo{Stages: []StageStartup{}, Notes: []string{}}
	rep.Startup = su
	var h *benchHost
	var bp0 *benchPipe
	if o.Startup {
		var cleanup func()
		h, bp0, cleanup, err = compileStartup(ctx, o, t, su, prog)
		if err != nil {
			return nil, err
		}
		defer cleanup()
	} else {
		h, err = newBenchHost(ctx, o.Logger, o.CacheDir)
		if err != nil {
			return nil, err
		}
		defer h.close(context.Background())
		if bp0, err = buildBench(ctx, h, t); err != nil {
			return nil, err
		}
		var total time.Duration
		for k, d := range bp0.loads {
			total += d
			su.Stages = append(su.Stages, StageStartup{Name: bp0.info[k].Name, LoadMS: ptr(ms(d))})
		}
		su.LoadMS = ptr(ms(total))
		cache := "an in-memory compilation cache"
		if o.CacheDir != "" {
			cache = "the compilation cache " + o.CacheDir
		}
		su.Notes = append(su.Notes, fmt.Sprintf("--startup=false: compile and cold start not measured; load = read, compile (with %s), link and probe every module", cache))
	}
	pipes := []*benchPipe{bp0}
	defer func() {
		for _, bp := range pipes {
			bp.close(context.Background())
		}
	}()
	rep.Targets[0].Stages = bp0.info
	stageNames := make([]string, len(bp0.info))
	for k, si := range bp0.info {
		stageNames[k] = si.Name
	}
	instances := o.Instances
	if instances == 0 {
		instances = t.maxInstances()
	}
	var firstSums []SinkInfo
	for bi, size := range o.BatchSizes {
		batches := chunk(in.Records, size)
		vs, _, err := verify(ctx, pipes[:1], []*Target{t}, batches, prog)
		if err != nil {
			return nil, err
		}
		v := vs[0]
		if bi == 0 {
			note := fmt.Sprintf(`the bytes "weir run --batch-size %d" writes to each sink, hashed; bench writes nothing`, size)
			if t.Kind == "module" {
				note = fmt.Sprintf(`the bytes "weir run --batch-size %d" writes on stdout with a one-stage pipeline of this module, hashed; bench writes nothing`, size)
			}
			rep.Outputs = v.outputs(size, note)
			firstSums = v.sinks()
			if err := startupAfterFirstPass(ctx, o, su, h, t, in, batches, v, prog); err != nil {
				return nil, err
			}
		} else if !slices.Equal(sumsOf(v.sinks()), sumsOf(firstSums)) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the outputs with batch size %d differ from those with batch size %d: the pipeline depends on batch boundaries", size, o.BatchSizes[0]))
		}
		valid := batches
		partialNote := ""
		if v.firstBad >= 0 {
			valid = batches[:v.firstBad]
			f := failureMessage(v, len(in.Records), len(batches), size)
			if failure == nil {
				failure = errors.New(f)
			}
			if len(valid) > 0 {
				partialNote = fmt.Sprintf("measured on the first %d batches (records 0-%d) only: batch %d (record %d) is the first with a failed record",
					len(valid), valid[len(valid)-1].first+len(valid[len(valid)-1].recs)-1, v.firstBad, batches[v.firstBad].first)
			} else {
				partialNote = "nothing measured: the first batch already has a failed record, and a failed record does not measure a transform"
			}
		}
		for _, w := range o.Workers {
			shape := runShape{batchSize: size, workers: w, instances: instances, cores: min(w*instances, runtime.GOMAXPROCS(0)), stages: stageNames}
			if len(valid) == 0 {
				run := summarize(nil, shape, o)
				run.Partial, run.PartialNote = true, partialNote
				run.FirstPassMS = ms(v.wall)
				rep.Runs = append(rep.Runs, run)
				continue
			}
			if pipes, err = ensurePipes(ctx, h, t, pipes, w, valid[0]); err != nil {
				return nil, err
			}
			desc := fmt.Sprintf("batch %d, %s", size, plural(w, "worker", "workers"))
			if o.Warmup > 0 {
				if _, err := measure(ctx, pipes[:w], valid, plan{duration: o.Warmup}, prog, "warm-up   "+desc); err != nil {
					return nil, err
				}
			}
			m, err := measure(ctx, pipes[:w], valid, plan{iterations: o.Iterations, duration: o.Duration}, prog, "measuring "+desc)
			if err != nil {
				return nil, err
			}
			run := summarize([]*measurement{m}, shape, o)
			run.FirstPassMS = ms(v.wall)
			run.Guest = guestMemory(pipes[:w])
			if partialNote != "" {
				run.Partial, run.PartialNote = true, partialNote
			}
			if run.Failed > 0 {
				run.Partial = true
				run.PartialNote = fmt.Sprintf("%d records failed during the measurement (none in the first pass): the numbers include failed records", run.Failed)
				if failure == nil {
					failure = fmt.Errorf("bench: %d records failed during the measurement (batch size %d, %d workers), though none failed in the first pass", run.Failed, size, w)
				}
			}
			rep.Runs = append(rep.Runs, run)
		}
	}
	return failure, nil
}

func ptr[T any](v T) *T { return &v }

func sumsOf(s []SinkInfo) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Sink + "=" + x.SHA256
	}
	return out
}

// failureMessage explains the failed records of the first pass.
func failureMessage(v *verification, records, batches, size int) string {
	if v.failed == records {
		return fmt.Sprintf("bench: every record failed (%d of %d); first: %s. No throughput was measured (a failed record does not measure a transform); the startup figures are valid",
			v.failed, records, v.firstErr)
	}
	return fmt.Sprintf("bench: %d of %d records failed, in %d of %d batches of %d; first: %s. Throughput was measured only on the batches before the first failure (PARTIAL)",
		v.failed, records, v.failedBatches, batches, size, v.firstErr)
}

// ensurePipes builds pipelines up to n, each running first once so that
// its instances exist before any measurement.
func ensurePipes(ctx context.Context, h *benchHost, t *Target, pipes []*benchPipe, n int, first benchBatch) ([]*benchPipe, error) {
	for len(pipes) < n {
		bp, err := buildBench(ctx, h, t)
		if err != nil {
			return pipes, err
		}
		pipes = append(pipes, bp)
		if _, err := bp.pipe.Run(ctx, first.recs); err != nil {
			return pipes, fmt.Errorf("bench: %w", err)
		}
	}
	return pipes, nil
}

// compileStartup builds the pipeline on a host with an empty compilation
// cache folder (cold compile), then on a second host on the same folder
// (compile from the cache), which it returns for the measurements.
func compileStartup(ctx context.Context, o *Options, t *Target, su *StartupInfo, prog *progress) (*benchHost, *benchPipe, func(), error) {
	dir, err := os.MkdirTemp("", "weir-bench-cache-")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bench: %w", err)
	}
	stop := prog.start("compiling (empty cache, then cached)", -1, nil)
	defer stop()
	h1, err := newBenchHost(ctx, o.Logger, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	bp1, err := buildBench(ctx, h1, t)
	if err != nil {
		h1.close(ctx)
		_ = os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	bp1.close(ctx)
	h1.close(ctx)
	h2, err := newBenchHost(ctx, o.Logger, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	bp2, err := buildBench(ctx, h2, t)
	if err != nil {
		h2.close(ctx)
		_ = os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	var cold, cached time.Duration
	for k := range bp2.info {
		cold += bp1.loads[k]
		cached += bp2.loads[k]
		su.Stages = append(su.Stages, StageStartup{Name: bp2.info[k].Name, CompileColdMS: ptr(ms(bp1.loads[k])), CompileCachedMS: ptr(ms(bp2.loads[k]))})
	}
	su.CompileColdMS, su.CompileCachedMS = ptr(ms(cold)), ptr(ms(cached))
	su.Notes = append(su.Notes, "compile = building each stage as weir run does: fetch and check the module, compile it (or load it from the compilation cache), link, instantiate it once to probe it, run its smoke tests; in this process")
	cleanup := func() {
		h2.close(context.Background())
		_ = os.RemoveAll(dir)
	}
	return h2, bp2, cleanup, nil
}

// startupAfterFirstPass measures what needs a pipeline that already ran
// (instantiate) and the cold starts.
func startupAfterFirstPass(ctx context.Context, o *Options, su *StartupInfo, h *benchHost, t *Target, in *Input, batches []benchBatch, v *verification, prog *progress) error {
	const runs = 3
	inst, per, ok, err := measureInstantiate(ctx, h, t, in.Records[0], runs)
	if err != nil {
		return err
	}
	su.InstantiateMS, su.InstantiateRuns = ptr(ms(inst)), runs
	for k := range su.Stages {
		if k < len(per) {
			su.Stages[k].InstantiateMS = ptr(ms(per[k]))
		}
	}
	note := "instantiate = a fresh pipeline's first one-record batch minus the median of the next 5 (every stage makes its instance on its first batch)"
	if !ok {
		note += "; the first record fails, so this figure may be off"
	}
	su.Notes = append(su.Notes, note)
	if !o.Startup {
		return nil
	}
	switch {
	case o.ColdStarts == 0:
		su.ColdStart = &ColdStartInfo{Note: "cold start not measured (--cold-starts 0)"}
	case o.Child == nil:
		su.ColdStart = &ColdStartInfo{Note: "cold start not measured: no command starts a new process"}
	case len(in.Files) == 0 || slices.Contains(in.Files, "-"):
		su.ColdStart = &ColdStartInfo{Note: "cold start not measured: the input is stdin, which a new process cannot read again"}
	case v.firstBad == 0:
		su.ColdStart = &ColdStartInfo{Note: "cold start not measured: the first batch has failed records"}
	default:
		cs, err := measureColdStarts(ctx, o, t, len(batches[0].recs), prog)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			su.ColdStart = &ColdStartInfo{Note: "cold start not measured: " + err.Error()}
			return nil
		}
		su.ColdStart = cs
	}
	return nil
}

// measureInstantiate builds fresh pipelines on h (the compiled modules are
// shared, so nothing compiles) and times their first one-record batch
// against the following ones. ok is false when the record failed.
func measureInstantiate(ctx context.Context, h *benchHost, t *Target, rec engine.Record, runs int) (total time.Duration, perStage []time.Duration, ok bool, err error) {
	const steadyRuns = 5
	batch := []engine.Record{rec}
	var totals []time.Duration
	var stages [][]time.Duration
	ok = true
	for range runs {
		bp, err := buildBench(ctx, h, t)
		if err != nil {
			return 0, nil, false, err
		}
		t0 := time.Now()
		first, err := bp.pipe.Run(ctx, batch)
		firstTook := time.Since(t0)
		if err != nil {
			bp.close(ctx)
			return 0, nil, false, fmt.Errorf("bench: %w", err)
		}
		ok = ok && first.Failed == 0
		var steady []time.Duration
		steadyStages := make([][]time.Duration, len(first.Stages))
		for range steadyRuns {
			a := engine.NewArena() // as the measured runs (measure.go)
			t0 := time.Now()
			res, err := bp.pipe.Run(engine.WithArena(ctx, a), batch)
			took := time.Since(t0)
			if err != nil {
				bp.close(ctx)
				return 0, nil, false, fmt.Errorf("bench: %w", err)
			}
			steady = append(steady, took)
			for k, s := range res.Stages {
				steadyStages[k] = append(steadyStages[k], s.Duration)
			}
			a.Release()
		}
		bp.close(ctx)
		totals = append(totals, max(0, firstTook-median(steady)))
		if stages == nil {
			stages = make([][]time.Duration, len(first.Stages))
		}
		for k, s := range first.Stages {
			stages[k] = append(stages[k], max(0, s.Duration-median(steadyStages[k])))
		}
	}
	perStage = make([]time.Duration, len(stages))
	for k, s := range stages {
		perStage[k] = median(s)
	}
	return median(totals), perStage, ok, nil
}
