package benchkit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
)

// sinkSum hashes what one sink of "weir run" would write.
type sinkSum struct {
	key     string
	outputs []string
	h       hash.Hash
	bytes   int64
	lines   int64
}

func (s *sinkSum) Write(p []byte) (int, error) {
	s.h.Write(p)
	s.bytes += int64(len(p))
	s.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

func (s *sinkSum) info() SinkInfo {
	return SinkInfo{Sink: s.key, Outputs: s.outputs, SHA256: hex.EncodeToString(s.h.Sum(nil)), Bytes: s.bytes, Lines: s.lines}
}

// hashSinks makes one sink per configured output that hashes, with
// engine's own NDJSON writer, exactly the bytes "weir run" writes there.
// Outputs sharing a destination (every stdout output, a file path) share
// a hash, as engine.OpenSinks shares the sink.
func hashSinks(cfg *engine.Config) (map[string]engine.Sink, []*sinkSum) {
	sinks := map[string]engine.Sink{}
	byKey := map[string]*sinkSum{}
	shared := map[string]engine.Sink{}
	var sums []*sinkSum
	outputs := cfg.Outputs
	if _, ok := outputs[engine.DefaultRoute]; !ok {
		outputs = map[string]engine.OutputConfig{engine.DefaultRoute: {Type: engine.OutputStdout}}
		for k, v := range cfg.Outputs {
			outputs[k] = v
		}
	}
	names := make([]string, 0, len(outputs))
	for name := range outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		oc := outputs[name]
		key := oc.Type
		switch oc.Type {
		case engine.OutputFile:
			p := oc.Path
			if !filepath.IsAbs(p) && cfg.Dir != "" {
				p = filepath.Join(cfg.Dir, p)
			}
			key = "file:" + filepath.Clean(p)
		case engine.OutputDiscard:
			key = "discard:" + name
		}
		s, ok := byKey[key]
		if !ok {
			s = &sinkSum{key: key, h: sha256.New()}
			byKey[key] = s
			sums = append(sums, s)
			shared[key] = engine.NewWriterSink(key, s)
		}
		s.outputs = append(s.outputs, name)
		sinks[name] = shared[key]
	}
	return sinks, sums
}

// verification is what the first pass over the input found.
type verification struct {
	sums          []*sinkSum
	out, dropped  int
	failed, dead  int
	failedBatches int
	firstBad      int    // index of the first batch with a failed record, -1 when none
	firstErr      string // its first failed record
	wall          time.Duration
}

func (v *verification) sinks() []SinkInfo {
	out := make([]SinkInfo, len(v.sums))
	for i, s := range v.sums {
		out[i] = s.info()
	}
	return out
}

func (v *verification) outputs(batchSize int, note string) *OutputsInfo {
	return &OutputsInfo{
		Records: v.out, Dropped: v.dropped, Failed: v.failed, DeadLettered: v.dead,
		FailedBatches: v.failedBatches, BatchSize: batchSize, Sinks: v.sinks(), Note: note,
	}
}

// verify runs every batch once through each pipeline (in lockstep) and
// hashes their outputs as "weir run" writes them. With several pipelines,
// the outputs of each are compared record by record with the first's and
// the first difference kept (diffs[i], nil when identical; diffs[0] is
// always nil).
func verify(ctx context.Context, pipes []*benchPipe, targets []*Target, batches []benchBatch, prog *progress) ([]*verification, []*DiffInfo, error) {
	vs := make([]*verification, len(pipes))
	sinks := make([]map[string]engine.Sink, len(pipes))
	for i := range pipes {
		vs[i] = &verification{firstBad: -1}
		sinks[i], vs[i].sums = hashSinks(targets[i].Config)
	}
	var done atomic.Int64
	stop := prog.start("first pass (outputs checked)", int64(len(batches)), done.Load)
	defer stop()
	diffs := make([]*DiffInfo, len(pipes))
	results := make([]*engine.BatchResult, len(pipes))
	// Each pipeline's batch runs in its own arena, as weir run's does,
	// kept until the batch's outputs are compared.
	arenas := make([]*engine.Arena, len(pipes))
	for bi, b := range batches {
		for i, bp := range pipes {
			arenas[i] = engine.NewArena()
			t0 := time.Now()
			res, err := bp.pipe.Run(engine.WithArena(ctx, arenas[i]), b.recs)
			vs[i].wall += time.Since(t0)
			if err != nil {
				return nil, nil, fmt.Errorf("bench: batch at record %d: %w", b.first, err)
			}
			if err := engine.RouteOutputs(ctx, res, sinks[i]); err != nil {
				return nil, nil, fmt.Errorf("bench: batch at record %d: %w", b.first, err)
			}
			v := vs[i]
			v.out += res.Out
			v.dropped += res.Dropped
			v.failed += res.Failed
			v.dead += res.DeadLettered
			if res.Failed > 0 {
				v.failedBatches++
				if v.firstBad < 0 {
					v.firstBad = bi
					v.firstErr = describeRecordFailure(b, res)
				}
			}
			results[i] = res
		}
		for i := 1; i < len(pipes); i++ {
			if diffs[i] == nil {
				diffs[i] = diffBatch(b, results[0], results[i])
			}
		}
		for i := range arenas {
			arenas[i].Release()
			results[i] = nil
		}
		done.Add(1)
	}
	for i := range pipes {
		_ = engine.CloseSinks(ctx, sinks[i])
	}
	return vs, diffs, nil
}

// diffBatch returns the first record whose outputs differ, or nil.
func diffBatch(b benchBatch, a, c *engine.BatchResult) *DiffInfo {
	for i := range a.Records {
		ra, rb := &a.Records[i], &c.Records[i]
		if sameOutcome(ra, rb) {
			continue
		}
		rec := b.recs[i]
		return &DiffInfo{
			Record: b.first + i, Source: rec.Meta.Source, Seq: rec.Meta.SequenceNumber,
			A: renderOutcome(ra), B: renderOutcome(rb),
		}
	}
	return nil
}

func sameOutcome(a, b *engine.RecordResult) bool {
	if (a.Err == nil) != (b.Err == nil) || a.Dropped != b.Dropped || len(a.Outputs) != len(b.Outputs) {
		return false
	}
	for k := range a.Outputs {
		if a.Outputs[k].Route != b.Outputs[k].Route || !bytes.Equal(a.Outputs[k].Data, b.Outputs[k].Data) {
			return false
		}
	}
	return true
}

// renderOutcome shows a record's outcome in one line, outputs shortened.
func renderOutcome(r *engine.RecordResult) string {
	const maxShown = 400
	var parts []string
	if r.Err != nil {
		parts = append(parts, "failed: "+DescribeFailure(r.Err))
	}
	for _, o := range r.Outputs {
		s := oneLine(o.Data)
		if len(s) > maxShown {
			s = s[:maxShown] + fmt.Sprintf("... (%d bytes)", len(o.Data))
		}
		if o.Route != "" {
			s = "[route " + o.Route + "] " + s
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		if r.Dropped {
			return "(dropped)"
		}
		return "(no output)"
	}
	if len(r.Outputs) > 1 {
		return fmt.Sprintf("%d outputs: %s", len(r.Outputs), strings.Join(parts, " | "))
	}
	return strings.Join(parts, " | ")
}

// oneLine shows data on one line: compact JSON, else quoted.
func oneLine(data []byte) string {
	if !bytes.ContainsAny(data, "\r\n") {
		return string(data)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err == nil {
		return b.String()
	}
	return strconv.Quote(string(data))
}

// sample is one measured batch.
type sample struct {
	end    time.Duration // since the start of the measurement
	lat    time.Duration
	events int
	bytes  int
	out    int
	failed int
	stages []time.Duration
}

// measurement is one measured phase.
type measurement struct {
	samples    []sample
	wall       time.Duration
	mallocs    uint64
	allocBytes uint64
	gcs        uint32
	pause      time.Duration
	heapInUse  uint64
	sys        uint64
	peakRSS    uint64
	rssNote    string
}

// plan says how long a phase runs: iterations passes over the batches,
// else duration (at least one batch).
type plan struct {
	iterations int
	duration   time.Duration
}

// measure runs the batches on one worker per pipeline, each worker taking
// the next batch until the plan is done, and times every batch around
// Pipeline.Run (outputs are not written: sinks are excluded).
func measure(ctx context.Context, pipes []*benchPipe, batches []benchBatch, pl plan, prog *progress, desc string) (*measurement, error) {
	runtime.GC()
	resetPeakRSS()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)

	total := int64(pl.iterations * len(batches))
	var next, done atomic.Int64
	var stop func()
	start := time.Now()
	if total > 0 {
		stop = prog.start(desc, total, done.Load)
	} else {
		stop = prog.start(desc, pl.duration.Milliseconds(), func() int64 { return time.Since(start).Milliseconds() })
	}
	deadline := start.Add(pl.duration)
	per := make([][]sample, len(pipes))
	errs := make([]error, len(pipes))
	var wg sync.WaitGroup
	for w := range pipes {
		wg.Go(func() {
			p := pipes[w].pipe
			for {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				if total == 0 && time.Now().After(deadline) && (w != 0 || len(per[0]) > 0) {
					return
				}
				i := next.Add(1) - 1
				if total > 0 && i >= total {
					return
				}
				b := batches[i%int64(len(batches))]
				// An arena per batch, as weir run and the Lambda handler
				// run them (given back once the sample is taken).
				a := engine.NewArena()
				t0 := time.Now()
				res, err := p.Run(engine.WithArena(ctx, a), b.recs)
				t1 := time.Now()
				if err != nil {
					errs[w] = err
					return
				}
				s := sample{end: t1.Sub(start), lat: t1.Sub(t0), events: len(b.recs), bytes: b.bytes, out: res.Out, failed: res.Failed}
				s.stages = make([]time.Duration, len(res.Stages))
				for k, st := range res.Stages {
					s.stages[k] = st.Duration
				}
				a.Release()
				per[w] = append(per[w], s)
				done.Add(1)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	stop()
	runtime.ReadMemStats(&m1)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	m := &measurement{
		wall:       wall,
		mallocs:    m1.Mallocs - m0.Mallocs,
		allocBytes: m1.TotalAlloc - m0.TotalAlloc,
		gcs:        m1.NumGC - m0.NumGC,
		pause:      time.Duration(m1.PauseTotalNs - m0.PauseTotalNs),
		heapInUse:  m1.HeapInuse,
		sys:        m1.Sys,
	}
	m.peakRSS, m.rssNote = peakRSS()
	for _, s := range per {
		m.samples = append(m.samples, s...)
	}
	slices.SortFunc(m.samples, func(a, b sample) int { return int(a.end - b.end) })
	return m, nil
}

// resetPeakRSS resets the kernel's peak RSS of this process (Linux), so
// that the peak read after a phase is the phase's own.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS reads VmHWM (the peak resident set since resetPeakRSS) from
// /proc/self/status; on failure it returns 0.
func peakRSS() (uint64, string) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "VmHWM" {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err == nil {
					return kb << 10, "whole process, guest memory included"
				}
			}
		}
	}
	return 0, ""
}

// runShape is what a run was configured with.
type runShape struct {
	target    string
	batchSize int
	workers   int
	instances int
	cores     int
	stages    []string
}

// summarize turns measurements (one, or one per --compare round) into a
// run's report.
func summarize(meas []*measurement, shape runShape, o *Options) RunInfo {
	r := RunInfo{
		Target: shape.target, BatchSize: shape.batchSize, Workers: shape.workers,
		Instances: shape.instances, Cores: shape.cores,
		Stages: []StageTime{}, Guest: []GuestInfo{}, Timeline: []TimePoint{}, Histogram: []HistBin{},
	}
	var lats []time.Duration
	stageSum := make([]time.Duration, len(shape.stages))
	var latSum, wall time.Duration
	var mem MemInfo
	var mallocs, allocBytes uint64
	var all []sample
	var offset time.Duration
	for _, m := range meas {
		for _, s := range m.samples {
			r.Batches++
			r.Events += int64(s.events)
			r.Bytes += int64(s.bytes)
			r.Outputs += int64(s.out)
			r.Failed += int64(s.failed)
			lats = append(lats, s.lat)
			latSum += s.lat
			for k, d := range s.stages {
				if k < len(stageSum) {
					stageSum[k] += d
				}
			}
			s.end += offset
			all = append(all, s)
		}
		offset += m.wall
		wall += m.wall
		mallocs += m.mallocs
		allocBytes += m.allocBytes
		mem.GCCycles += m.gcs
		mem.GCPauseMS += ms(m.pause)
		mem.HeapInUse = max(mem.HeapInUse, m.heapInUse)
		mem.Sys = max(mem.Sys, m.sys)
		if m.peakRSS > mem.PeakRSS {
			mem.PeakRSS, mem.PeakRSSNote = m.peakRSS, m.rssNote
		}
	}
	r.WallMS = ms(wall)
	if r.Events == 0 || wall <= 0 {
		return r
	}
	sec := wall.Seconds()
	r.EventsPerSec = float64(r.Events) / sec
	r.MBPerSec = float64(r.Bytes) / 1e6 / sec
	r.EventsPerSecCPU = r.EventsPerSec / float64(shape.cores)
	r.MBPerSecCPU = r.MBPerSec / float64(shape.cores)
	slices.Sort(lats)
	r.Latency = LatencyInfo{
		EventsPerBatch: float64(r.Events) / float64(r.Batches),
		MinMS:          ms(lats[0]),
		MeanMS:         ms(latSum) / float64(len(lats)),
		P50MS:          ms(percentile(lats, 50)),
		P90MS:          ms(percentile(lats, 90)),
		P99MS:          ms(percentile(lats, 99)),
		MaxMS:          ms(lats[len(lats)-1]),
	}
	var inStages time.Duration
	for k, name := range shape.stages {
		inStages += stageSum[k]
		share := 0.0
		if latSum > 0 {
			share = float64(stageSum[k]) / float64(latSum)
		}
		r.Stages = append(r.Stages, StageTime{
			Name: name, MS: ms(stageSum[k]), Share: share,
			PerEventUS: float64(stageSum[k]) / float64(time.Microsecond) / float64(r.Events),
		})
	}
	if latSum > 0 {
		r.EngineShare = max(0, float64(latSum-inStages)/float64(latSum))
	}
	mem.AllocsPerEvent = float64(mallocs) / float64(r.Events)
	mem.BytesPerEvent = float64(allocBytes) / float64(r.Events)
	r.Memory = mem
	r.Lambda = lambdaCost(r.EventsPerSecCPU, r.MBPerSecCPU, shape.cores, o)
	r.Timeline = timeline(all, wall, min(60, max(1, len(all)/4)))
	r.Histogram = histogram(lats, 30)
	return r
}

// lambdaCost estimates the Lambda compute cost from the per-core rates:
// a function gets memory/1769 vCPUs (at most 6), of which weir uses at
// most as many as the run used cores.
func lambdaCost(epsPerCore, mbpsPerCore float64, cores int, o *Options) LambdaInfo {
	vcpus := min(float64(o.Lambda.MemoryMB)/LambdaMBPerVCPU, lambdaMaxVCPUs)
	used := min(vcpus, float64(cores))
	l := LambdaInfo{
		MemoryMB: o.Lambda.MemoryMB, Arch: o.Lambda.Arch, PricePerGBSecond: o.Lambda.PricePerGBSecond, VCPUs: vcpus,
		EventsPerSec: epsPerCore * used,
		Note: fmt.Sprintf("compute only (no request charge, no cold starts): the measured per-core rate x min(vCPUs, cores used = %d), "+
			"billed at %d MB / 1024 per second; this machine's cores are not Lambda's", cores, o.Lambda.MemoryMB),
	}
	gb := float64(o.Lambda.MemoryMB) / 1024
	if l.EventsPerSec > 0 {
		l.GBSecondsPerMillion = 1e6 / l.EventsPerSec * gb
		l.USDPerMillionEvents = l.GBSecondsPerMillion * o.Lambda.PricePerGBSecond
	}
	if bps := mbpsPerCore * used * 1e6; bps > 0 {
		l.USDPerGB = 1e9 / bps * gb * o.Lambda.PricePerGBSecond
	}
	return l
}

// guestMemory samples every stage of every pipeline: the largest memory
// per stage, and the instances made.
func guestMemory(pipes []*benchPipe) []GuestInfo {
	if len(pipes) == 0 {
		return []GuestInfo{}
	}
	out := make([]GuestInfo, len(pipes[0].stages))
	for k := range out {
		out[k].Stage = pipes[0].info[k].Name
		for _, bp := range pipes {
			if k >= len(bp.stages) {
				continue
			}
			m, ok := host.StageMemory(bp.stages[k])
			if !ok {
				continue
			}
			out[k].Pages = max(out[k].Pages, m.Pages)
			out[k].LimitPages = m.LimitPages
			out[k].Instances += m.Created
		}
		out[k].Bytes = uint64(out[k].Pages) << 16
	}
	return out
}
