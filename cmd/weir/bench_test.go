package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/benchkit"
	"github.com/weirhq/weir/host/hosttest"
)

// A test binary re-executed by "weir bench" to time a cold start acts as
// weir (see benchkit.ChildEnv).
func init() {
	if os.Getenv(benchkit.ChildEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// fastBench are the flags that keep a bench short: no startup, two passes,
// no warm-up.
var fastBench = []string{"--startup=false", "--iterations", "2", "--warmup", "0"}

// stratus is the Stratus Red Team corpus (310 CloudTrail records).
func stratus(t *testing.T) []string {
	t.Helper()
	return glob(t, filepath.Join(sharedDir(t), "testdata", "cloudtrail", "stratus-red-team", "*.json"))
}

// benchJSON runs weir bench --json with args and decodes the report.
func benchJSON(t *testing.T, args ...string) (*benchkit.Report, result) {
	t.Helper()
	r := weir(t, nil, append([]string{"bench", "--json"}, args...)...)
	var rep benchkit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output is not one JSON object: %v\n%v\n%.2000s", err, r, r.stdout)
	}
	return &rep, r
}

// runSHA256 is the sha256 of what "weir run" writes on stdout.
func runSHA256(t *testing.T, pipe string, batchSize int, files []string) string {
	t.Helper()
	r := weir(t, nil, append([]string{"run", "-p", pipe, "--batch-size", fmt.Sprint(batchSize)}, files...)...)
	noFailures(t, r)
	return sha256Hex([]byte(r.stdout))
}

// checkRun checks that a measured run's numbers are sane.
func checkRun(t *testing.T, r benchkit.RunInfo, records int) {
	t.Helper()
	l := r.Latency
	switch {
	case r.Partial:
		t.Errorf("run is partial: %s", r.PartialNote)
	case r.Events <= 0 || r.EventsPerSec <= 0 || r.MBPerSec <= 0 || r.EventsPerSecCPU <= 0:
		t.Errorf("no throughput: %d events, %.0f events/s, %.2f MB/s", r.Events, r.EventsPerSec, r.MBPerSec)
	case r.Events%int64(records) != 0 && r.Events < int64(records):
		t.Errorf("%d events for %d records", r.Events, records)
	case !(0 < l.MinMS && l.MinMS <= l.P50MS && l.P50MS <= l.P90MS && l.P90MS <= l.P99MS && l.P99MS <= l.MaxMS):
		t.Errorf("latency not ordered: %+v", l)
	case len(r.Stages) == 0 || r.Stages[0].Share <= 0 || r.Stages[0].Share > 1:
		t.Errorf("stages: %+v", r.Stages)
	case r.Memory.AllocsPerEvent <= 0 || r.Memory.Sys == 0:
		t.Errorf("host memory: %+v", r.Memory)
	case len(r.Guest) == 0 || r.Guest[0].Pages == 0 || r.Guest[0].Pages > r.Guest[0].LimitPages:
		t.Errorf("guest memory: %+v", r.Guest)
	case r.Lambda.USDPerMillionEvents <= 0 || r.Lambda.USDPerGB <= 0 || r.Lambda.VCPUs != 1:
		t.Errorf("lambda: %+v", r.Lambda)
	case len(r.Timeline) == 0 || len(r.Histogram) == 0:
		t.Errorf("no timeline or histogram")
	}
	n := 0
	for _, b := range r.Histogram {
		n += b.Count
	}
	if n != r.Batches {
		t.Errorf("histogram counts %d batches, the run %d", n, r.Batches)
	}
}

// TestBench measures the shipped modules, directly and as a pipeline: the
// report is sane and the outputs are byte for byte what "weir run" writes.
func TestBench(t *testing.T) {
	files := stratus(t)
	ct, pt := ctModule(t), ptModule(t)
	for _, tc := range []struct {
		name  string
		args  []string // the target
		pipe  string   // the equivalent pipeline for weir run
		batch int
	}{
		{name: "passthrough module", args: []string{pt}, pipe: pipeline(t, pt, "", ""), batch: 1000},
		{name: "cloudtrail-ecs module", args: []string{ct}, pipe: pipeline(t, ct, "", ""), batch: 1000},
		{name: "cloudtrail-ecs pipeline, odd batches", args: []string{"-p", ctPipeline(t)}, batch: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipe := tc.pipe
			if pipe == "" {
				pipe = tc.args[1]
			}
			args := append(append(append([]string{}, fastBench...), "--batch-size", fmt.Sprint(tc.batch)), tc.args...)
			rep, r := benchJSON(t, append(args, files...)...)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			if rep.Input.Records != 310 || rep.Input.Bytes <= 0 || len(rep.Input.Files) != len(files) {
				t.Errorf("input: %+v", rep.Input)
			}
			if rep.Partial || rep.Error != "" || len(rep.Runs) != 1 {
				t.Fatalf("partial %v, error %q, %d runs", rep.Partial, rep.Error, len(rep.Runs))
			}
			checkRun(t, rep.Runs[0], 310)
			if got := rep.Runs[0].Events; got != 2*310 {
				t.Errorf("--iterations 2 measured %d events, want 620", got)
			}
			o := rep.Outputs
			if o == nil || o.Records != 310 || o.Failed != 0 || len(o.Sinks) != 1 || o.Sinks[0].Sink != "stdout" {
				t.Fatalf("outputs: %+v", o)
			}
			if want := runSHA256(t, pipe, tc.batch, files); o.Sinks[0].SHA256 != want {
				t.Errorf("bench hashed the outputs as sha256:%s, weir run wrote sha256:%s", o.Sinks[0].SHA256, want)
			}
			if s := rep.Startup; s == nil || s.LoadMS == nil || s.InstantiateMS == nil || *s.InstantiateMS < 0 {
				t.Errorf("startup: %+v", s)
			}
		})
	}
}

// TestBenchSweep sweeps batch sizes and workers, in the text report.
func TestBenchSweep(t *testing.T) {
	files := stratus(t)
	args := append(append([]string{"bench"}, fastBench...), "--batch-size", "10,100", "--workers", "1,2", ptModule(t))
	r := weir(t, nil, append(args, files...)...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	for _, want := range []string{
		"batch size 10, 1 worker (1 core, instances 1)",
		"batch size 10, 2 workers (2 cores, instances 1)",
		"batch size 100, 1 worker (1 core",
		"batch size 100, 2 workers (2 cores",
		"throughput ", "latency    per batch of 10.0 events: p50 ", "time split ",
		"host mem ", "guest mem  ", "lambda     1769 MB x86_64",
		"sweep", "input reading and decoding happen once",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr (no progress bar when stdout is not a terminal): %q", r.stderr)
	}

	rep, r := benchJSON(t, append(append(append([]string{}, fastBench...), "--batch-size", "10,100", "--workers", "1,2", ptModule(t)), files...)...)
	if r.code != 0 || len(rep.Runs) != 4 {
		t.Fatalf("%d runs: %v", len(rep.Runs), r)
	}
	for i, want := range [][2]int{{10, 1}, {10, 2}, {100, 1}, {100, 2}} {
		run := rep.Runs[i]
		if run.BatchSize != want[0] || run.Workers != want[1] || run.Cores != min(want[1], rep.Machine.GOMAXPROCS) {
			t.Errorf("run %d: batch size %d, workers %d, cores %d; want %v", i, run.BatchSize, run.Workers, run.Cores, want)
		}
		checkRun(t, run, 310)
		if run.Workers == 2 && run.Guest[0].Instances != 2 {
			t.Errorf("run %d: %d instances made for 2 workers", i, run.Guest[0].Instances)
		}
	}
}

// TestBenchStartup measures compile, instantiate and cold start: the test
// binary is re-executed as weir (see init).
func TestBenchStartup(t *testing.T) {
	files := stratus(t)[:3]
	rep, r := benchJSON(t, append([]string{"--cold-starts", "1", "--iterations", "1", "--warmup", "0", "--batch-size", "50", ctModule(t)}, files...)...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	s := rep.Startup
	if s == nil || s.CompileColdMS == nil || s.CompileCachedMS == nil || s.InstantiateMS == nil {
		t.Fatalf("startup: %+v", s)
	}
	if !(*s.CompileColdMS > *s.CompileCachedMS && *s.CompileCachedMS > 0) {
		t.Errorf("compile: %.1fms cold, %.1fms from the cache", *s.CompileColdMS, *s.CompileCachedMS)
	}
	c := s.ColdStart
	if c == nil || c.ColdCache == nil || c.WarmCache == nil || len(c.ColdCache.Runs) != 1 || len(c.WarmCache.Runs) != 1 {
		t.Fatalf("cold start: %+v", c)
	}
	cold, warm := c.ColdCache.Runs[0], c.WarmCache.Runs[0]
	if !(cold.TotalMS > warm.TotalMS && warm.TotalMS > 0 && warm.LoadMS > 0 && warm.FirstBatchMS > 0 && warm.ExitMS >= warm.TotalMS) {
		t.Errorf("cold start: empty cache %+v, warm cache %+v", cold, warm)
	}
	if c.BatchRecords != 50 {
		t.Errorf("the cold start ran %d records, want the first batch of 50", c.BatchRecords)
	}
}

// TestBenchCompare compares modules: against itself (no significant
// difference), against another (outputs differ: refused, or measured with
// --allow-diff).
func TestBenchCompare(t *testing.T) {
	files := stratus(t)
	ct, pt := ctModule(t), ptModule(t)
	t.Run("itself", func(t *testing.T) {
		// A 95% interval misses the true ratio 1 about once in 20 runs on
		// any machine; a second, independent attempt makes a false
		// failure rare (about 1 in 400).
		var c *benchkit.CompareInfo
		for attempt := range 2 {
			rep, r := benchJSON(t, append([]string{"--compare", "--rounds", "6", "--iterations", "3", "--warmup", "100ms", "--batch-size", "100", ct, ct}, files...)...)
			if r.code != 0 || rep.Compare == nil {
				t.Fatalf("%v", r)
			}
			c = rep.Compare
			if !c.OutputsIdentical || c.FirstDiff != nil || len(c.PerRound) != 6 || len(rep.Runs) != 2 {
				t.Fatalf("compare: %+v", c)
			}
			for _, run := range rep.Runs {
				checkRun(t, run, 310)
			}
			if c.CILow <= 1 && 1 <= c.CIHigh {
				break
			}
			t.Logf("attempt %d: B/A %.3f, 95%% CI %.3f-%.3f excludes 1", attempt, c.Ratio, c.CILow, c.CIHigh)
		}
		if !(c.CILow <= 1 && 1 <= c.CIHigh) || c.Significant || !strings.HasPrefix(c.Verdict, "no significant difference") {
			t.Errorf("a module against itself: ratio %.3f (%.3f-%.3f), verdict %q", c.Ratio, c.CILow, c.CIHigh, c.Verdict)
		}
	})
	t.Run("outputs differ", func(t *testing.T) {
		r := weir(t, nil, append([]string{"bench", "--compare", "--rounds", "2", "--iterations", "1", pt, ct}, files...)...)
		if r.code != 1 {
			t.Fatalf("want exit 1: %v", r)
		}
		for _, want := range []string{"weir: bench: the outputs of A (", "differ from record 0 (", "weir:   A: {", "weir:   B: {\"@timestamp\":", "--allow-diff"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if strings.Contains(r.stdout, "round ") {
			t.Errorf("measured despite differing outputs:\n%s", r.stdout)
		}
	})
	t.Run("three modules", func(t *testing.T) {
		rep, r := benchJSON(t, append([]string{"--compare", "--rounds", "3", "--iterations", "1", "--warmup", "0", "--batch-size", "100", "--cold-starts", "1", ct, ct, ct}, files...)...)
		if r.code != 0 || rep.Compare == nil {
			t.Fatalf("%v", r)
		}
		c := rep.Compare
		if len(c.Targets) != 3 || len(rep.Runs) != 3 || len(c.PerRound) != 3 || !c.OutputsIdentical {
			t.Fatalf("compare: %+v", c)
		}
		for k, rd := range c.PerRound {
			if len(rd.EventsPerSec) != 3 || rd.First != benchkit.CompareLabel(k) {
				t.Errorf("round %d: %+v, want 3 targets, %s first", k, rd, benchkit.CompareLabel(k))
			}
		}
		for i, ct := range c.Targets {
			cs := ct.ColdStart
			if ct.Label != benchkit.CompareLabel(i) || ct.ModuleBytes < 1000 || !ct.OutputsIdentical || !(ct.Ratio > 0) || ct.Verdict == "" ||
				cs == nil || cs.WarmCache == nil || !(cs.WarmCache.MedianMS > 0) || ct.EventsPerSecCPU != rep.Runs[i].EventsPerSecCPU {
				t.Errorf("target %d: %+v (cold start %+v)", i, ct, cs)
			}
		}
		// A third module whose outputs differ is named, nothing measured.
		r = weir(t, nil, append([]string{"bench", "--compare", "--rounds", "2", "--iterations", "1", ct, ct, pt}, files...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "weir: bench: the outputs of A (") || !strings.Contains(r.stderr, ") and C (") || strings.Contains(r.stdout, "round ") {
			t.Errorf("a third module with other outputs: %v", r)
		}
	})
	t.Run("allow-diff", func(t *testing.T) {
		rep, r := benchJSON(t, append([]string{"--compare", "--allow-diff", "--rounds", "3", "--iterations", "1", "--warmup", "0", pt, ct}, files...)...)
		if r.code != 0 || rep.Compare == nil {
			t.Fatalf("%v", r)
		}
		c := rep.Compare
		if c.OutputsIdentical || c.FirstDiff == nil || c.FirstDiff.Record != 0 || len(c.PerRound) != 3 || !(c.Ratio > 0) || c.Verdict == "" {
			t.Errorf("compare: %+v", c)
		}
	})
}

// failEveryRecordWAT is a record-mode Extism plugin that fails every record.
const failEveryRecordWAT = `(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "refused on purpose")
  (func (export "transform") (result i32)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.const 18)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (i32.const 18)))
      (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (call $error_set (local.get $off))
    (i32.const 1)))
`

// TestBenchBadInput: a clear message, a non-zero exit, and the valid
// partial measurements labelled as such.
func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	files := stratus(t)[:2]
	failing := hosttest.WAT(t, writeFile(t, dir, "fail.wat", []byte(failEveryRecordWAT)))
	trapping := hosttest.WAT(t, filepath.Join(hosttest.RepoRoot(t), "host", "testdata", "passthrough.wat"))
	var trapInput strings.Builder
	for i := range 50 {
		if i == 30 {
			trapInput.WriteString("!U\n") // passthrough.wat traps on a batch starting with !U
			continue
		}
		fmt.Fprintf(&trapInput, "{\"n\":%d}\n", i)
	}
	trap := writeFile(t, dir, "trap.ndjson", []byte(trapInput.String()))
	empty := writeFile(t, dir, "empty.json", nil)
	garbage := writeFile(t, dir, "garbage.json", []byte("{\n  \"a\": [1, 2\n"))
	missing := pipeline(t, filepath.Join(dir, "nope.wasm"), "", "")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
		check  func(t *testing.T, rep *benchkit.Report)
	}{
		{name: "empty input", args: []string{ptModule(t), empty}, code: 2,
			stderr: []string{"weir: bench: the input holds no records (" + empty + "): nothing to measure"}},
		{name: "undecodable input", args: []string{ptModule(t), garbage}, code: 2,
			stderr: []string{"weir: bench: input " + garbage + " cannot be decoded: codec: "}},
		{name: "missing module in a pipeline", args: []string{"-p", missing, files[0]}, code: 2,
			stderr: []string{"weir: bench: " + missing + ": pipeline: build stage 0 \"normalize\": ", "nope.wasm", "no such file or directory"}},
		{name: "missing module", args: []string{filepath.Join(dir, "nope.wasm"), files[0]}, code: 2,
			stderr: []string{"weir: bench: module " + filepath.Join(dir, "nope.wasm") + ": open ", "no such file or directory"}},
		{name: "not a module", args: []string{files[0], files[1]}, code: 2,
			stderr: []string{"weir: bench: " + files[0] + " is neither a WebAssembly module nor a pipeline configuration (give a pipeline with -p): "}},
		{name: "bad batch size", args: []string{"--batch-size", "10,0", ptModule(t), files[0]}, code: 2,
			stderr: []string{"weir: bench: --batch-size must be at least 1 (got 0)"}},
		{name: "compare one target", args: []string{"--compare", ptModule(t)}, code: 2,
			stderr: []string{"weir: bench: --compare needs two modules or two pipelines"}},
		{name: "fails every record", args: []string{"--cold-starts", "1", "--iterations", "1", "--warmup", "0", failing, files[0]}, code: 1,
			stderr: []string{"weir: bench: every record failed (", "failed: stage \"", "refused on purpose", "startup figures are valid"},
			check: func(t *testing.T, rep *benchkit.Report) {
				if !rep.Partial || len(rep.Runs) != 1 || !rep.Runs[0].Partial || rep.Runs[0].Events != 0 {
					t.Errorf("partial %v, runs %+v", rep.Partial, rep.Runs)
				}
				s := rep.Startup
				if s == nil || s.CompileColdMS == nil || s.InstantiateMS == nil || s.ColdStart == nil || !strings.Contains(s.ColdStart.Note, "failed records") {
					t.Errorf("the valid startup figures are missing: %+v", s)
				}
			}},
		{name: "trap midway", args: []string{"--startup=false", "--iterations", "2", "--warmup", "0", "--batch-size", "10", trapping, trap}, code: 1,
			stderr: []string{"weir: bench: 10 of 50 records failed, in 1 of 5 batches of 10; first: record 30 (" + trap + ", seq 31) failed: ", "trapped", "PARTIAL"},
			check: func(t *testing.T, rep *benchkit.Report) {
				if !rep.Partial || len(rep.Runs) != 1 {
					t.Fatalf("partial %v, %d runs", rep.Partial, len(rep.Runs))
				}
				run := rep.Runs[0]
				if !run.Partial || !strings.Contains(run.PartialNote, "first 3 batches (records 0-29)") || run.Events != 60 || run.Failed != 0 || run.EventsPerSec <= 0 {
					t.Errorf("partial run: %+v", run)
				}
				if rep.Outputs == nil || rep.Outputs.Failed != 10 || rep.Outputs.FailedBatches != 1 {
					t.Errorf("outputs: %+v", rep.Outputs)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, r := (*benchkit.Report)(nil), weir(t, nil, append([]string{"bench", "--json"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %v", r.code, tc.code, r)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if tc.check != nil {
				rep = new(benchkit.Report)
				if err := json.Unmarshal([]byte(r.stdout), rep); err != nil {
					t.Fatalf("--json: %v\n%s", err, r.stdout)
				}
				if rep.Error == "" {
					t.Errorf("the JSON report has no error")
				}
				tc.check(t, rep)
			}
		})
	}
}

// TestBenchHTML writes the HTML report of a sweep: the page is
// self-contained and embeds the runs the charts are drawn from (benchkit's
// TestWriteHTML draws them in headless Chromium).
func TestBenchHTML(t *testing.T) {
	files := stratus(t)
	page := filepath.Join(t.TempDir(), "report.html")
	r := weir(t, nil, append(append([]string{"bench", "--html", page}, fastBench...), append([]string{"--iterations", "20", "--batch-size", "10,50", ctModule(t)}, files...)...)...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	for _, bad := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("the page loads something (%q): it must be self-contained", bad)
		}
	}
	_, data, ok := strings.Cut(s, "<script>const WEIR_BENCH = ")
	data, _, ok2 := strings.Cut(data, ";</script>")
	if !ok || !ok2 {
		t.Fatalf("the page embeds no report:\n%.3000s", s)
	}
	var rep benchkit.Report
	if err := json.Unmarshal([]byte(data), &rep); err != nil {
		t.Fatalf("the embedded report: %v", err)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("the page embeds %d runs, want 2", len(rep.Runs))
	}
	for _, run := range rep.Runs {
		checkRun(t, run, 310)
	}
	if !strings.Contains(s, "batch size 50, 1 worker (1 core, instances 1): ") {
		t.Errorf("the page lacks the text report")
	}
}

// TestBenchProgress draws the progress bar on request only.
func TestBenchProgress(t *testing.T) {
	files := stratus(t)[:2]
	for _, tc := range []struct {
		mode string
		bar  bool
	}{{"auto", false}, {"never", false}, {"always", true}} {
		t.Run(tc.mode, func(t *testing.T) {
			args := append(append([]string{"bench", "--progress", tc.mode}, fastBench...), ptModule(t))
			r := weir(t, nil, append(args, files...)...)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			if got := strings.Contains(r.stderr, "measuring batch 1000, 1 worker"); got != tc.bar {
				t.Errorf("progress bar drawn: %v, want %v; stderr:\n%q", got, tc.bar, r.stderr)
			}
		})
	}
}
