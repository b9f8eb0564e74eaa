package bench_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"

	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/hosttest"
)

func reference(tb testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(hosttest.SharedDir(tb), "reference", "consolelogin.input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimRight(b, "\n")
}

func repeat(rec []byte, n int) []engine.Record {
	recs := make([]engine.Record, n)
	for i := range recs {
		recs[i] = engine.Record{Data: rec}
	}
	return recs
}

// weirStage loads a module on a fresh host with one instance, so that one
// benchmark goroutine measures one core.
func weirStage(b testing.TB, pkg, entry string) engine.Stage {
	return weirStageConfig(b, pkg, engine.StageConfig{Entry: entry, Instances: 1})
}

// weirStageConfig loads a Go module with the given stage settings.
func weirStageConfig(b testing.TB, pkg string, sc engine.StageConfig) engine.Stage {
	b.Helper()
	return weirStageFile(b, hosttest.GoModule(b, pkg), sc)
}

// asPassthrough builds the AssemblyScript passthrough module.
func asPassthrough(b testing.TB) string {
	return hosttest.AssemblyScript(b, filepath.Join(hosttest.RepoRoot(b), "modules", "passthrough-as", "passthrough-as.ts"), "--runtime", "stub")
}

// weirStageFile loads a module file with the given stage settings.
func weirStageFile(b testing.TB, path string, sc engine.StageConfig) engine.Stage {
	b.Helper()
	return weirStageHost(b, path, sc, host.Options{})
}

// weirStageHost loads a module file on a host with the given options.
func weirStageHost(b testing.TB, path string, sc engine.StageConfig, opts host.Options) engine.Stage {
	b.Helper()
	pkg := path
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(ctx) })
	st, err := h.LoadModule(ctx, filepath.Base(pkg), wasm, sc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close(ctx) })
	return st
}

func goSDKPlugin(b testing.TB, pkg string) *extism.Plugin {
	b.Helper()
	wasm, err := os.ReadFile(hosttest.GoModule(b, pkg))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	p, err := extism.NewPlugin(ctx, extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm}}}, extism.PluginConfig{EnableWasi: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(ctx) })
	return p
}

func frameOf(recs []engine.Record) []byte {
	w := frame.NewInput(nil, 0, nil)
	for _, r := range recs {
		w.AddRecord(r.Data, "", "", 0, 0, "")
	}
	return w.Finish()
}

func process(b testing.TB, st engine.Stage, recs []engine.Record) {
	// As weir run and the Lambda handler run a batch: in an arena given
	// back once the outputs are used (engine.Arena).
	a := engine.NewArena()
	defer a.Release()
	res, err := st.Process(engine.WithArena(context.Background(), a), recs)
	if err != nil {
		b.Fatal(err)
	}
	if len(res) != len(recs) || res[0].Status != engine.StatusOK {
		b.Fatalf("unexpected result %+v", res[0])
	}
}

// BenchmarkCall measures one batch call with a minimal batch (one "{}"
// record) through the passthrough module: weir's fast path, weir's plain
// Extism path, and extism go-sdk calling the same export.
func BenchmarkCall(b *testing.B) {
	recs := repeat([]byte("{}"), 1)
	b.Run("weir-fast", func(b *testing.B) {
		st := weirStage(b, "modules/passthrough", "fast")
		b.ReportAllocs()
		for b.Loop() {
			process(b, st, recs)
		}
	})
	b.Run("weir-plain-extism", func(b *testing.B) {
		st := weirStage(b, "modules/passthrough", "batch")
		b.ReportAllocs()
		for b.Loop() {
			process(b, st, recs)
		}
	})
	b.Run("extism-go-sdk-empty-batch", func(b *testing.B) {
		p := goSDKPlugin(b, "modules/passthrough")
		in := frameOf(nil)
		b.ReportAllocs()
		for b.Loop() {
			if rc, _, err := p.Call("weir_batch", in); err != nil || rc != 0 {
				b.Fatal(rc, err)
			}
		}
	})
	b.Run("extism-go-sdk", func(b *testing.B) {
		p := goSDKPlugin(b, "modules/passthrough")
		in := frameOf(recs)
		b.ReportAllocs()
		for b.Loop() {
			if rc, _, err := p.Call("weir_batch", in); err != nil || rc != 0 {
				b.Fatal(rc, err)
			}
		}
	})
}

// BenchmarkPassthrough moves batches of 100 reference records (1.35 KB
// each) through the passthrough module; ns/record is the per-record cost.
func BenchmarkPassthrough(b *testing.B) {
	rec := reference(b)
	recs := repeat(rec, 100)
	report := func(b *testing.B) {
		b.SetBytes(int64(len(rec) * len(recs)))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	}
	b.Run("weir-fast", func(b *testing.B) {
		st := weirStage(b, "modules/passthrough", "fast")
		for b.Loop() {
			process(b, st, recs)
		}
		report(b)
	})
	b.Run("weir-fast-assemblyscript", func(b *testing.B) {
		st := weirStageFile(b, asPassthrough(b), engine.StageConfig{Entry: "fast", Instances: 1})
		for b.Loop() {
			process(b, st, recs)
		}
		report(b)
	})
	b.Run("weir-plain-extism", func(b *testing.B) {
		st := weirStage(b, "modules/passthrough", "batch")
		for b.Loop() {
			process(b, st, recs)
		}
		report(b)
	})
	b.Run("extism-go-sdk", func(b *testing.B) {
		p := goSDKPlugin(b, "modules/passthrough")
		in := frameOf(recs)
		for b.Loop() {
			if rc, _, err := p.Call("weir_batch", in); err != nil || rc != 0 {
				b.Fatal(rc, err)
			}
		}
		report(b)
	})
}

// BenchmarkDataPath moves 1 MiB batches in and out of the passthrough
// module through the fast path: as 16 records of 64 KiB (the cost of the
// boundary itself: one copy in, one out) and as 1024 records of 1 KiB
// (adds the guest's per-record loop), for the Go and the AssemblyScript
// passthrough.
func BenchmarkDataPath(b *testing.B) {
	for _, shape := range []struct {
		name      string
		size, num int
	}{{"16x64KiB", 64 << 10, 16}, {"1024x1KiB", 1 << 10, 1024}} {
		recs := repeat(bytes.Repeat([]byte("x"), shape.size), shape.num)
		b.Run(shape.name+"/go", func(b *testing.B) {
			st := weirStage(b, "modules/passthrough", "fast")
			b.SetBytes(int64(shape.size * shape.num))
			for b.Loop() {
				process(b, st, recs)
			}
		})
		b.Run(shape.name+"/assemblyscript", func(b *testing.B) {
			st := weirStageFile(b, asPassthrough(b), engine.StageConfig{Entry: "fast", Instances: 1})
			b.SetBytes(int64(shape.size * shape.num))
			for b.Loop() {
				process(b, st, recs)
			}
		})
	}
}

// BenchmarkCloudTrailECS normalizes the reference record to ECS, in
// batches of 1000: the cloudtrail-ecs Wasm module on one instance against
// the two native baselines, all on one core.
func BenchmarkCloudTrailECS(b *testing.B) {
	rec := reference(b)
	const batch = 1000
	recs := repeat(rec, batch)
	perEvent := func(b *testing.B, n int) {
		b.SetBytes(int64(len(rec) * n))
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("weir-wasm", func(b *testing.B) {
		st := weirStage(b, "modules/cloudtrail-ecs", "fast")
		for b.Loop() {
			process(b, st, recs)
		}
		perEvent(b, batch)
	})
	b.Run("weir-wasm-no-preempt", func(b *testing.B) {
		preempt := false
		st := weirStageConfig(b, "modules/cloudtrail-ecs", engine.StageConfig{Entry: "fast", Instances: 1, Limits: engine.Limits{Preempt: &preempt}})
		for b.Loop() {
			process(b, st, recs)
		}
		perEvent(b, batch)
	})
	b.Run("native-gjson-sjson", func(b *testing.B) {
		for b.Loop() {
			if _, err := baseline.GJSON(rec); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, 1)
	})
	b.Run("native-encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := baseline.Structs(rec); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, 1)
	})
}

// asCloudTrailECS builds the AssemblyScript port of cloudtrail-ecs.
func asCloudTrailECS(b testing.TB) string {
	return hosttest.AssemblyScript(b, filepath.Join(hosttest.RepoRoot(b), "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")
}

// preemptModes are the deadline mechanisms BenchmarkPreempt compares: the
// default (loop fuel added at load time), wazero's per-loop check (the
// default before), and none (preempt: false).
var preemptModes = []struct {
	name    string
	opts    host.Options
	preempt bool
}{
	{"fuel", host.Options{}, true},
	{"wazero-check", host.Options{WazeroPreempt: true}, true},
	{"off", host.Options{}, false},
}

// preemptModules are the cloudtrail-ecs modules BenchmarkPreempt and
// BenchmarkPreemptInterleaved measure: the Go one and its AssemblyScript
// port.
var preemptModules = []struct {
	name string
	path func(testing.TB) string
}{
	{"go", func(tb testing.TB) string { return hosttest.GoModule(tb, "modules/cloudtrail-ecs") }},
	{"assemblyscript", asCloudTrailECS},
}

// BenchmarkPreempt runs the reference job (batches of 1000 reference
// records, one instance) on the Go and AssemblyScript cloudtrail-ecs
// modules under each deadline mechanism. Run it with -count N: each round
// measures every mechanism in turn, so that load on a shared machine
// spreads over all of them.
func BenchmarkPreempt(b *testing.B) {
	rec := reference(b)
	const batch = 1000
	recs := repeat(rec, batch)
	for _, m := range preemptModules {
		for _, mode := range preemptModes {
			b.Run(m.name+"/"+mode.name, func(b *testing.B) {
				preempt := mode.preempt
				st := weirStageHost(b, m.path(b), engine.StageConfig{Entry: "fast", Instances: 1, Limits: engine.Limits{Preempt: &preempt}}, mode.opts)
				process(b, st, recs) // warm up
				b.ResetTimer()
				for b.Loop() {
					process(b, st, recs)
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkPreemptInterleaved is BenchmarkPreempt with the mechanisms
// alternating batch by batch in one loop, so that a shared machine's load
// falls on all of them alike: it reports each mechanism's events/s and
// their ratios to preempt off ("fuel/off" is the default's share of the
// unchecked speed), over the whole run and as the median of the batch by
// batch ratios.
func BenchmarkPreemptInterleaved(b *testing.B) {
	rec := reference(b)
	const batch = 1000
	recs := repeat(rec, batch)
	for _, m := range preemptModules {
		b.Run(m.name, func(b *testing.B) {
			stages := make([]engine.Stage, len(preemptModes))
			for i, mode := range preemptModes {
				preempt := mode.preempt
				stages[i] = weirStageHost(b, m.path(b), engine.StageConfig{Entry: "fast", Instances: 1, Limits: engine.Limits{Preempt: &preempt}}, mode.opts)
				process(b, stages[i], recs) // warm up
			}
			spent := make([]time.Duration, len(stages))
			// ratios[i] holds, batch by batch, off's time over mode i's:
			// the median is robust to load spikes on a shared machine.
			ratios := make([][]float64, len(stages))
			took := make([]time.Duration, len(stages))
			for b.Loop() {
				for i, st := range stages {
					start := time.Now()
					process(b, st, recs)
					took[i] = time.Since(start)
					spent[i] += took[i]
				}
				for i := range stages {
					ratios[i] = append(ratios[i], took[len(took)-1].Seconds()/took[i].Seconds())
				}
			}
			off := spent[len(spent)-1]
			for i, mode := range preemptModes {
				b.ReportMetric(float64(b.N*batch)/spent[i].Seconds(), mode.name+"-events/s")
				if i < len(spent)-1 {
					b.ReportMetric(off.Seconds()/spent[i].Seconds(), mode.name+"/off")
					slices.Sort(ratios[i])
					b.ReportMetric(ratios[i][len(ratios[i])/2], mode.name+"/off-median")
				}
			}
		})
	}
}

// BenchmarkReferenceInterleaved runs the reference job (batches of 1000
// reference records, one core) on the gjson/sjson baseline (Substation's
// stand-in), the encoding/json baseline, the Go module and the
// AssemblyScript module (fast path, one instance, default settings),
// alternating batch by batch in one loop so that a shared machine's load
// falls on all four alike. It reports each one's events/s over the whole
// run, and each module's speed over the gjson/sjson baseline's, whole-run
// (x-gjson) and as the median of the batch-by-batch ratios
// (x-gjson-median, robust to load spikes).
func BenchmarkReferenceInterleaved(b *testing.B) {
	rec := reference(b)
	const batch = 1000
	recs := repeat(rec, batch)
	native := func(f func([]byte) ([]byte, error)) func() {
		return func() {
			for _, r := range recs {
				if _, err := f(r.Data); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	stage := func(st engine.Stage) func() {
		process(b, st, recs) // warm up
		return func() { process(b, st, recs) }
	}
	runs := []struct {
		name string
		run  func()
	}{
		{"gjson-sjson", native(baseline.GJSON)},
		{"encoding-json", native(baseline.Structs)},
		{"go-module", stage(weirStage(b, "modules/cloudtrail-ecs", "fast"))},
		{"assemblyscript-module", stage(weirStageFile(b, asCloudTrailECS(b), engine.StageConfig{Entry: "fast", Instances: 1}))},
	}
	spent := make([]time.Duration, len(runs))
	took := make([]time.Duration, len(runs))
	ratios := make([][]float64, len(runs))
	for b.Loop() {
		for i, r := range runs {
			start := time.Now()
			r.run()
			took[i] = time.Since(start)
			spent[i] += took[i]
		}
		for i := range runs {
			ratios[i] = append(ratios[i], took[0].Seconds()/took[i].Seconds())
		}
	}
	for i, r := range runs {
		b.ReportMetric(float64(b.N*batch)/spent[i].Seconds(), r.name+"-events/s")
		if i > 0 {
			b.ReportMetric(spent[0].Seconds()/spent[i].Seconds(), r.name+"-x-gjson")
			slices.Sort(ratios[i])
			b.ReportMetric(ratios[i][len(ratios[i])/2], r.name+"-x-gjson-median")
		}
	}
}
