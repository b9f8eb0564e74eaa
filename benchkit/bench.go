package benchkit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/weirhq/weir/engine"
)

// Lambda's public x86 and arm64 prices per GB-second of compute, the
// memory size at which a function gets one full vCPU, and the memory
// sizes a function may have.
const (
	LambdaPriceX86  = 0.0000166667
	LambdaPriceARM  = 0.0000133334
	LambdaMBPerVCPU = 1769
	LambdaMinMemory = 128
	LambdaMaxMemory = 10240
)

// lambdaMaxVCPUs is the most vCPUs a function gets.
const lambdaMaxVCPUs = 6

// Options say what to measure and how long. The caller validates them
// ("weir bench" checks its flags): every batch size and worker count is
// at least 1, Rounds at least 2 for Compare.
type Options struct {
	// BatchSizes and Workers are measured in every combination (Compare
	// takes one of each).
	BatchSizes []int
	Workers    []int
	// Instances overrides every stage's instances when > 0 (0: as
	// configured). Whatever the configuration, no stage polls its module
	// source: a benchmark measures one version.
	Instances int
	// Warmup runs before each measurement (after the first pass).
	Warmup time.Duration
	// Duration is the measured time per configuration (per target with
	// Compare, split over the rounds), unless Iterations > 0: that many
	// passes over the input (per round with Compare).
	Duration   time.Duration
	Iterations int
	// Startup measures, with Run, compile (empty, then filled cache),
	// instantiate and, with ColdStarts > 0 and a Child, cold starts
	// (ColdStarts per cache state). Compare measures only the cold
	// starts of every target, when Startup is set and ColdStarts > 0.
	Startup    bool
	ColdStarts int
	// Child returns the command that starts a new process for one cold
	// start of t: one that calls ColdStartChild on t with cacheDir as its
	// compilation cache and the first batchSize records of the same
	// input. Nil: cold starts are not measured.
	Child func(t *Target, cacheDir string, batchSize int) (exe string, args []string)
	// Rounds is the number of interleaved rounds of Compare; AllowDiff
	// measures even when the outputs of the targets differ.
	Rounds    int
	AllowDiff bool
	// Lambda is the function the cost estimate prices.
	Lambda LambdaSpec
	// CacheDir is the compilation cache folder ("": in memory) and Logger
	// the hosts' logger (nil: no logs).
	CacheDir string
	Logger   *slog.Logger
	// Progress receives a progress bar per phase; nil draws none.
	Progress io.Writer
}

// Target is one module or pipeline to measure.
type Target struct {
	Label  string // "A", "B", ... with Compare (see CompareLabel)
	Kind   string // "module" or "pipeline"
	Path   string
	Config *engine.Config
}

// Input is the decoded input, held in memory.
type Input struct {
	Files   []string // as given; "-" is stdin
	Format  engine.Format
	Records []engine.Record
	Decode  time.Duration // the time reading and decoding took
}

// Run measures one target: startup, then every batch size x workers
// combination. Records that fail do not make an error: the report is then
// Partial and its Error says why; err is a fatal error.
func Run(ctx context.Context, o Options, t *Target, in *Input) (*Report, error) {
	o.defaults()
	t = t.forBench(o.Instances)
	rep := newReport(&o, in, false)
	failure, err := benchOne(ctx, &o, rep, newProgress(o.Progress), t, in)
	return finish(rep, failure, err)
}

// Compare measures two or more targets (at most 26, labelled A to Z) in
// interleaved rounds and reports the ratio of each one's throughput to
// the first's (A), after checking that their outputs are identical to
// A's. A target without a Label gets CompareLabel of its position. Failed
// records and differing outputs make a Partial report, as with Run.
func Compare(ctx context.Context, o Options, targets []*Target, in *Input) (*Report, error) {
	if len(targets) < 2 || len(targets) > MaxCompare {
		return nil, fmt.Errorf("bench: compare needs 2 to %d targets, got %d", MaxCompare, len(targets))
	}
	o.defaults()
	targets = slices.Clone(targets)
	for i, t := range targets {
		targets[i] = t.forBench(o.Instances)
		if targets[i].Label == "" {
			targets[i].Label = CompareLabel(i)
		}
	}
	rep := newReport(&o, in, true)
	failure, err := benchCompare(ctx, &o, rep, newProgress(o.Progress), targets, in)
	return finish(rep, failure, err)
}

// forBench returns a copy of t whose stages never poll their module
// source and have instances instances each when instances > 0.
func (t *Target) forBench(instances int) *Target {
	c, cfg := *t, *t.Config
	cfg.Stages = slices.Clone(cfg.Stages)
	for i := range cfg.Stages {
		cfg.Stages[i].Poll = 0
		if instances > 0 {
			cfg.Stages[i].Instances = instances
		}
	}
	c.Config = &cfg
	return &c
}

// defaults fills what the zero Options leave out.
func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// finish makes the failure of a measurement the report's Error.
func finish(rep *Report, failure, err error) (*Report, error) {
	if err != nil {
		return nil, err
	}
	if failure != nil {
		rep.Partial = true
		rep.Error = failure.Error()
	}
	return rep, nil
}

// DescribeFailure renders a record's failure after "failed: ":
// `stage "normalize" (module m.wasm sha256:0123456789ab): <error>`, as
// "weir run" and "weir bench" print it.
func DescribeFailure(e *engine.RecordError) string {
	s := fmt.Sprintf("stage %q", e.Stage)
	switch {
	case e.Module != "" && e.Digest != "":
		s += fmt.Sprintf(" (module %s sha256:%s)", e.Module, short(e.Digest))
	case e.Module != "":
		s += fmt.Sprintf(" (module %s)", e.Module)
	}
	if e.Err == nil {
		return s + ": failed"
	}
	return s + ": " + e.Err.Error()
}

// short returns the first 12 hex digits of a digest.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
