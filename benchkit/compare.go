package benchkit

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"
)

// MaxCompare is the most targets one Compare measures (labels A to Z).
const MaxCompare = 26

// CompareLabel is the label Compare expects of its i-th target: "A",
// "B", ... "Z".
func CompareLabel(i int) string { return string(rune('A' + i)) }

// benchCompare measures every target on one host: a first pass that
// checks their outputs record by record against A's, then o.Rounds
// interleaved rounds (A B, B A, ... for two; A B C, B C A, C A B, ... for
// more), the ratio of each target's throughput to A's and, with
// o.ColdStarts > 0, each target's cold starts.
func benchCompare(ctx context.Context, o *Options, rep *Report, prog *progress, targets []*Target, in *Input) (failure, err error) {
	h, err := newBenchHost(ctx, o.Logger, o.CacheDir)
	if err != nil {
		return nil, err
	}
	defer h.close(context.Background())
	n := len(targets)
	pipes := make([][]*benchPipe, n)
	defer func() {
		for _, side := range pipes {
			for _, bp := range side {
				bp.close(context.Background())
			}
		}
	}()
	first := make([]*benchPipe, n)
	for i, t := range targets {
		bp, err := buildBench(ctx, h, t)
		if err != nil {
			return nil, err
		}
		pipes[i] = []*benchPipe{bp}
		first[i] = bp
		rep.Targets = append(rep.Targets, TargetInfo{Label: t.Label, Kind: t.Kind, Path: t.Path, Stages: bp.info})
	}
	size, w := o.BatchSizes[0], o.Workers[0]
	batches := chunk(in.Records, size)
	vs, diffs, err := verify(ctx, first, targets, batches, prog)
	if err != nil {
		return nil, err
	}
	c := &CompareInfo{
		A: targets[0].Path, B: targets[1].Path, Rounds: o.Rounds, BatchSize: size, Workers: w,
		AllowDiff: o.AllowDiff, OutputsIdentical: diffs[1] == nil, FirstDiff: diffs[1],
		OutputsA: vs[0].sinks(), OutputsB: vs[1].sinks(), PerRound: []RoundInfo{},
	}
	for i, t := range targets {
		ct := CompareTarget{Label: t.Label, Path: t.Path, OutputsIdentical: diffs[i] == nil, FirstDiff: diffs[i]}
		if t.Kind == "module" {
			if fi, err := os.Stat(t.Path); err == nil {
				ct.ModuleBytes = fi.Size()
			}
		}
		c.Targets = append(c.Targets, ct)
	}
	rep.Compare = c
	for i, v := range vs {
		if v.failed > 0 {
			return fmt.Errorf("bench: %s (%s): %d of %d records failed; first: %s. --compare measures only targets whose records all go through",
				targets[i].Label, targets[i].Path, v.failed, len(in.Records), v.firstErr), nil
		}
	}
	for i, diff := range diffs {
		if diff == nil {
			continue
		}
		if !o.AllowDiff {
			return fmt.Errorf("bench: the outputs of A (%s) and %s (%s) differ from record %d (%s, seq %s) on:\n  A: %s\n  %s: %s\nnothing measured; --allow-diff compares their speed anyway",
				targets[0].Path, targets[i].Label, targets[i].Path, diff.Record, diff.Source, diff.Seq, diff.A, targets[i].Label, diff.B), nil
		}
		if n == 2 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the outputs differ from record %d (--allow-diff): A and B do not do the same work", diff.Record))
		} else {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the outputs of %s differ from A's from record %d (--allow-diff): they do not do the same work", targets[i].Label, diff.Record))
		}
	}
	instances := o.Instances
	if instances == 0 {
		for _, t := range targets {
			instances = max(instances, t.maxInstances())
		}
	}
	for i, t := range targets {
		if pipes[i], err = ensurePipes(ctx, h, t, pipes[i], w, batches[0]); err != nil {
			return nil, err
		}
		if o.Warmup > 0 {
			if _, err := measure(ctx, pipes[i][:w], batches, plan{duration: o.Warmup}, prog, "warm-up "+t.Label); err != nil {
				return nil, err
			}
		}
	}
	pl := plan{iterations: o.Iterations, duration: o.Duration / time.Duration(o.Rounds)}
	meas := make([][]*measurement, n)
	ratios := make([][]float64, n) // per target, its per-round ratio to A
	for k := range o.Rounds {
		// Rotating order: every target runs first, second, ... equally
		// often (for two: A B, B A, ...).
		eps := make([]float64, n)
		for j := range n {
			side := (k + j) % n
			m, err := measure(ctx, pipes[side][:w], batches, pl, prog, fmt.Sprintf("round %d/%d, %s", k+1, o.Rounds, targets[side].Label))
			if err != nil {
				return nil, err
			}
			meas[side] = append(meas[side], m)
			var events int
			for _, s := range m.samples {
				events += s.events
			}
			eps[side] = float64(events) / m.wall.Seconds()
		}
		for i := range n {
			ratios[i] = append(ratios[i], eps[i]/eps[0])
		}
		c.PerRound = append(c.PerRound, RoundInfo{AEventsPerSec: eps[0], BEventsPerSec: eps[1], Ratio: eps[1] / eps[0], First: targets[k%n].Label, EventsPerSec: eps})
	}
	for i, t := range targets {
		names := make([]string, len(pipes[i][0].info))
		for k, si := range pipes[i][0].info {
			names[k] = si.Name
		}
		shape := runShape{target: t.Label, batchSize: size, workers: w, instances: instances, cores: min(w*instances, runtime.GOMAXPROCS(0)), stages: names}
		run := summarize(meas[i], shape, o)
		run.FirstPassMS = ms(vs[i].wall)
		run.Guest = guestMemory(pipes[i][:w])
		if run.Failed > 0 {
			run.Partial = true
			run.PartialNote = fmt.Sprintf("%d records failed during the measurement", run.Failed)
			if failure == nil {
				failure = fmt.Errorf("bench: %s: %d records failed during the measurement, though none failed in the first pass", t.Label, run.Failed)
			}
		}
		rep.Runs = append(rep.Runs, run)
		ct := &c.Targets[i]
		ct.EventsPerSecCPU = run.EventsPerSecCPU
		ct.Ratio, ct.CILow, ct.CIHigh = ratioCI(ratios[i])
		if i == 0 {
			ct.Ratio, ct.CILow, ct.CIHigh = 1, 1, 1
		}
		ct.Verdict = verdict(t.Label, ct.Ratio, ct.CILow, ct.CIHigh)
	}
	c.Ratio, c.CILow, c.CIHigh = c.Targets[1].Ratio, c.Targets[1].CILow, c.Targets[1].CIHigh
	c.Verdict = c.Targets[1].Verdict
	c.Significant = c.CILow > 1 || c.CIHigh < 1
	switch {
	case c.CILow > 1:
		c.Faster = "B"
	case c.CIHigh < 1:
		c.Faster = "A"
	}
	order := "A B, B A, ..."
	if n > 2 {
		order = "rotating: A B C, B C A, ..."
	}
	c.Method = fmt.Sprintf("geometric mean of the %d per-round ratios of events/s, Student t 95%% interval on their logarithms; rounds interleaved %s", o.Rounds, order)
	if !o.Startup || o.ColdStarts == 0 {
		return failure, nil
	}
	var note string
	switch {
	case o.Child == nil:
		note = "cold starts not measured: no command starts a new process"
	case len(in.Files) == 0 || slices.Contains(in.Files, "-"):
		note = "cold starts not measured: the input is stdin, which a new process cannot read again"
	}
	if note != "" {
		rep.Notes = append(rep.Notes, note)
		return failure, nil
	}
	for i, t := range targets {
		cs, err := measureColdStarts(ctx, o, t, len(batches[0].recs), prog)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			cs = &ColdStartInfo{Note: "cold start not measured: " + err.Error()}
		}
		c.Targets[i].ColdStart = cs
	}
	return failure, nil
}

// verdict says whether label is faster or slower than A, from its
// throughput ratio to A and that ratio's 95% interval.
func verdict(label string, ratio, lo, hi float64) string {
	switch {
	case lo > 1:
		return fmt.Sprintf("%s is faster: %.1f%% more events/s than A (95%% CI %+.1f%% to %+.1f%%)", label, 100*(ratio-1), 100*(lo-1), 100*(hi-1))
	case hi < 1:
		return fmt.Sprintf("%s is slower: %.1f%% fewer events/s than A (95%% CI %+.1f%% to %+.1f%%)", label, 100*(1-ratio), 100*(lo-1), 100*(hi-1))
	}
	return fmt.Sprintf("no significant difference: %s/A = %.3f, and its 95%% CI %.3f-%.3f includes 1", label, ratio, lo, hi)
}
