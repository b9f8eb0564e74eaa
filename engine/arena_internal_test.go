package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestArenaMemReuse: after a reset, the next batch gets the same memory
// (the point of the arena), zeroed where it holds pointers; a batch that
// needed several blocks gets one block of the total next time.
func TestArenaMemReuse(t *testing.T) {
	m := new(arenaMem)
	b1 := m.bytes.take(100)
	o1 := m.outs.take(3)
	o1[0] = Output{Route: "r", Data: b1}
	if !m.reset() {
		t.Fatal("a small batch's memory is not kept")
	}
	b2 := m.bytes.take(100)
	o2 := m.outs.take(3)
	if &b2[:1][0] != &b1[:1][0] || &o2[0] != &o1[0] {
		t.Error("the second batch did not reuse the first's memory")
	}
	if o2[0].Route != "" || o2[0].Data != nil {
		t.Errorf("reused Output not cleared: %+v", o2[0])
	}
	// Grow past one block: the next batch gets one block for all of it.
	for range 3 {
		m.bytes.take(minBlockBytes)
		m.outs.take(minBlockElems)
	}
	used, usedOuts := m.bytes.used, m.outs.used
	if len(m.bytes.full) == 0 || len(m.outs.full) == 0 {
		t.Fatal("the slabs did not add blocks")
	}
	m.reset()
	if len(m.bytes.cur) < used || len(m.outs.cur) < usedOuts || m.bytes.full != nil || m.outs.full != nil {
		t.Errorf("after a batch of %d bytes and %d outputs, one block of %d and %d (earlier blocks %d, %d)",
			used, usedOuts, len(m.bytes.cur), len(m.outs.cur), len(m.bytes.full), len(m.outs.full))
	}
	// A batch over the limit is not kept.
	m.bytes.take(maxKeptBytes + 1)
	if m.reset() {
		t.Error("a huge batch's memory is kept")
	}
}

// TestArenaShrink: Shrink gives back the unused capacity of the last
// slice only, and never of a slice that moved out of the arena.
func TestArenaShrink(t *testing.T) {
	a := NewArena()
	defer a.Release()
	b := a.Bytes(100)
	b = append(b, "abc"...)
	a.Shrink(b)
	c := a.Bytes(10)
	if &c[:1][0] != &b[:4][3] {
		t.Error("the capacity b left was not handed out next")
	}
	off := a.m.bytes.off
	a.Shrink(b) // not the last slice: no effect
	if a.m.bytes.off != off {
		t.Error("shrinking an older slice gave its room again")
	}
	e := a.Bytes(4)
	e = append(e, "12345"...) // moved to the heap
	before := a.m.bytes.off
	a.Shrink(e)
	if a.m.bytes.off != before {
		t.Error("shrinking a slice that moved changed the arena")
	}
}

// TestArenaHandles: a handle released twice, or released after its
// memory went to another batch, leaves the other batch alone; a tainted
// arena's memory is not reused.
func TestArenaHandles(t *testing.T) {
	a1 := NewArena()
	a1.Release()
	a2 := NewArena()
	a1.Release()
	if a2.m == nil {
		t.Fatal("releasing a stale handle released another batch's arena")
	}
	a2.Release()
	a2.Release()
	var nilArena *Arena
	if b := nilArena.Bytes(8); cap(b) != 8 || len(b) != 0 {
		t.Errorf("nil arena Bytes: len %d cap %d", len(b), cap(b))
	}
	if o := a2.Outputs(2); len(o) != 2 {
		t.Errorf("released arena Outputs: %d", len(o))
	}
	a3 := NewArena()
	m := a3.m
	a3.Bytes(10)
	a3.Taint()
	a3.Release()
	if m.bytes.off != 10 {
		t.Error("a tainted arena's memory was reset for reuse")
	}
}

// TestArenaConcurrent: slices taken at once by several goroutines never
// overlap (run with -race).
func TestArenaConcurrent(t *testing.T) {
	a := NewArena()
	defer a.Release()
	const workers, rounds = 8, 200
	got := make([][][]byte, workers)
	outs := make([][][]Output, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				b := a.Bytes(64 + r%7)
				for range 64 + r%7 {
					b = append(b, byte(w))
				}
				a.Shrink(b[:len(b)-r%3])
				got[w] = append(got[w], b[:len(b)-r%3])
				o := a.Outputs(2)
				o[0].Route, o[1].Data = "w", b[:1]
				outs[w] = append(outs[w], o)
				rs := a.Results(1)
				rs[0].Status = StatusDropped
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for r, b := range got[w] {
			for _, c := range b {
				if c != byte(w) {
					t.Fatalf("worker %d round %d: byte %d written by another", w, r, c)
				}
			}
			if o := outs[w][r]; o[0].Route != "w" || o[1].Data[0] != byte(w) {
				t.Fatalf("worker %d round %d: outputs %+v", w, r, o)
			}
		}
	}
}

// failingStage fails every batch as a whole, after taking memory from
// the batch's arena.
type failingStage struct{}

func (failingStage) Process(ctx context.Context, recs []Record) ([]Result, error) {
	ArenaFrom(ctx).Bytes(100)
	return nil, errors.New("module trapped")
}

func (failingStage) Close(context.Context) error { return nil }

// TestArenaTaintedByBatchError: a stage's batch error (which may leave
// an abandoned module call running) taints the batch's arena, so its
// memory is never reused; the records fail as usual.
func TestArenaTaintedByBatchError(t *testing.T) {
	ctx := context.Background()
	p, err := NewPipeline(ctx, &Config{Version: 1, Stages: []StageConfig{{Module: "f", OnError: OnErrorDrop}}},
		func(context.Context, StageConfig, string) (Stage, error) { return failingStage{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	a := NewArena()
	m := a.m
	res, err := p.Run(WithArena(ctx, a), []Record{{Data: []byte("x")}})
	if err != nil || res.Dropped != 1 {
		t.Fatalf("run: %v, %+v", err, res)
	}
	if !a.tainted {
		t.Fatal("a batch error did not taint the arena")
	}
	a.Release()
	if m.bytes.used == 0 {
		t.Error("the tainted arena's memory was reset for reuse")
	}
}
