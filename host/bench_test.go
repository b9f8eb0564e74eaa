package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/hosttest"
)

// BenchmarkFastPathEmptyCall measures one fast-path round trip with an
// empty input frame: weir_alloc, the frame write, weir_transform, the
// output read and its header check. Target: <= 2 µs.
func BenchmarkFastPathEmptyCall(b *testing.B) {
	h, _ := newHost(b)
	s := load(b, h, "passthrough", wat(b, "passthrough"), engine.StageConfig{Instances: 1})
	ctx := context.Background()
	inst, err := s.acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.release(ctx, inst, nil)
	cctx := &callCtx{Context: ctx, inst: inst}
	in := frame.NewInput(nil, frame.FlagHostOps, nil).Finish()
	b.ReportAllocs()
	for b.Loop() {
		out, err := s.callFast(cctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := frame.ReadOutput(out, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessOneRecord is the whole Process path for a one-record
// batch: timeout context, pool, frame building, call, decoding.
func BenchmarkProcessOneRecord(b *testing.B) {
	for _, entry := range []string{engine.EntryFast, engine.EntryBatch} {
		b.Run(entry, func(b *testing.B) {
			h, _ := newHost(b)
			s := load(b, h, "passthrough", wat(b, "passthrough"), engine.StageConfig{Entry: entry, Instances: 1})
			recs := records(`{"eventName":"ConsoleLogin"}`)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Process(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPassthrough compares the fast path with the plain Extism batch
// path (weir_batch: input through input_load_u64, output through
// store_u64) on the same module, over batches of CloudTrail-sized records.
func BenchmarkPassthrough(b *testing.B) {
	rec, err := os.ReadFile(hosttest.SharedFile(b, "reference/consolelogin.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100, 1000} {
		data := make([]string, n)
		for i := range data {
			data[i] = string(rec)
		}
		recs := records(data...)
		for _, entry := range []string{engine.EntryFast, engine.EntryBatch} {
			for _, instances := range []int{1, 2} {
				b.Run(fmt.Sprintf("records=%d/%s/instances=%d", n, entry, instances), func(b *testing.B) {
					h, _ := newHost(b)
					s := load(b, h, "passthrough", wat(b, "passthrough"), engine.StageConfig{Entry: entry, Instances: instances})
					ctx := context.Background()
					b.SetBytes(int64(n * len(rec)))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := s.Process(ctx, recs); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
				})
			}
		}
	}
}

// BenchmarkViews measures host-side parsing for views and native
// application of an edit (views.wat: one declared path, one edit op).
func BenchmarkViews(b *testing.B) {
	rec, err := os.ReadFile(hosttest.SharedFile(b, "reference/consolelogin.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	h, _ := newHost(b)
	s := load(b, h, "views", wat(b, "views"), engine.StageConfig{Instances: 1})
	data := make([]string, 100)
	for i := range data {
		data[i] = string(rec)
	}
	recs := records(data...)
	ctx := context.Background()
	b.SetBytes(int64(100 * len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Process(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateLookup compares ways for a host function to find the
// calling instance's state (see the package documentation): a type
// assertion on the context the host passes (what the host does), a
// context.Value lookup, and maps keyed by the caller module.
func BenchmarkStateLookup(b *testing.B) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	inst := &instance{}
	var ctx context.Context = &callCtx{Context: parent, inst: inst}
	type key struct{}
	valueCtx := context.WithValue(parent, key{}, inst)
	type module struct{ _ [8]byte }
	mods := make([]*module, 64)
	var sm sync.Map
	var mu sync.RWMutex
	m := map[*module]*instance{}
	for i := range mods {
		mods[i] = &module{}
		sm.Store(mods[i], inst)
		m[mods[i]] = inst
	}
	caller := mods[17]
	var sink *instance
	b.Run("ctx-type-assertion", func(b *testing.B) {
		for b.Loop() {
			sink = instanceFrom(ctx)
		}
	})
	b.Run("ctx-value", func(b *testing.B) {
		for b.Loop() {
			sink, _ = valueCtx.Value(key{}).(*instance)
		}
	})
	b.Run("sync-map", func(b *testing.B) {
		for b.Loop() {
			v, _ := sm.Load(caller)
			sink, _ = v.(*instance)
		}
	})
	b.Run("rwmutex-map", func(b *testing.B) {
		for b.Loop() {
			mu.RLock()
			sink = m[caller]
			mu.RUnlock()
		}
	})
	_ = sink
}

// BenchmarkHostShare measures the host's share of the reference job per
// record: everything Process does for a fast-path batch except running
// the guest. It records the output frames the module returns for a batch
// of 1000 reference records once (one per call: see frameChunk), then
// replays them: parse each record and extract its views, build the input
// frame and write it into the guest's memory, read the recorded output
// frame and apply its operation lists into the call's output slab. Each iteration also runs the whole
// Process on the same batch, timed apart, so that both figures (host-ns
// and process-ns per record) come from the same moments of a shared
// machine: their difference is the guest's share. Both run in a batch
// arena, as the product's callers run a batch; B/record and gc/batch are
// the bytes allocated and the collections over both.
func BenchmarkHostShare(b *testing.B) {
	const n = 1000
	recs := hosttest.ReferenceBatch(b, n)
	modules := []struct {
		name string
		path func(testing.TB) string
	}{
		{"go", func(tb testing.TB) string { return hosttest.GoModule(tb, "modules/cloudtrail-ecs") }},
		{"assemblyscript", func(tb testing.TB) string {
			return hosttest.AssemblyScript(tb, filepath.Join(hosttest.RepoRoot(tb), "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")
		}},
	}
	for _, m := range modules {
		b.Run(m.name, func(b *testing.B) {
			wasm, err := os.ReadFile(m.path(b))
			if err != nil {
				b.Fatal(err)
			}
			h, _ := newHost(b)
			s := load(b, h, m.name, wasm, engine.StageConfig{Entry: engine.EntryFast, Instances: 1})
			ctx := context.Background()
			inst, err := s.acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			cctx := &callCtx{Context: ctx, inst: inst}
			res := make([]engine.Result, n)
			var ends []int    // each call's records: recs[ends[k-1]:ends[k]]
			var outs [][]byte // each call's output frame
			for lo := 0; lo < n; {
				hi := n
				if s.chunked {
					hi = lo + frameChunk(recs[lo:])
				}
				in := s.buildFrame(inst, lo, recs[lo:hi], res[lo:hi])
				out, err := s.callFast(cctx, in)
				if err != nil {
					b.Fatal(err)
				}
				outs = append(outs, bytes.Clone(out))
				ends = append(ends, hi)
				lo = hi
			}
			s.release(ctx, inst, nil)
			var host, whole time.Duration
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				t0 := time.Now()
				// Both runs in a batch arena, as weir run and the Lambda
				// handler run a batch (engine.Arena).
				a := engine.NewArena()
				inst, err := s.acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				cctx := &callCtx{Context: ctx, inst: inst}
				bt := &batch{max: s.env.maxOut, arena: a}
				lo := 0
				for k, hi := range ends {
					in := s.buildFrame(inst, lo, recs[lo:hi], res[lo:hi])
					if !inst.mem.Write(inst.inPtr, in) {
						b.Fatal("input frame does not fit")
					}
					if err := bt.spend(len(outs[k])); err != nil {
						b.Fatal(err)
					}
					if err := s.decode(cctx, bt, lo, outs[k], recs[lo:hi], res[lo:hi]); err != nil {
						b.Fatal(err)
					}
					lo = hi
				}
				s.release(ctx, inst, nil)
				if res[n-1].Status != engine.StatusOK {
					b.Fatalf("record %d: %v", n-1, res[n-1].Err)
				}
				a.Release()
				t1 := time.Now()
				a = engine.NewArena()
				if _, err := s.Process(engine.WithArena(ctx, a), recs); err != nil {
					b.Fatal(err)
				}
				a.Release()
				host += t1.Sub(t0)
				whole += time.Since(t1)
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(2*b.N*n), "B/record")
			b.ReportMetric(float64(m1.NumGC-m0.NumGC)/float64(2*b.N), "gc/batch")
			b.ReportMetric(float64(host.Nanoseconds())/float64(b.N*n), "host-ns/record")
			b.ReportMetric(float64(whole.Nanoseconds())/float64(b.N*n), "process-ns/record")
			b.ReportMetric(float64(host)/float64(whole), "host/process")
		})
	}
}

// BenchmarkChunkSize runs the reference job (batches of 1000 reference
// records) through Process with the fast path's per-call chunk bounded
// at several sizes, alternating batch by batch in one loop so that a
// shared machine's load falls on all of them alike; it reports each
// size's ns per record and its ratio to unbounded (one call per batch).
func BenchmarkChunkSize(b *testing.B) {
	const n = 1000
	recs := hosttest.ReferenceBatch(b, n)
	sizes := []int{1 << 30, 4, 8, 16, 32}
	defer func(r, by int) { chunkRecords, chunkBytes = r, by }(chunkRecords, chunkBytes)
	for _, m := range []struct {
		name string
		path func(testing.TB) string
	}{
		{"go", func(tb testing.TB) string { return hosttest.GoModule(tb, "modules/cloudtrail-ecs") }},
		{"assemblyscript", func(tb testing.TB) string {
			return hosttest.AssemblyScript(tb, filepath.Join(hosttest.RepoRoot(tb), "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")
		}},
	} {
		b.Run(m.name, func(b *testing.B) {
			wasm, err := os.ReadFile(m.path(b))
			if err != nil {
				b.Fatal(err)
			}
			h, _ := newHost(b)
			s := load(b, h, m.name, wasm, engine.StageConfig{Entry: engine.EntryFast, Instances: 1})
			ctx := context.Background()
			took := make([]time.Duration, len(sizes))
			for b.Loop() {
				for i, size := range sizes {
					chunkRecords, chunkBytes = size, 1<<30
					t0 := time.Now()
					if _, err := s.Process(ctx, recs); err != nil {
						b.Fatal(err)
					}
					took[i] += time.Since(t0)
				}
			}
			for i, size := range sizes {
				name := fmt.Sprint(size)
				if size == 1<<30 {
					name = "all"
				}
				b.ReportMetric(float64(took[i].Nanoseconds())/float64(b.N*n), "ns/record-"+name)
				if i > 0 {
					b.ReportMetric(float64(took[0])/float64(took[i]), "x-"+name)
				}
			}
		})
	}
}
