package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/swap"
)

// maxInstances is the largest stage instances of a target.
func (t *Target) maxInstances() int {
	n := 1
	for _, s := range t.Config.Stages {
		n = max(n, s.Instances)
	}
	return n
}

// benchBatch is one batch of the input.
type benchBatch struct {
	recs  []engine.Record
	bytes int
	first int // index of its first record in the input
}

// chunk cuts records in batches of size, as "weir run" does.
func chunk(records []engine.Record, size int) []benchBatch {
	var out []benchBatch
	for i := 0; i < len(records); i += size {
		b := benchBatch{recs: records[i:min(i+size, len(records))], first: i}
		for _, r := range b.recs {
			b.bytes += len(r.Data)
		}
		out = append(out, b)
	}
	return out
}

// benchPipe is one built copy of a target's pipeline.
type benchPipe struct {
	pipe   *engine.Pipeline
	stages []engine.Stage
	info   []StageInfo
	loads  []time.Duration // per stage: NewStage (read, compile or load, link, probe)
}

func (bp *benchPipe) close(ctx context.Context) {
	if bp != nil && bp.pipe != nil {
		_ = bp.pipe.Close(ctx)
	}
}

// benchHost is a host with the loader "weir run" builds stages with
// (module sources, pins, signatures, smoke tests).
type benchHost struct {
	h      *host.Host
	loader *swap.Loader
}

// newBenchHost makes a host on cacheDir ("" in memory).
func newBenchHost(ctx context.Context, log *slog.Logger, cacheDir string) (*benchHost, error) {
	h, err := host.New(ctx, host.Options{CacheDir: cacheDir, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	loader, err := swap.NewLoader(swap.Options{Host: h, Logger: log})
	if err != nil {
		_ = h.Close(ctx)
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &benchHost{h: h, loader: loader}, nil
}

// close stops the loader, then closes the host.
func (bh *benchHost) close(ctx context.Context) {
	bh.loader.Close()
	_ = bh.h.Close(ctx)
}

// buildBench builds t's pipeline as "weir run" does (same loader), timing
// each stage.
func buildBench(ctx context.Context, bh *benchHost, t *Target) (*benchPipe, error) {
	bp := &benchPipe{}
	fetch := bh.loader.Builder(t.Config)
	build := func(ctx context.Context, sc engine.StageConfig, baseDir string) (engine.Stage, error) {
		t0 := time.Now()
		st, err := fetch(ctx, sc, baseDir)
		took := time.Since(t0)
		if err != nil {
			if !strings.Contains(err.Error(), sc.Module) {
				err = fmt.Errorf("module %s: %w", sc.Module, err)
			}
			return nil, err
		}
		si := StageInfo{Name: sc.Name, Module: sc.Module, Entry: sc.Entry, Instances: sc.Instances, LimitPages: sc.Limits.MemoryPages}
		if d, ok := st.(engine.Describer); ok {
			si.Module, si.Digest = d.Describe()
		}
		bp.stages = append(bp.stages, st)
		bp.info = append(bp.info, si)
		bp.loads = append(bp.loads, took)
		return st, nil
	}
	p, err := engine.NewPipeline(ctx, t.Config, build)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", t.Path, err)
	}
	bp.pipe = p
	return bp, nil
}

// newReport fills what is known before measuring.
func newReport(o *Options, in *Input, compare bool) *Report {
	var bytes int64
	for _, r := range in.Records {
		bytes += int64(len(r.Data))
	}
	r := &Report{
		Tool:    "weir bench",
		Version: 1,
		Time:    time.Now().UTC().Format(time.RFC3339),
		Machine: MachineInfo{
			OS: runtime.GOOS, Arch: runtime.GOARCH, CPUModel: cpuModel(),
			CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
		},
		Input: InputInfo{
			Files: in.Files, Format: string(in.Format), Records: len(in.Records), Bytes: bytes, DecodeMS: ms(in.Decode),
			Note: "input reading and decoding happen once, before anything is timed, and are excluded from every number; records stay in memory",
		},
		Settings: SettingsInfo{
			BatchSizes: o.BatchSizes, Workers: o.Workers, Instances: o.Instances,
			WarmupMS: ms(o.Warmup), DurationMS: ms(o.Duration), Iterations: o.Iterations,
			Lambda: o.Lambda,
		},
		Runs:  []RunInfo{},
		Notes: []string{},
	}
	if compare {
		r.Settings.Rounds = o.Rounds
	}
	return r
}

// cpuModel returns the CPU model name on Linux, or "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// describeRecordFailure renders the first failed record of a batch as
// "record N (source, seq S) failed: stage ...".
func describeRecordFailure(b benchBatch, res *engine.BatchResult) string {
	for _, rr := range res.Records {
		if rr.Err == nil {
			continue
		}
		rec := b.recs[rr.Index]
		return fmt.Sprintf("record %d (%s, seq %s) failed: %s", b.first+rr.Index, rec.Meta.Source, rec.Meta.SequenceNumber, DescribeFailure(rr.Err))
	}
	return ""
}
