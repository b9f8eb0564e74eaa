package bench_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
	"github.com/weirhq/weir/host/hosttest"
)

// stratusRecords returns the Stratus Red Team corpus bundled with the
// example, framed as weir run frames it.
func stratusRecords(b *testing.B) []engine.Record {
	b.Helper()
	var recs []engine.Record
	for _, f := range stratusFiles(b) {
		rs := hosttest.DecodeFile(b, f)
		recs = append(recs, rs...)
	}
	return recs
}

// builtinReference compiles the transforms of
// examples/cloudtrail-ecs/pipeline-builtins.yaml.
func builtinReference(b *testing.B) engine.Stage {
	b.Helper()
	cfg, err := engine.LoadConfig(filepath.Join(hosttest.RepoRoot(b), "examples", "cloudtrail-ecs", "pipeline-builtins.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := builtin.NewStage(cfg.Stages[0].RawTransforms())
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkReferenceBuiltins normalizes CloudTrail to ECS on one core, in
// one run: the gjson/sjson baseline (Substation's stand-in) first, then
// the built-in transforms (pipeline-builtins.yaml), the Go module and the
// AssemblyScript module on weir's fast path (one instance). Inputs: the
// reference ConsoleLogin record in batches of 1000, and the Stratus Red
// Team corpus (310 records of 0.7-6 KB) as one batch. Every benchmark
// reports events/s, allocs/event (host allocations, whole batch included)
// and x-baseline (events/s over the baseline's on the same input), the
// bytes allocated per event (B/event) and the collections per batch
// (gc/batch). Stages run each batch in an arena, as weir run and the
// Lambda handler do (process).
func BenchmarkReferenceBuiltins(b *testing.B) {
	cl := repeat(reference(b), 1000)
	inputs := []struct {
		name string
		recs []engine.Record
	}{{"consolelogin", cl}, {"stratus", stratusRecords(b)}}
	for _, in := range inputs {
		var baselineRate float64
		bytesIn := 0
		for _, r := range in.recs {
			bytesIn += len(r.Data)
		}
		measure := func(b *testing.B, run func()) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			n := 0
			for b.Loop() {
				run()
				n++
			}
			runtime.ReadMemStats(&m1)
			events := float64(n * len(in.recs))
			rate := events / b.Elapsed().Seconds()
			b.SetBytes(int64(bytesIn))
			b.ReportMetric(rate, "events/s")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/events, "allocs/event")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/events, "B/event")
			b.ReportMetric(float64(m1.NumGC-m0.NumGC)/float64(n), "gc/batch")
			if baselineRate > 0 {
				b.ReportMetric(rate/baselineRate, "x-baseline")
			} else {
				baselineRate = rate
			}
		}
		stage := func(st engine.Stage) func(b *testing.B) {
			return func(b *testing.B) {
				process(b, st, in.recs) // warm up: B/event is the steady state's
				measure(b, func() { process(b, st, in.recs) })
			}
		}
		b.Run(in.name+"/gjson-sjson-baseline", func(b *testing.B) {
			measure(b, func() {
				for _, r := range in.recs {
					if _, err := baseline.GJSON(r.Data); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run(in.name+"/builtins", func(b *testing.B) { stage(builtinReference(b))(b) })
		b.Run(in.name+"/go-module", func(b *testing.B) {
			stage(weirStage(b, "modules/cloudtrail-ecs", "fast"))(b)
		})
		b.Run(in.name+"/assemblyscript-module", func(b *testing.B) {
			as := hosttest.AssemblyScript(b, filepath.Join(hosttest.RepoRoot(b), "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")
			stage(weirStageFile(b, as, engine.StageConfig{Entry: "fast", Instances: 1}))(b)
		})
	}
}
