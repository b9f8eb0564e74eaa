package host

import (
	"context"
	"fmt"
	"os"
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
