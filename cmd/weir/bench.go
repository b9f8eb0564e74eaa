package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/weirhq/weir/benchkit"
	"github.com/weirhq/weir/engine"
)

// defaultBenchSize is the default --batch-size of "weir bench".
const defaultBenchSize = 1000

// benchOptions are the flags of "weir bench".
type benchOptions struct {
	pipeline    string
	format      string
	batchSizes  []int
	workers     []int
	instances   int
	warmup      time.Duration
	duration    time.Duration
	iterations  int
	startup     bool
	coldStarts  int
	coldSet     bool // --cold-starts given: --compare measures cold starts too
	compare     bool
	rounds      int
	allowDiff   bool
	json        bool
	html        string
	progress    string
	lambdaMem   int
	lambdaArch  string
	lambdaPrice float64
}

func newBenchCmd(g *globals) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [module.wasm | -p pipeline.yaml] [file...]",
		Short: "Measure a module or a pipeline: throughput, latency, memory, startup, Lambda cost",
		Long: `Bench runs a module (as a one-stage pipeline) or a pipeline over records
from files (or stdin), with the input formats of "weir run", and reports:

  throughput   events/s and MB/s of input, in total and per core
  latency      per batch: p50, p90, p99, max
  time split   the share of each stage, and of the engine around them
  host memory  allocations and bytes per event, GC cycles, heap, peak RSS
  guest memory the linear memory of each stage's instances, in 64 KiB pages
  startup      compile time (empty compilation cache, then from the cache),
               instantiate time, and cold start: a new weir process until
               its first batch is done, with an empty and a warm cache
  Lambda cost  compute cost per million events and per GB of input at
               --lambda-memory (1 vCPU per 1,769 MB)

The input is read and decoded once, before anything is timed: reading and
decoding are excluded from every number. A first pass over the input runs
every batch once and hashes the outputs exactly as "weir run" would write
them (bench itself writes nothing); it doubles as the first warm-up. Then
--warmup, then the measurement: --duration, or --iterations passes over the
input. Each worker runs its own copy of the pipeline (sharing the compiled
modules) with --instances instances per stage; per-core figures divide by
min(workers x instances, CPUs). --batch-size and --workers take lists
(10,100,1000) and sweep every combination.

--compare A B (two modules, or two pipelines) runs A and B alternately in
--rounds rounds (ABBA order) and reports the throughput ratio B/A with a 95%
confidence interval and a verdict. Their outputs must be identical unless
--allow-diff; otherwise the first differing record is shown. More modules
(--compare A B C D [file...]: the leading arguments that are WebAssembly
modules) run in rotating order (ABCD, BCDA, ...), each compared with A,
with their size. Given --cold-starts N, --compare also measures every
target's cold starts (a table of them follows the verdict).

A progress bar is drawn on stderr when stdout is a terminal. --json prints
one JSON object; --html writes a self-contained page with charts.

Exit status: 0; 1 when records failed or the outputs of --compare differ
(the valid partial measurements are printed, labelled PARTIAL); 2 for usage
and configuration errors, a missing module, an empty or undecodable input.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.coldSet = cmd.Flags().Changed("cold-starts")
			return benchMain(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.pipeline, "pipeline", "p", "", "pipeline configuration file (YAML or JSON); else the first argument is a module")
	f.StringVar(&o.format, "format", "auto", "input format: auto, ndjson, json, cloudtrail")
	f.IntSliceVar(&o.batchSizes, "batch-size", []int{defaultBenchSize}, "records per batch; a list (10,100,1000) sweeps")
	f.IntSliceVar(&o.workers, "workers", []int{1}, "concurrent workers, each with its own pipeline; a list (1,2,4) shows scaling")
	f.IntVar(&o.instances, "instances", 1, "instances per stage (0: as configured)")
	f.DurationVar(&o.warmup, "warmup", time.Second, "warm-up time before each measurement (after the first pass)")
	f.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per configuration (per target with --compare, split over the rounds)")
	f.IntVar(&o.iterations, "iterations", 0, "measure this many passes over the input instead of --duration (per round with --compare)")
	f.BoolVar(&o.startup, "startup", true, "measure compile (cold and cached), instantiate and cold start times")
	f.IntVar(&o.coldStarts, "cold-starts", 3, "new processes started per cache state for the cold start (0: none)")
	f.BoolVar(&o.compare, "compare", false, "compare modules (or two pipelines) with the first: weir bench --compare A B [C...] [file...]")
	f.IntVar(&o.rounds, "rounds", 10, "interleaved rounds of --compare")
	f.BoolVar(&o.allowDiff, "allow-diff", false, "with --compare, measure even when the outputs of A and B differ")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of the text report")
	f.StringVar(&o.html, "html", "", "also write a self-contained HTML report with charts to this file")
	f.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto (when stdout is a terminal), always, never")
	f.IntVar(&o.lambdaMem, "lambda-memory", benchkit.LambdaMBPerVCPU, "Lambda memory size in MB for the cost estimate")
	f.StringVar(&o.lambdaArch, "lambda-arch", "x86_64", "Lambda architecture: x86_64 or arm64")
	f.Float64Var(&o.lambdaPrice, "lambda-price", 0, "Lambda price per GB-second (default: today's public price for --lambda-arch)")
	return cmd
}

// check validates the flags.
func (o *benchOptions) check() error {
	for _, n := range o.batchSizes {
		if n < 1 {
			return fmt.Errorf("bench: --batch-size must be at least 1 (got %d)", n)
		}
	}
	for _, n := range o.workers {
		if n < 1 {
			return fmt.Errorf("bench: --workers must be at least 1 (got %d)", n)
		}
	}
	switch {
	case len(o.batchSizes) == 0 || len(o.workers) == 0:
		return errors.New("bench: --batch-size and --workers need at least one value")
	case o.instances < 0:
		return fmt.Errorf("bench: --instances must be 0 (as configured) or more (got %d)", o.instances)
	case o.iterations < 0:
		return fmt.Errorf("bench: --iterations must be 0 (use --duration) or more (got %d)", o.iterations)
	case o.iterations == 0 && o.duration <= 0:
		return fmt.Errorf("bench: --duration must be positive (got %s)", o.duration)
	case o.warmup < 0:
		return fmt.Errorf("bench: --warmup must not be negative (got %s)", o.warmup)
	case o.coldStarts < 0:
		return fmt.Errorf("bench: --cold-starts must not be negative (got %d)", o.coldStarts)
	case o.lambdaMem < benchkit.LambdaMinMemory || o.lambdaMem > benchkit.LambdaMaxMemory:
		return fmt.Errorf("bench: --lambda-memory must be between %d and %d MB (got %d)", benchkit.LambdaMinMemory, benchkit.LambdaMaxMemory, o.lambdaMem)
	case o.lambdaPrice < 0:
		return fmt.Errorf("bench: --lambda-price must not be negative (got %g)", o.lambdaPrice)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("bench: --progress: %q is not one of auto, always, never", o.progress)
	}
	switch strings.ToLower(o.lambdaArch) {
	case "x86_64", "x86", "amd64":
		o.lambdaArch = "x86_64"
		if o.lambdaPrice == 0 {
			o.lambdaPrice = benchkit.LambdaPriceX86
		}
	case "arm64", "aarch64", "graviton":
		o.lambdaArch = "arm64"
		if o.lambdaPrice == 0 {
			o.lambdaPrice = benchkit.LambdaPriceARM
		}
	default:
		return fmt.Errorf("bench: --lambda-arch: %q is not one of x86_64, arm64", o.lambdaArch)
	}
	if o.compare {
		switch {
		case o.pipeline != "":
			return errors.New("bench: --compare takes its two modules or pipelines as arguments: weir bench --compare A B [file...], without -p")
		case len(o.batchSizes) != 1 || len(o.workers) != 1:
			return errors.New("bench: --compare takes one --batch-size and one --workers value")
		case o.rounds < 2:
			return fmt.Errorf("bench: --rounds must be at least 2 (got %d)", o.rounds)
		}
	}
	return nil
}

// loadTarget reads a pipeline configuration (pipeline set, or a path that
// is not Wasm) or makes a one-stage pipeline of a module.
func loadTarget(path string, pipeline bool) (*benchkit.Target, error) {
	t := &benchkit.Target{Kind: "pipeline", Path: path}
	sniffed := false
	if !pipeline {
		sniffed = true
		wasm, err := sniffWasm(path)
		if err != nil {
			return nil, fmt.Errorf("bench: module %s: %w", path, err)
		}
		switch ext := strings.ToLower(filepath.Ext(path)); {
		case wasm:
			t.Kind = "module"
		case ext == ".yaml" || ext == ".yml" || ext == ".json":
		default:
			return nil, fmt.Errorf("bench: %s is not a WebAssembly module (it does not start with \\0asm) nor a pipeline (.yaml, .yml, .json); give a pipeline with -p", path)
		}
	}
	if t.Kind == "pipeline" {
		cfg, err := loadPipeline(path, nil)
		if err != nil {
			if sniffed {
				return nil, fmt.Errorf("bench: %s is neither a WebAssembly module nor a pipeline configuration (give a pipeline with -p): %w", path, err)
			}
			return nil, fmt.Errorf("bench: %w", err)
		}
		t.Config = cfg
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("bench: module %s: %w", path, err)
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		cfg := &engine.Config{
			Version: 1,
			Name:    name,
			Stages:  []engine.StageConfig{{Name: name, Module: abs}},
			// bench never writes outputs; stdout is what "weir run" would
			// write, so the checksum is comparable with it.
			Outputs: map[string]engine.OutputConfig{engine.DefaultRoute: {Type: engine.OutputStdout}},
		}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("bench: module %s: %w", path, err)
		}
		t.Config = cfg
	}
	return t, nil
}

// sniffWasm reports whether the file starts with the Wasm magic.
func sniffWasm(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if fi.IsDir() {
		return false, errors.New("is a directory")
	}
	magic := make([]byte, 4)
	n, _ := io.ReadFull(f, magic)
	return n == 4 && string(magic) == "\x00asm", nil
}

// readBenchInput checks and decodes every input; an input that cannot be
// read or decoded stops the bench.
func readBenchInput(g *globals, format engine.Format, names []string) (*benchkit.Input, error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	for _, name := range names {
		if name == "-" {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("bench: input: %w", err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("bench: input %s: is a directory", name)
		}
	}
	in := &benchkit.Input{Files: names, Format: format}
	start := time.Now()
	for _, name := range names {
		recs, err := decodeInput(g, format, name)
		if err != nil {
			return nil, fmt.Errorf("bench: input %s cannot be decoded: %w", name, err)
		}
		in.Records = append(in.Records, recs...)
	}
	in.Decode = time.Since(start)
	return in, nil
}

// benchMain runs "weir bench".
func benchMain(ctx context.Context, g *globals, o benchOptions, args []string) error {
	start := time.Now()
	if err := o.check(); err != nil {
		return err
	}
	format, err := engine.ParseFormat(o.format)
	if err != nil {
		return fmt.Errorf("bench: --format: %w", err)
	}
	var targets []*benchkit.Target
	switch {
	case o.compare:
		if len(args) < 2 {
			return errors.New("bench: --compare needs two modules or two pipelines: weir bench --compare A B [file...]")
		}
		for i := range 2 {
			t, err := loadTarget(args[i], false)
			if err != nil {
				return err
			}
			t.Label = benchkit.CompareLabel(i)
			targets = append(targets, t)
		}
		if targets[0].Kind != targets[1].Kind {
			return fmt.Errorf("bench: --compare compares two modules or two pipelines, not a %s (%s) with a %s (%s)",
				targets[0].Kind, targets[0].Path, targets[1].Kind, targets[1].Path)
		}
		args = args[2:]
		// More modules: the leading arguments that are WebAssembly.
		for targets[0].Kind == "module" && len(args) > 0 && len(targets) < benchkit.MaxCompare {
			if wasm, _ := sniffWasm(args[0]); !wasm {
				break
			}
			t, err := loadTarget(args[0], false)
			if err != nil {
				return err
			}
			t.Label = benchkit.CompareLabel(len(targets))
			targets = append(targets, t)
			args = args[1:]
		}
	case o.pipeline != "":
		t, err := loadTarget(o.pipeline, true)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	default:
		if len(args) == 0 {
			return errors.New("bench: nothing to measure: weir bench module.wasm [file...], weir bench -p pipeline.yaml [file...] or weir bench --compare A B [file...]")
		}
		t, err := loadTarget(args[0], false)
		if err != nil {
			return err
		}
		targets = append(targets, t)
		args = args[1:]
	}
	in, err := readBenchInput(g, format, args)
	if err != nil {
		return err
	}
	if len(in.Records) == 0 {
		return fmt.Errorf("bench: the input holds no records (%s): nothing to measure", strings.Join(in.Files, ", "))
	}
	bo := o.kitOptions(g, args)
	var rep *benchkit.Report
	if o.compare {
		rep, err = benchkit.Compare(ctx, bo, targets, in)
	} else {
		rep, err = benchkit.Run(ctx, bo, targets[0], in)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if o.html != "" {
		if err := writeHTMLReport(o.html, rep); err != nil {
			return fmt.Errorf("bench: --html: %w", err)
		}
	}
	if o.json {
		if err := rep.WriteJSON(g.stdout); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	} else {
		rep.WriteText(g.stdout)
		fmt.Fprintf(g.stdout, "bench took %s\n", elapsed.Round(time.Millisecond))
	}
	if rep.Partial {
		printError(g.stderr, errors.New(rep.Error))
		return exitError{code: exitFailed}
	}
	return nil
}

// writeHTMLReport writes rep's HTML page to path.
func writeHTMLReport(path string, rep *benchkit.Report) error {
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// kitOptions turns the flags into benchkit's options. Cold starts
// re-execute this weir binary as "weir bench-child" on a target and the
// input files data; --compare measures them only when --cold-starts is
// given.
func (o *benchOptions) kitOptions(g *globals, data []string) benchkit.Options {
	bo := benchkit.Options{
		BatchSizes: o.batchSizes, Workers: o.workers, Instances: o.instances,
		Warmup: o.warmup, Duration: o.duration, Iterations: o.iterations,
		Startup: o.startup, ColdStarts: o.coldStarts, Rounds: o.rounds, AllowDiff: o.allowDiff,
		Lambda:   benchkit.LambdaSpec{MemoryMB: o.lambdaMem, Arch: o.lambdaArch, PricePerGBSecond: o.lambdaPrice},
		CacheDir: g.cacheDir, Logger: g.logger(),
	}
	if o.compare && !o.coldSet {
		bo.ColdStarts = 0
	}
	if o.progress == "always" || (o.progress == "auto" && isTerminal(g.stdout)) {
		bo.Progress = g.stderr
	}
	if exe, err := os.Executable(); err == nil {
		bo.Child = func(t *benchkit.Target, cacheDir string, batchSize int) (string, []string) {
			args := []string{"--cache-dir", cacheDir, "--log-level", g.logLevel, "bench-child", "--format", o.format,
				"--batch-size", strconv.Itoa(batchSize), "--instances", strconv.Itoa(o.instances)}
			if t.Kind == "pipeline" {
				args = append(args, "-p", t.Path)
			} else {
				args = append(args, t.Path)
			}
			return exe, append(args, data...)
		}
	}
	return bo
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
