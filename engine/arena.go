package engine

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Arena is the memory of one batch: the stages of a pipeline take their
// output bytes, Output slices and Result slices from it instead of
// allocating them, and the caller gives it all back at once with Release
// when it has finished with every output of the batch. Reused batch after
// batch, it makes the steady state of a busy process allocate almost no
// garbage, so the Go collector stops running (and stops slowing every
// pointer write with its write barrier) during batches.
//
// Using an arena is the caller's choice, through the context:
//
//	a := engine.NewArena()
//	res, err := p.Run(engine.WithArena(ctx, a), records)
//	... write res's outputs to the sinks, build the response ...
//	a.Release() // res's outputs (and res.Records) are invalid from here
//
// A caller that puts no arena in the context, or never calls Release,
// gets memory of its own exactly as before (an arena never released is
// collected like any other memory): forgetting Release cannot corrupt
// data. The one mistake is to read an output (or keep one) after Release:
// a Sink must copy what it holds past its Write call (the batching layer
// does).
//
// An Arena is safe for concurrent use (the pieces of a batch run on
// several instances at once). Its methods on a nil *Arena allocate
// ordinary memory, so a stage calls them whatever its context holds.
type Arena struct {
	mu sync.Mutex
	m  *arenaMem // nil once released
	// tainted: a stage of the batch failed as a whole, so something of
	// it may still run (an abandoned module call); Release then lets the
	// memory go to the collector instead of reusing it.
	tainted bool
}

// arenaMem is the reusable part of an Arena. An Arena is a handle to one
// for one batch: releasing the handle twice, or a stale handle after the
// memory went to another batch, is harmless.
type arenaMem struct {
	bytes   bytesSlab
	outs    slab[Output]
	results slab[Result]
	records slab[RecordResult]
	inputs  slab[Record]
	items   slab[item]
	ints    slab[int]
}

// Released memory waits for the next batch on a short free list, which
// the collector leaves alone (a process whose other garbage makes it
// collect often would otherwise lose its arenas, and grow new ones batch
// after batch), and beyond it in a sync.Pool. The list holds one arena per
// CPU: as many batches as can run at once.
var (
	arenaFree struct {
		mu   sync.Mutex
		list []*arenaMem
	}
	arenaPool = sync.Pool{New: func() any { return new(arenaMem) }}
)

func getArenaMem() *arenaMem {
	arenaFree.mu.Lock()
	if n := len(arenaFree.list); n > 0 {
		m := arenaFree.list[n-1]
		arenaFree.list[n-1] = nil
		arenaFree.list = arenaFree.list[:n-1]
		arenaFree.mu.Unlock()
		return m
	}
	arenaFree.mu.Unlock()
	return arenaPool.Get().(*arenaMem)
}

func putArenaMem(m *arenaMem) {
	arenaFree.mu.Lock()
	if len(arenaFree.list) < runtime.GOMAXPROCS(0) {
		arenaFree.list = append(arenaFree.list, m)
		arenaFree.mu.Unlock()
		return
	}
	arenaFree.mu.Unlock()
	arenaPool.Put(m)
}

// poison: Release overwrites the bytes it gives back (SetArenaPoison).
var poison atomic.Bool

// SetArenaPoison makes every later Release overwrite the bytes the batch
// used with 0xA5 (on) or not (off, the default), and returns the previous
// setting. It is a debugging aid for tests: an output read or kept after
// its arena's Release then reads garbage at once, instead of only when a
// later batch happens to reuse the memory.
func SetArenaPoison(on bool) bool { return poison.Swap(on) }

// NewArena returns an empty arena, reusing the memory of a released one.
// Released memory is kept for the next batches: up to one arena per CPU
// (GOMAXPROCS) whatever the collector does, more until it runs; an arena
// grows to the largest batch it served, and one that served more than
// 64 MiB of bytes is not kept.
func NewArena() *Arena {
	return &Arena{m: getArenaMem()}
}

// Release gives the arena's memory back for the next batch. Every output
// made from it (and every slice a stage took from it) is invalid from
// here. Releasing twice is a no-op; a released arena (like a nil one)
// allocates ordinary memory if a stage still asks it for some.
func (a *Arena) Release() {
	if a == nil {
		return
	}
	a.mu.Lock()
	m, tainted := a.m, a.tainted
	a.m = nil
	a.mu.Unlock()
	if m == nil || tainted {
		return
	}
	if m.reset() {
		putArenaMem(m)
	}
}

// Taint marks the batch as failed in a way that may leave part of it
// running (a stage's batch error: a module call abandoned at its
// deadline keeps its goroutine): Release then drops the memory instead of
// reusing it. Pipeline.Run calls it.
func (a *Arena) Taint() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.tainted = true
	a.mu.Unlock()
}

// Bytes returns an empty byte slice of capacity n for the caller to
// append to. Appending past n is allowed (the slice then moves to
// ordinary memory); Shrink gives back the capacity left unused.
func (a *Arena) Bytes(n int) []byte {
	if a != nil && n > 0 {
		a.mu.Lock()
		if a.m != nil {
			b := a.m.bytes.take(n)
			a.mu.Unlock()
			return b
		}
		a.mu.Unlock()
	}
	return make([]byte, 0, n)
}

// Shrink gives back the capacity of b beyond its length, when b is the
// last slice Bytes returned and it has not moved; otherwise it does
// nothing. Nothing may be appended to b afterwards (slices of b with
// their capacity cut at their length, as outputs are, are fine).
func (a *Arena) Shrink(b []byte) {
	if a == nil || cap(b) == len(b) {
		return
	}
	a.mu.Lock()
	if a.m != nil {
		a.m.bytes.shrink(b)
	}
	a.mu.Unlock()
}

// Outputs returns n zero Outputs.
func (a *Arena) Outputs(n int) []Output {
	return take(a, n, func(m *arenaMem) *slab[Output] { return &m.outs })
}

// Results returns n zero Results.
func (a *Arena) Results(n int) []Result {
	return take(a, n, func(m *arenaMem) *slab[Result] { return &m.results })
}

func (a *Arena) recordResults(n int) []RecordResult {
	return take(a, n, func(m *arenaMem) *slab[RecordResult] { return &m.records })
}

func (a *Arena) inputs(n int) []Record {
	return take(a, n, func(m *arenaMem) *slab[Record] { return &m.inputs })
}

func (a *Arena) items(n int) []item {
	return take(a, n, func(m *arenaMem) *slab[item] { return &m.items })
}

func (a *Arena) ints(n int) []int {
	return take(a, n, func(m *arenaMem) *slab[int] { return &m.ints })
}

// take returns n zero Ts from the slab which picks, or from the heap.
func take[T any](a *Arena, n int, which func(*arenaMem) *slab[T]) []T {
	if a != nil && n > 0 {
		a.mu.Lock()
		if a.m != nil {
			s := which(a.m).take(n)
			a.mu.Unlock()
			return s
		}
		a.mu.Unlock()
	}
	return make([]T, n)
}

// reset makes the memory ready for the next batch and reports whether it
// is worth keeping.
func (m *arenaMem) reset() bool {
	ok := m.bytes.reset()
	ok = m.outs.reset() && ok
	ok = m.results.reset() && ok
	ok = m.records.reset() && ok
	ok = m.inputs.reset() && ok
	ok = m.ints.reset() && ok
	return m.items.reset() && ok
}

// Slab sizes: the first block, and the most a slab keeps across batches
// (an arena is dropped after a batch larger than that: the next one
// starts small again rather than holding a rare peak).
const (
	minBlockBytes = 64 << 10
	maxKeptBytes  = 64 << 20
	minBlockElems = 256
	maxKeptElems  = 1 << 18
)

// bytesSlab hands out byte slices from blocks. A batch that needs more
// than one block gets, after its reset, one block of the total, so that
// the steady state uses one block and allocates nothing.
type bytesSlab struct {
	cur  []byte // the current block; cur[:off] is handed out
	off  int
	full [][]byte // earlier blocks of this batch
	used int      // bytes handed out this batch, all blocks
	last int      // where the last slice handed out starts (shrink)
}

func (s *bytesSlab) take(n int) []byte {
	if n > len(s.cur)-s.off {
		if s.off > 0 {
			s.full = append(s.full, s.cur[:s.off])
		}
		s.cur, s.off = make([]byte, max(n, 2*len(s.cur), minBlockBytes)), 0
	}
	s.last = s.off
	s.off += n
	s.used += n
	return s.cur[s.last:s.last:s.off]
}

func (s *bytesSlab) shrink(b []byte) {
	if cap(b) == 0 || s.off-s.last != cap(b) || &b[:1][0] != &s.cur[s.last] {
		return
	}
	give := cap(b) - len(b)
	s.off -= give
	s.used -= give
}

func (s *bytesSlab) reset() bool {
	if poison.Load() {
		for _, b := range s.full {
			fill(b)
		}
		fill(s.cur[:s.off])
	}
	if s.used > maxKeptBytes {
		*s = bytesSlab{}
		return false
	}
	if len(s.full) > 0 && s.used > len(s.cur) {
		// Room for the whole batch, with a quarter to spare.
		s.cur = make([]byte, s.used+s.used/4)
	}
	s.full = nil
	s.off, s.used, s.last = 0, 0, 0
	return true
}

func fill(b []byte) {
	for i := range b {
		b[i] = 0xA5
	}
}

// slab hands out zeroed slices of T from blocks, like bytesSlab; what a
// batch used is cleared at its reset (a T may hold pointers).
type slab[T any] struct {
	cur  []T
	off  int
	used int
	full [][]T // earlier blocks of this batch, cleared at reset
}

func (s *slab[T]) take(n int) []T {
	if n > len(s.cur)-s.off {
		if s.off > 0 {
			s.full = append(s.full, s.cur[:s.off])
		}
		s.cur, s.off = make([]T, max(n, 2*len(s.cur), minBlockElems)), 0
	}
	start := s.off
	s.off += n
	s.used += n
	return s.cur[start:s.off:s.off]
}

func (s *slab[T]) reset() bool {
	if s.used > maxKeptElems {
		*s = slab[T]{}
		return false
	}
	clear(s.cur[:s.off])
	if len(s.full) > 0 {
		s.full = nil
		if s.used > len(s.cur) {
			s.cur = make([]T, s.used+s.used/4)
		}
	}
	s.off, s.used = 0, 0
	return true
}

type arenaKey struct{}

// WithArena returns a context carrying a: the stages of a batch run with
// it take their memory from a (see Arena). A nil a returns ctx.
func WithArena(ctx context.Context, a *Arena) context.Context {
	if a == nil {
		return ctx
	}
	return context.WithValue(ctx, arenaKey{}, a)
}

// ArenaFrom returns the arena ctx carries, or nil (whose methods allocate
// ordinary memory).
func ArenaFrom(ctx context.Context) *Arena {
	a, _ := ctx.Value(arenaKey{}).(*Arena)
	return a
}
