package swap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// producer streams uniquely numbered records through process until
// stopped, and checks every output: one per record, made by a good
// version (its tag prefixes the record).
type producer struct {
	good    sync.Map // tag -> true
	seen    sync.Map // record id -> count
	tags    sync.Map // tag -> number of outputs
	sent    atomic.Int64
	errs    chan error
	stop    chan struct{}
	wg      sync.WaitGroup
	process func(ctx context.Context, recs []engine.Record) ([][]string, error)
}

func (p *producer) start(workers, batch int) {
	p.errs = make(chan error, 16)
	p.stop = make(chan struct{})
	for w := 0; w < workers; w++ {
		p.wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-p.stop:
					return
				default:
				}
				recs := make([]engine.Record, batch)
				for i := range recs {
					recs[i] = engine.Record{Data: fmt.Appendf(nil, "r%d-%d-%d", w, n, i)}
				}
				outs, err := p.process(context.Background(), recs)
				if err != nil {
					p.fail(fmt.Errorf("batch %d/%d: %w", w, n, err))
					return
				}
				p.sent.Add(int64(batch))
				for i, o := range outs {
					if len(o) != 1 {
						p.fail(fmt.Errorf("record %s: %d outputs %q", recs[i].Data, len(o), o))
						return
					}
					tag, id, ok := strings.Cut(o[0], "|")
					if !ok || id != string(recs[i].Data) {
						p.fail(fmt.Errorf("record %s: output %q", recs[i].Data, o[0]))
						return
					}
					if _, good := p.good.Load(tag + "|"); !good {
						p.fail(fmt.Errorf("record %s: made by %q, not a good version", id, tag))
						return
					}
					c, _ := p.seen.LoadOrStore(id, new(atomic.Int64))
					c.(*atomic.Int64).Add(1)
					tc, _ := p.tags.LoadOrStore(tag, new(atomic.Int64))
					tc.(*atomic.Int64).Add(1)
				}
			}
		})
	}
}

func (p *producer) fail(err error) {
	select {
	case p.errs <- err:
	default:
	}
}

// finish stops the producer and checks that every record came out once.
func (p *producer) finish(t *testing.T) (distinctTags int) {
	t.Helper()
	close(p.stop)
	p.wg.Wait()
	select {
	case err := <-p.errs:
		t.Fatal(err)
	default:
	}
	var n int64
	p.seen.Range(func(k, v any) bool {
		n++
		if c := v.(*atomic.Int64).Load(); c != 1 {
			t.Errorf("record %s came out %d times", k, c)
		}
		return true
	})
	if n != p.sent.Load() {
		t.Errorf("%d records sent, %d distinct records came out", p.sent.Load(), n)
	}
	p.tags.Range(func(k, v any) bool { distinctTags++; return true })
	t.Logf("%d records, each once, by %d distinct good versions", n, distinctTags)
	return distinctTags
}

func outputsOf(res []engine.Result) ([][]string, error) {
	outs := make([][]string, len(res))
	for i, r := range res {
		if r.Status != engine.StatusOK {
			return nil, fmt.Errorf("record %d: status %s: %v", i, r.Status, r.Err)
		}
		for _, o := range r.Outputs {
			outs[i] = append(outs[i], string(o.Data))
		}
	}
	return outs, nil
}

// TestSwapUnderLoad replaces a module in S3 twelve times, alternating
// good versions with bad ones of every kind, while records stream through
// the stage: every record comes out exactly once, made by a good version.
func TestSwapUnderLoad(t *testing.T) {
	s3f := newFakeS3(t)
	l, _, logs := newLoader(t, source.Options{S3: s3f.client})
	pub, key := mustKey(t)
	_, otherKey := mustKey(t)

	p := &producer{}
	good := func(i int) []byte {
		tag := fmt.Sprintf("v%d|", i)
		p.good.Store(tag, true)
		return tagModule(t, tag, false, "")
	}
	upload := func(wasm []byte, k []byte, meta map[string]string) {
		if meta == nil { // the publisher announces the digest
			meta = map[string]string{"sha256": source.Digest(wasm)}
		}
		s3f.put(t, "tag.wasm.sig", k, nil)
		s3f.put(t, "tag.wasm", wasm, meta)
	}
	v0 := good(0)
	upload(v0, source.Sign(key, v0), nil)

	expect := []string{"v0|probe"}
	sc := engine.StageConfig{Name: "tag", Module: "s3://mods/tag.wasm", Entry: engine.EntryRecord, PublicKey: pub,
		Poll: engine.Duration(10 * time.Millisecond), Instances: 2, MaxModuleBytes: 1 << 20,
		Smoke: []engine.SmokeTest{{Input: "smoke"}}}
	ctx := context.Background()
	st, err := l.Builder(&engine.Config{})(ctx, sc, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	s := st.(*Stage)
	res, err := s.Process(ctx, []engine.Record{{Data: []byte("probe")}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := outputsOf(res); len(got) != 1 || got[0][0] != expect[0] {
		t.Fatalf("first version: %q", got)
	}

	p.process = func(ctx context.Context, recs []engine.Record) ([][]string, error) {
		res, err := s.Process(ctx, recs)
		if err != nil {
			return nil, err
		}
		return outputsOf(res)
	}
	p.start(2, 16)

	notCompiling := append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 64)...)
	steps := []struct {
		name   string
		wasm   []byte
		sig    []byte
		meta   map[string]string
		reason string // "" for a good version
	}{
		{name: "good 1", wasm: good(1)},
		{name: "wrong digest", wasm: tagModule(t, "bad1|", false, ""), meta: map[string]string{"sha256": strings.Repeat("0", 64)}, reason: ReasonDigest},
		{name: "good 2", wasm: good(2)},
		{name: "bad signature", wasm: tagModule(t, "bad2|", false, ""), sig: []byte("other"), reason: ReasonSignature},
		{name: "good 3", wasm: good(3)},
		{name: "not wasm", wasm: []byte("#!/bin/sh\necho hi\n"), reason: ReasonNotWasm},
		{name: "good 4", wasm: good(4)},
		{name: "does not compile", wasm: notCompiling, reason: ReasonCompile},
		{name: "good 5", wasm: good(5)},
		{name: "missing import", wasm: tagModule(t, "bad5|", false, "weir_missing_fn"), reason: ReasonImports},
		{name: "good 6", wasm: good(6)},
		{name: "traps on its smoke test", wasm: tagModule(t, "bad6|", true, ""), reason: ReasonSmoke},
		{name: "good 7", wasm: good(7)},
	}
	for _, step := range steps {
		before := l.Metrics().Snapshot()
		sig := source.Sign(key, step.wasm)
		if step.sig != nil {
			sig = source.Sign(otherKey, step.wasm)
		}
		prev := s.Current()
		upload(step.wasm, sig, step.meta)
		waitFor(t, step.name+" to be handled", 20*time.Second, func() bool {
			now := l.Metrics().Snapshot()
			if step.reason == "" {
				// Its signature, published first, may make the watcher
				// retry a module refused for its signature (refused
				// again) before the module itself lands.
				return now.Swaps > before.Swaps
			}
			return now.Refused[step.reason] > before.Refused[step.reason]
		})
		after := l.Metrics().Snapshot()
		cur := s.Current()
		if step.reason == "" {
			if cur.Digest != source.Digest(step.wasm) {
				t.Fatalf("%s: not swapped in: serving %s", step.name, cur)
			}
			if cur.SourceVersion == "" || cur.SourceVersion == prev.SourceVersion {
				t.Errorf("%s: source version %q (previous %q)", step.name, cur.SourceVersion, prev.SourceVersion)
			}
			continue
		}
		if got := after.Refused[step.reason] - before.Refused[step.reason]; got != 1 {
			t.Fatalf("%s: refused %v, want one more %q (before %v)", step.name, after.Refused, step.reason, before.Refused)
		}
		if cur.Digest != prev.Digest {
			t.Fatalf("%s: the running version changed to %s", step.name, cur)
		}
		time.Sleep(20 * time.Millisecond) // a few polls: the refused version is not retried
	}
	if n := p.finish(t); n < 2 {
		t.Errorf("the producer saw %d versions; want several", n)
	}
	m := l.Metrics().Snapshot()
	// Six refusals, plus one when good 3's signature (published before
	// good 3) made the watcher check the refused bad 2 against it.
	if m.Swaps != 7 || m.RefusedTotal() != 6+m.Refused[ReasonSignature]-1 || m.Refused[ReasonSignature] > 2 {
		t.Errorf("swaps %d, refused %v; want 7 and one of each reason (signature: 1 or 2)", m.Swaps, m.Refused)
	}
	if vi := m.Versions["tag"]; vi.Digest != source.Digest(steps[len(steps)-1].wasm) || vi.Swaps != 7 {
		t.Errorf("version in use %+v", vi)
	}
	if m.Compiles < 8 || m.CompileTime <= 0 {
		t.Errorf("compiles %d in %s", m.Compiles, m.CompileTime)
	}
	for _, want := range []string{"reason=digest", "reason=signature", "reason=not_wasm", "reason=compile", "reason=imports", "env.weir_missing_fn", "reason=smoke"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
	// Errors name the version that ran.
	if mod, dig := s.Describe(); !strings.HasPrefix(mod, "s3://mods/tag.wasm@") || dig != source.Digest(steps[len(steps)-1].wasm) {
		t.Errorf("Describe() = %q, %q", mod, dig)
	}
}

// blockingStage is an engine.Stage whose Process waits for release.
type blockingStage struct {
	tag     string
	started chan struct{}
	release chan struct{}
	closed  atomic.Bool
}

func (b *blockingStage) Process(ctx context.Context, recs []engine.Record) ([]engine.Result, error) {
	if b.closed.Load() {
		return nil, errors.New("used after close")
	}
	if b.started != nil {
		close(b.started)
		<-b.release
	}
	res := make([]engine.Result, len(recs))
	for i, r := range recs {
		res[i] = engine.Result{Outputs: []engine.Output{{Data: append([]byte(b.tag), r.Data...)}}}
	}
	return res, nil
}

func (b *blockingStage) Close(context.Context) error { b.closed.Store(true); return nil }

// TestSwapWaitsForBatchInFlight: a batch in flight finishes on its
// version, which closes when that batch ends, not before.
func TestSwapWaitsForBatchInFlight(t *testing.T) {
	old := &blockingStage{tag: "old|", started: make(chan struct{}), release: make(chan struct{})}
	s := NewStage("s", Version{Ref: "a", Digest: "1"}, old)
	done := make(chan []engine.Result)
	go func() {
		res, _ := s.Process(context.Background(), []engine.Record{{Data: []byte("x")}})
		done <- res
	}()
	<-old.started
	nw := &blockingStage{tag: "new|"}
	if err := s.Swap(Version{Ref: "a", Digest: "2"}, nw); err != nil {
		t.Fatal(err)
	}
	res, err := s.Process(context.Background(), []engine.Record{{Data: []byte("y")}})
	if err != nil || string(res[0].Outputs[0].Data) != "new|y" {
		t.Fatalf("after swap: %v %v", res, err)
	}
	if old.closed.Load() {
		t.Fatal("the old version closed while a batch ran on it")
	}
	close(old.release)
	if res := <-done; string(res[0].Outputs[0].Data) != "old|x" {
		t.Fatalf("batch in flight: %q", res[0].Outputs[0].Data)
	}
	if !old.closed.Load() {
		t.Fatal("the old version was not closed after its last batch")
	}
	if err := s.Close(context.Background()); err != nil || !nw.closed.Load() {
		t.Fatalf("close: %v, closed %v", err, nw.closed.Load())
	}
	if _, err := s.Process(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
