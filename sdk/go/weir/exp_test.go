//go:build !wasip1

package weir_test

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weirhq/weir/engine/frame"
)

func BenchmarkExp(b *testing.B) {
	bin, err := os.ReadFile(os.Getenv("EXP_WASM"))
	if err != nil {
		b.Skip()
	}
	recs := benchRecords(b)
	in := newInstance(b, bin)
	f := hostFrame(b, recs, frame.FlagViews|frame.FlagHostOps, manifestPaths(b, in))
	ctx := context.Background()
	res, _ := in.alloc.Call(ctx, uint64(len(f)))
	ptr := res[0]
	b.ResetTimer()
	for b.Loop() {
		in.mod.Memory().Write(uint32(ptr), f)
		if _, err := in.transform.Call(ctx, ptr, uint64(len(f))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

type counter struct{ n map[string]int }

func (c *counter) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	name := def.DebugName()
	return experimental.FunctionListenerFunc(func(ctx context.Context, mod api.Module, d api.FunctionDefinition, params []uint64, si experimental.StackIterator) {
		c.n[name]++
	})
}

func TestExpCount(t *testing.T) {
	bin, err := os.ReadFile(os.Getenv("EXP_WASM"))
	if err != nil {
		t.Skip()
	}
	c := &counter{n: map[string]int{}}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), c)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(wasmCache))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	cm, _ := r.CompileModule(ctx, bin)
	env := r.NewHostModuleBuilder("extism:host/env")
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		if mod == "extism:host/env" {
			env.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), def.ParamTypes(), def.ResultTypes()).Export(name)
		}
	}
	env.Instantiate(ctx)
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	recs := benchRecords(t)
	res, _ := mod.ExportedFunction("weir_manifest").Call(ctx)
	mb, _ := mod.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
	var m struct{ Paths []string }
	json.Unmarshal(mb, &m)
	f := hostFrame(t, recs, frame.FlagViews|frame.FlagHostOps, m.Paths)
	res, _ = mod.ExportedFunction("weir_alloc").Call(ctx, uint64(len(f)))
	mod.Memory().Write(uint32(res[0]), f)
	mod.ExportedFunction("weir_transform").Call(ctx, res[0], uint64(len(f)))
	clear(c.n)
	mod.Memory().Write(uint32(res[0]), f)
	mod.ExportedFunction("weir_transform").Call(ctx, res[0], uint64(len(f)))
	type kv struct {
		k string
		v int
	}
	var all []kv
	total := 0
	for k, v := range c.n {
		all = append(all, kv{k, v})
		total += v
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	t.Logf("total calls per record: %d", total/len(recs))
	for _, e := range all[:min(40, len(all))] {
		t.Logf("%6.1f %s", float64(e.v)/float64(len(recs)), e.k)
	}
}
