package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"
)

// maxCompare is the most targets one --compare runs (labels A to Z).
const maxCompare = 26

// compareLabel is the label of the i-th target of --compare: A, B, ...
func compareLabel(i int) string { return string(rune('A' + i)) }

// benchCompare runs --compare: every target on one host, a first pass that
// checks their outputs record by record against A's, then --rounds
// interleaved rounds (A B, B A, ... for two; A B C, B C A, C A B, ... for
// more) and the ratio of each target's throughput to A's. data are the
// input files (for cold starts, which --cold-starts requests).
func benchCompare(ctx context.Context, g *globals, o *benchOptions, rep *benchReport, prog *progress, targets []*benchTarget, in *benchInput, data []string) (failure, err error) {
	h, err := newBenchHost(ctx, g, g.cacheDir)
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
		rep.Targets = append(rep.Targets, targetInfo{Label: t.label, Kind: t.kind, Path: t.path, Stages: bp.info})
	}
	size, w := o.batchSizes[0], o.workers[0]
	batches := chunk(in.records, size)
	vs, diffs, err := verify(ctx, first, targets, batches, prog)
	if err != nil {
		return nil, err
	}
	c := &compareInfo{
		A: targets[0].path, B: targets[1].path, Rounds: o.rounds, BatchSize: size, Workers: w,
		AllowDiff: o.allowDiff, OutputsIdentical: diffs[1] == nil, FirstDiff: diffs[1],
		OutputsA: vs[0].sinks(), OutputsB: vs[1].sinks(), PerRound: []roundInfo{},
	}
	for i, t := range targets {
		ct := compareTarget{Label: t.label, Path: t.path, OutputsIdentical: diffs[i] == nil, FirstDiff: diffs[i]}
		if t.kind == "module" {
			if fi, err := os.Stat(t.path); err == nil {
				ct.ModuleBytes = fi.Size()
			}
		}
		c.Targets = append(c.Targets, ct)
	}
	rep.Compare = c
	for i, v := range vs {
		if v.failed > 0 {
			return fmt.Errorf("bench: %s (%s): %d of %d records failed; first: %s. --compare measures only targets whose records all go through",
				targets[i].label, targets[i].path, v.failed, len(in.records), v.firstErr), nil
		}
	}
	for i, diff := range diffs {
		if diff == nil {
			continue
		}
		if !o.allowDiff {
			return fmt.Errorf("bench: the outputs of A (%s) and %s (%s) differ from record %d (%s, seq %s) on:\n  A: %s\n  %s: %s\nnothing measured; --allow-diff compares their speed anyway",
				targets[0].path, targets[i].label, targets[i].path, diff.Record, diff.Source, diff.Seq, diff.A, targets[i].label, diff.B), nil
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("the outputs of %s differ from A's from record %d (--allow-diff): they do not do the same work", targets[i].label, diff.Record))
	}
	instances := o.instances
	if instances == 0 {
		for _, t := range targets {
			instances = max(instances, t.maxInstances())
		}
	}
	for i, t := range targets {
		if pipes[i], err = ensurePipes(ctx, h, t, pipes[i], w, batches[0]); err != nil {
			return nil, err
		}
		if o.warmup > 0 {
			if _, err := measure(ctx, pipes[i][:w], batches, plan{duration: o.warmup}, prog, "warm-up "+t.label); err != nil {
				return nil, err
			}
		}
	}
	pl := plan{iterations: o.iterations, duration: o.duration / time.Duration(o.rounds)}
	meas := make([][]*measurement, n)
	ratios := make([][]float64, n) // per target, its per-round ratio to A
	for k := range o.rounds {
		// Rotating order: every target runs first, second, ... equally
		// often (for two: A B, B A, ...).
		eps := make([]float64, n)
		for j := range n {
			side := (k + j) % n
			m, err := measure(ctx, pipes[side][:w], batches, pl, prog, fmt.Sprintf("round %d/%d, %s", k+1, o.rounds, targets[side].label))
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
		c.PerRound = append(c.PerRound, roundInfo{AEventsPerSec: eps[0], BEventsPerSec: eps[1], Ratio: eps[1] / eps[0], First: targets[k%n].label, EventsPerSec: eps})
	}
	for i, t := range targets {
		names := make([]string, len(pipes[i][0].info))
		for k, si := range pipes[i][0].info {
			names[k] = si.Name
		}
		shape := runShape{target: t.label, batchSize: size, workers: w, instances: instances, cores: min(w*instances, runtime.GOMAXPROCS(0)), stages: names}
		run := summarize(meas[i], shape, o)
		run.FirstPassMS = ms(vs[i].wall)
		run.Guest = guestMemory(pipes[i][:w])
		if run.Failed > 0 {
			run.Partial = true
			run.PartialNote = fmt.Sprintf("%d records failed during the measurement", run.Failed)
			if failure == nil {
				failure = fmt.Errorf("bench: %s: %d records failed during the measurement, though none failed in the first pass", t.label, run.Failed)
			}
		}
		rep.Runs = append(rep.Runs, run)
		ct := &c.Targets[i]
		ct.EventsPerSecCPU = run.EventsPerSecCPU
		ct.Ratio, ct.CILow, ct.CIHigh = ratioCI(ratios[i])
		if i == 0 {
			ct.Ratio, ct.CILow, ct.CIHigh = 1, 1, 1
		}
		ct.Verdict = verdict(t.label, ct.Ratio, ct.CILow, ct.CIHigh)
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
	c.Method = fmt.Sprintf("geometric mean of the %d per-round ratios of events/s, Student t 95%% interval on their logarithms; rounds interleaved %s", o.rounds, order)
	if o.startup && o.coldSet && o.coldStarts > 0 {
		if len(data) == 0 || slices.Contains(data, "-") {
			rep.Notes = append(rep.Notes, "cold starts not measured: the input is stdin, which a new process cannot read again")
			return failure, nil
		}
		for i, t := range targets {
			cs, err := measureColdStarts(ctx, g, o, t, data, len(batches[0].recs), prog)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				cs = &coldStartInfo{Note: "cold start not measured: " + err.Error()}
			}
			c.Targets[i].ColdStart = cs
		}
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
