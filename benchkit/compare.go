package benchkit

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// benchCompare runs --compare: both targets on one host, a first pass that
// checks their outputs record by record, then --rounds interleaved rounds
// (A B, B A, A B, ...) and the ratio of their throughputs.
func benchCompare(ctx context.Context, o *Options, rep *Report, prog *progress, targets []*Target, in *Input) (failure, err error) {
	h, err := newBenchHost(ctx, o.Logger, o.CacheDir)
	if err != nil {
		return nil, err
	}
	defer h.close(context.Background())
	pipes := make([][]*benchPipe, 2)
	defer func() {
		for _, side := range pipes {
			for _, bp := range side {
				bp.close(context.Background())
			}
		}
	}()
	for i, t := range targets {
		bp, err := buildBench(ctx, h, t)
		if err != nil {
			return nil, err
		}
		pipes[i] = []*benchPipe{bp}
		rep.Targets = append(rep.Targets, TargetInfo{Label: t.Label, Kind: t.Kind, Path: t.Path, Stages: bp.info})
	}
	size, w := o.BatchSizes[0], o.Workers[0]
	batches := chunk(in.Records, size)
	vs, diff, err := verify(ctx, []*benchPipe{pipes[0][0], pipes[1][0]}, targets, batches, prog)
	if err != nil {
		return nil, err
	}
	c := &CompareInfo{
		A: targets[0].Path, B: targets[1].Path, Rounds: o.Rounds, BatchSize: size, Workers: w,
		AllowDiff: o.AllowDiff, OutputsIdentical: diff == nil, FirstDiff: diff,
		OutputsA: vs[0].sinks(), OutputsB: vs[1].sinks(), PerRound: []RoundInfo{},
	}
	rep.Compare = c
	for i, v := range vs {
		if v.failed > 0 {
			return fmt.Errorf("bench: %s (%s): %d of %d records failed; first: %s. --compare measures only targets whose records all go through",
				targets[i].Label, targets[i].Path, v.failed, len(in.Records), v.firstErr), nil
		}
	}
	if diff != nil && !o.AllowDiff {
		return fmt.Errorf("bench: the outputs of A (%s) and B (%s) differ from record %d (%s, seq %s) on:\n  A: %s\n  B: %s\nnothing measured; --allow-diff compares their speed anyway",
			targets[0].Path, targets[1].Path, diff.Record, diff.Source, diff.Seq, diff.A, diff.B), nil
	}
	if diff != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the outputs differ from record %d (--allow-diff): A and B do not do the same work", diff.Record))
	}
	instances := o.Instances
	if instances == 0 {
		instances = max(targets[0].maxInstances(), targets[1].maxInstances())
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
	var meas [2][]*measurement
	var ratios []float64
	for k := range o.Rounds {
		order := []int{0, 1}
		if k%2 == 1 {
			order = []int{1, 0}
		}
		var eps [2]float64
		for _, side := range order {
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
		ratio := eps[1] / eps[0]
		ratios = append(ratios, ratio)
		c.PerRound = append(c.PerRound, RoundInfo{AEventsPerSec: eps[0], BEventsPerSec: eps[1], Ratio: ratio, First: targets[order[0]].Label})
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
	}
	c.Ratio, c.CILow, c.CIHigh = ratioCI(ratios)
	c.Method = fmt.Sprintf("geometric mean of the %d per-round ratios of events/s, Student t 95%% interval on their logarithms; rounds interleaved A B, B A, ...", o.Rounds)
	switch {
	case c.CILow > 1:
		c.Significant, c.Faster = true, "B"
		c.Verdict = fmt.Sprintf("B is faster: %.1f%% more events/s than A (95%% CI %+.1f%% to %+.1f%%)", 100*(c.Ratio-1), 100*(c.CILow-1), 100*(c.CIHigh-1))
	case c.CIHigh < 1:
		c.Significant, c.Faster = true, "A"
		c.Verdict = fmt.Sprintf("B is slower: %.1f%% fewer events/s than A (95%% CI %+.1f%% to %+.1f%%)", 100*(1-c.Ratio), 100*(c.CILow-1), 100*(c.CIHigh-1))
	default:
		c.Verdict = fmt.Sprintf("no significant difference: B/A = %.3f, and its 95%% CI %.3f-%.3f includes 1", c.Ratio, c.CILow, c.CIHigh)
	}
	return failure, nil
}
