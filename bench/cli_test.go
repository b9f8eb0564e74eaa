package bench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

// The end-to-end numbers come from "weir bench" itself (cmd/weir), run as
// a user runs it: the whole pipeline (engine, stages, host), startup and
// cold start included, which in-process Go benchmarks cannot measure. The
// Go benchmarks above keep what needs one process: call overhead against
// extism go-sdk, and the Wasm module against native baselines.

// stratusFiles is the Stratus Red Team corpus bundled with the example
// (310 CloudTrail records).
func stratusFiles(b *testing.B) []string {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(hosttest.RepoRoot(b), "examples", "cloudtrail-ecs", "data", "stratus-red-team", "*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no Stratus Red Team corpus (%v)", err)
	}
	return files
}

// cliReport is the part of "weir bench --json" the benchmarks report.
type cliReport struct {
	Startup *struct {
		CompileColdMS   float64 `json:"compile_cold_ms"`
		CompileCachedMS float64 `json:"compile_cached_ms"`
		InstantiateMS   float64 `json:"instantiate_ms"`
		ColdStart       *struct {
			ColdCache *struct {
				MedianMS float64 `json:"median_ms"`
			} `json:"cold_cache"`
			WarmCache *struct {
				MedianMS float64 `json:"median_ms"`
			} `json:"warm_cache"`
		} `json:"cold_start"`
	} `json:"startup"`
	Runs []struct {
		EventsPerSec float64 `json:"events_per_sec"`
		MBPerSec     float64 `json:"mb_per_sec"`
		Latency      struct {
			P50MS float64 `json:"p50_ms"`
			P99MS float64 `json:"p99_ms"`
		} `json:"latency"`
		Memory struct {
			AllocsPerEvent float64 `json:"allocs_per_event"`
		} `json:"memory"`
		Guest []struct {
			Pages uint32 `json:"pages"`
		} `json:"guest"`
		Lambda struct {
			USDPerMillionEvents float64 `json:"usd_per_million_events"`
		} `json:"lambda"`
	} `json:"runs"`
	Compare *struct {
		Ratio   float64 `json:"ratio"`
		CILow   float64 `json:"ci_low"`
		CIHigh  float64 `json:"ci_high"`
		Verdict string  `json:"verdict"`
	} `json:"compare"`
}

// weirBench runs "weir bench --json" with args over the corpus.
func weirBench(b *testing.B, args ...string) *cliReport {
	b.Helper()
	cmd := exec.Command(hosttest.WeirBinary(b), append(append([]string{"bench", "--json"}, args...), stratusFiles(b)...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("weir bench %v: %v\n%s", args, err, stderr.String())
	}
	var rep cliReport
	if err := json.Unmarshal(out, &rep); err != nil {
		b.Fatalf("weir bench --json: %v", err)
	}
	if len(rep.Runs) == 0 {
		b.Fatal("weir bench measured nothing")
	}
	return &rep
}

// BenchmarkCLI runs "weir bench" on the shipped modules over the Stratus
// Red Team corpus, batches of 1000, one core: throughput, latency, memory,
// startup and cold start, and the Lambda cost at 1769 MB x86_64. One
// iteration is one whole "weir bench" (about 10 s): read the metrics, not
// ns/op.
func BenchmarkCLI(b *testing.B) {
	for _, module := range []string{"modules/cloudtrail-ecs", "modules/passthrough"} {
		b.Run(filepath.Base(module), func(b *testing.B) {
			wasm := hosttest.GoModule(b, module)
			var rep *cliReport
			for b.Loop() {
				rep = weirBench(b, "--duration", "3s", "--warmup", "1s", "--cold-starts", "3", wasm)
			}
			r := rep.Runs[0]
			b.ReportMetric(r.EventsPerSec, "events/s")
			b.ReportMetric(r.MBPerSec, "MB/s")
			b.ReportMetric(r.Latency.P50MS, "p50-ms")
			b.ReportMetric(r.Latency.P99MS, "p99-ms")
			b.ReportMetric(r.Memory.AllocsPerEvent, "allocs/event")
			if len(r.Guest) > 0 {
				b.ReportMetric(float64(r.Guest[0].Pages), "guest-pages")
			}
			b.ReportMetric(r.Lambda.USDPerMillionEvents*1e3, "m$/M-events")
			if s := rep.Startup; s != nil {
				b.ReportMetric(s.CompileColdMS, "compile-cold-ms")
				b.ReportMetric(s.CompileCachedMS, "compile-cached-ms")
				b.ReportMetric(s.InstantiateMS, "instantiate-ms")
				if c := s.ColdStart; c != nil && c.ColdCache != nil && c.WarmCache != nil {
					b.ReportMetric(c.ColdCache.MedianMS, "cold-start-ms")
					b.ReportMetric(c.WarmCache.MedianMS, "warm-start-ms")
				}
			}
		})
	}
}

// BenchmarkCLIEntry compares the fast path with the plain Extism batch
// export on cloudtrail-ecs through "weir bench --compare": the ratio of
// events/s (batch / fast) with its 95% confidence interval, interleaved
// rounds, outputs checked identical.
func BenchmarkCLIEntry(b *testing.B) {
	wasm := hosttest.GoModule(b, "modules/cloudtrail-ecs")
	dir := b.TempDir()
	var pipes []string
	for _, entry := range []string{"fast", "batch"} {
		p := filepath.Join(dir, entry+".yaml")
		y := fmt.Sprintf("version: 1\nstages:\n  - name: normalize\n    module: %s\n    entry: %s\n", wasm, entry)
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			b.Fatal(err)
		}
		pipes = append(pipes, p)
	}
	var rep *cliReport
	for b.Loop() {
		rep = weirBench(b, "--compare", "--rounds", "10", "--duration", "6s", "--warmup", "1s", pipes[0], pipes[1])
	}
	c := rep.Compare
	b.ReportMetric(c.Ratio, "batch/fast")
	b.ReportMetric(c.CILow, "ci-low")
	b.ReportMetric(c.CIHigh, "ci-high")
	b.Log(c.Verdict)
}
