package compat_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/hosttest"
)

// guestModules are the modules BenchmarkGuest compares: the passthrough
// and the reference normalization in each SDK language.
func guestModules(b *testing.B) [][2]string {
	root := hosttest.RepoRoot(b)
	return [][2]string{
		{"passthrough/assemblyscript", hosttest.AssemblyScript(b, filepath.Join(root, "modules", "passthrough-as", "passthrough-as.ts"), "--runtime", "stub")},
		{"passthrough/rust", hosttest.Rust(b, filepath.Join(root, "sdk", "rust", "example", "passthrough.rs"))},
		{"passthrough/c", hosttest.C(b, filepath.Join(root, "sdk", "c", "example", "passthrough.c"))},
		{"passthrough/go", hosttest.GoModule(b, "modules/passthrough")},
		{"tag-drop/rust", hosttest.Rust(b, filepath.Join(root, "sdk", "rust", "example", "tag_drop.rs"))},
		{"tag-drop/c", hosttest.C(b, filepath.Join(root, "sdk", "c", "example", "tag_drop.c"))},
		{"cloudtrail-ecs/assemblyscript", hosttest.AssemblyScript(b, filepath.Join(root, "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")},
		{"cloudtrail-ecs/rust", hosttest.Rust(b, filepath.Join(root, "modules", "cloudtrail-ecs-rs", "cloudtrail-ecs-rs.rs"))},
		{"cloudtrail-ecs/c", hosttest.C(b, filepath.Join(root, "modules", "cloudtrail-ecs-c", "cloudtrail-ecs-c.c"))},
		{"cloudtrail-ecs/go", hosttest.GoModule(b, "modules/cloudtrail-ecs")},
	}
}

// guestFrame is the input frame weir would send the module: the Stratus
// Red Team corpus (310 records) with FlagHostOps and, when the module
// declares paths, their views.
func guestFrame(b testing.TB, paths []string) ([]byte, int) {
	files, _ := filepath.Glob(filepath.Join(hosttest.SharedDir(b), "testdata", "cloudtrail", "stratus-red-team", "*.json"))
	flags := uint16(frame.FlagHostOps)
	if len(paths) > 0 {
		flags |= frame.FlagViews
	}
	w := frame.NewInput(nil, flags, paths)
	var a frame.Applier
	n := 0
	for _, f := range files {
		rs := hosttest.DecodeFile(b, f)
		for _, r := range rs {
			w.AddRecord(r.Data, "", r.Meta.SequenceNumber, 0, 0, "")
			if len(paths) > 0 {
				v, err := a.Parse(r.Data)
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range paths {
					w.AddValue(v.Get(frame.SplitPath(p)...))
				}
			}
			n++
		}
	}
	return w.Finish(), n
}

// BenchmarkGuest measures what differs between guest languages: the
// module's own time per batch on the fast path (weir_transform on a
// 310-record frame with views, called directly through wazero; the host's
// work around it, parsing records for views and applying op lists, is the
// same for every language and is left out), per record (us/record), and
// a new instance's first batch (first-batch-ms: instantiation, _initialize
// and the first weir_transform, which grows the module's memory).
func BenchmarkGuest(b *testing.B) {
	ctx := context.Background()
	for _, m := range guestModules(b) {
		wasm, err := os.ReadFile(m[1])
		if err != nil {
			b.Fatal(err)
		}
		rt := wazero.NewRuntime(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		cm, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		env := rt.NewHostModuleBuilder("extism:host/env")
		for _, def := range cm.ImportedFunctions() {
			if mod, name, _ := def.Import(); mod == "extism:host/env" {
				env.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
					panic("extism:host/env." + name + " called on the fast path")
				}), def.ParamTypes(), def.ResultTypes()).Export(name)
			}
		}
		if _, err := env.Instantiate(ctx); err != nil {
			b.Fatal(err)
		}
		instantiate := func() api.Module {
			cfg := wazero.NewModuleConfig().WithName("")
			if _, ok := cm.ExportedFunctions()["_initialize"]; ok {
				cfg = cfg.WithStartFunctions("_initialize")
			}
			mod, err := rt.InstantiateModule(ctx, cm, cfg)
			if err != nil {
				b.Fatal(err)
			}
			return mod
		}
		probe := instantiate()
		res, err := probe.ExportedFunction("weir_manifest").Call(ctx)
		if err != nil {
			b.Fatal(err)
		}
		man, _ := probe.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
		var manifest struct{ Paths []string }
		if err := json.Unmarshal(man, &manifest); err != nil {
			b.Fatalf("%s: manifest %q: %v", m[0], man, err)
		}
		_ = probe.Close(ctx)
		in, n := guestFrame(b, manifest.Paths)
		// load writes the frame into the module's weir_alloc buffer.
		load := func(mod api.Module) uint64 {
			res, err := mod.ExportedFunction("weir_alloc").Call(ctx, uint64(len(in)))
			if err != nil || !mod.Memory().Write(uint32(res[0]), in) {
				b.Fatal("weir_alloc", err)
			}
			return res[0]
		}
		call := func(mod api.Module, ptr uint64) {
			out, err := mod.ExportedFunction("weir_transform").Call(ctx, ptr, uint64(len(in)))
			if err != nil {
				b.Fatal(err)
			}
			f, _ := mod.Memory().Read(uint32(out[0]>>32), uint32(out[0]))
			if len(f) < 16 || f[4] != 2 {
				b.Fatalf("%s: not an output frame: %q", m[0], f)
			}
		}
		b.Run(m[0], func(b *testing.B) {
			mod := instantiate()
			ptr := load(mod)
			call(mod, ptr)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				call(mod, ptr)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e3, "us/record")
			b.ReportMetric(float64(len(wasm)), "module-bytes")
			b.StopTimer()
			_ = mod.Close(ctx)
		})
		b.Run(m[0]+"/first-batch", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				mod := instantiate()
				call(mod, load(mod))
				b.StopTimer()
				_ = mod.Close(ctx)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "first-batch-ms")
		})
		_ = rt.Close(ctx)
	}
}

// BenchmarkNormalizationInterleaved runs the reference normalization in
// the four SDK languages as weir runs them (host.LoadModule: the loop-fuel
// rewrite, the host's views and op application included) on the Stratus
// Red Team corpus, one 310-record batch per module in turn (rotating
// order), b.N rounds, and reports each module's 10th percentile and median
// time per record. Quantiles of interleaved batches resist a loaded
// machine better than events/s averages: compare the languages within one
// run (issue #9).
func BenchmarkNormalizationInterleaved(b *testing.B) {
	ctx := context.Background()
	root := hosttest.RepoRoot(b)
	mods := [][2]string{
		{"assemblyscript", hosttest.AssemblyScript(b, filepath.Join(root, "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")},
		{"rust", hosttest.Rust(b, filepath.Join(root, "modules", "cloudtrail-ecs-rs", "cloudtrail-ecs-rs.rs"))},
		{"c", hosttest.C(b, filepath.Join(root, "modules", "cloudtrail-ecs-c", "cloudtrail-ecs-c.c"))},
		{"go", hosttest.GoModule(b, "modules/cloudtrail-ecs")},
	}
	files, _ := filepath.Glob(filepath.Join(hosttest.SharedDir(b), "testdata", "cloudtrail", "stratus-red-team", "*.json"))
	var recs []engine.Record
	for _, f := range files {
		recs = append(recs, hosttest.DecodeFile(b, f)...)
	}
	h, err := host.New(ctx, host.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	stages := make([]engine.Stage, len(mods))
	for i, m := range mods {
		wasm, err := os.ReadFile(m[1])
		if err != nil {
			b.Fatal(err)
		}
		if stages[i], err = h.LoadModule(ctx, m[0], wasm, engine.StageConfig{}); err != nil {
			b.Fatal(err)
		}
		defer stages[i].Close(ctx)
		if _, err := stages[i].Process(ctx, recs); err != nil { // the first batch grows the instance
			b.Fatal(err)
		}
	}
	perRecord := make([][]float64, len(mods))
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		for k := range mods {
			i := (k + round) % len(mods)
			t0 := time.Now()
			res, err := stages[i].Process(ctx, recs)
			d := time.Since(t0)
			if err != nil || len(res) != len(recs) {
				b.Fatalf("%s: %d results, %v", mods[i][0], len(res), err)
			}
			for _, r := range res {
				if r.Status != engine.StatusOK {
					b.Fatalf("%s: a record failed: %v", mods[i][0], r.Err)
				}
			}
			perRecord[i] = append(perRecord[i], float64(d.Nanoseconds())/float64(len(recs))/1e3)
		}
	}
	b.StopTimer()
	for i, m := range mods {
		s := perRecord[i]
		slices.Sort(s)
		b.ReportMetric(s[len(s)/10], m[0]+"-p10-us/record")
		b.ReportMetric(s[len(s)/2], m[0]+"-p50-us/record")
	}
}
