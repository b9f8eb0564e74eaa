package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
)

func TestPassthrough(t *testing.T) {
	h, _ := newHost(t)
	wasm := wat(t, "passthrough")
	in := []string{`{"a":1}`, "not json at all", "", "x", strings.Repeat("y", 5000), "é\x00\xff"}
	for _, tc := range []struct {
		entry     string
		instances int
		wantMode  callMode
	}{
		{"", 1, modeFast},
		{engine.EntryAuto, 3, modeFast},
		{engine.EntryFast, 2, modeFast},
		{engine.EntryBatch, 1, modeBatch},
		{engine.EntryBatch, 4, modeBatch},
		{engine.EntryAuto, 10, modeFast}, // more instances than records
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.entry, tc.instances), func(t *testing.T) {
			s := load(t, h, "passthrough", wasm, engine.StageConfig{Entry: tc.entry, Instances: tc.instances})
			if s.mode != tc.wantMode {
				t.Fatalf("mode %v, want %v", s.mode, tc.wantMode)
			}
			for range 3 {
				res, err := s.Process(context.Background(), records(in...))
				if err != nil {
					t.Fatal(err)
				}
				got := summary(res)
				for i, d := range in {
					if d == "" {
						// An empty raw output is still an output.
						if got[i] != "ok:" {
							t.Errorf("record %d: %q", i, got[i])
						}
						continue
					}
					if got[i] != "ok:"+d {
						t.Errorf("record %d: got %q, want %q", i, got[i], "ok:"+d)
					}
				}
			}
			if n := s.created.Load(); n > int64(tc.instances) {
				t.Errorf("%d instances made, pool size %d", n, tc.instances)
			}
		})
	}
}

func TestEmptyBatch(t *testing.T) {
	h, _ := newHost(t)
	s := load(t, h, "passthrough", wat(t, "passthrough"), engine.StageConfig{})
	for _, recs := range [][]engine.Record{nil, {}} {
		res, err := s.Process(context.Background(), recs)
		if err != nil || res == nil || len(res) != 0 {
			t.Fatalf("Process(%v) = %v, %v; want an empty slice", recs, res, err)
		}
	}
	if n, c := s.created.Load(), s.calls.Load(); n != 0 || c != 0 {
		t.Errorf("an empty batch made %d instances and %d calls", n, c)
	}
}

// TestContainment runs hostile modules: each failure fails its batch only,
// names the module and digest, discards the instance, and the next batch
// runs normally.
func TestContainment(t *testing.T) {
	h, _ := newHost(t)
	wasm := wat(t, "passthrough")
	type tc struct {
		name    string
		entry   string
		data    string
		limits  engine.Limits
		want    error
		wantMsg string
		keep    bool // the instance survives (a controlled failure)
	}
	cases := []tc{
		{"loop", engine.EntryFast, "!L", engine.Limits{Timeout: engine.Duration(200 * time.Millisecond)}, ErrTimeout, "batch call timed out after 200ms", false},
		{"loop/batch", engine.EntryBatch, "!L", engine.Limits{Timeout: engine.Duration(200 * time.Millisecond)}, ErrTimeout, "batch call timed out after 200ms", false},
		{"memory bomb", engine.EntryFast, "!G", engine.Limits{MemoryPages: 8}, ErrTrap, "memory at its limit of 8 pages", false},
		{"unreachable", engine.EntryFast, "!U", engine.Limits{}, ErrTrap, "unreachable", false},
		{"unreachable/batch", engine.EntryBatch, "!U", engine.Limits{}, ErrTrap, "unreachable", false},
		{"out of bounds", engine.EntryFast, "!O", engine.Limits{}, ErrTrap, "out of bounds memory access", false},
		{"stack overflow", engine.EntryFast, "!S", engine.Limits{}, ErrTrap, "stack overflow", false},
		{"bad pointer", engine.EntryFast, "!P", engine.Limits{}, ErrBadOutput, "outside the module's", false},
		{"corrupt frame", engine.EntryFast, "!C", engine.Limits{}, frame.ErrFrame, "bad magic", false},
		{"wrong count", engine.EntryFast, "!N", engine.Limits{}, ErrBadOutput, "returned 2 outcomes for 1 records", false},
		{"too big", engine.EntryFast, "!B", engine.Limits{MaxOutputBytes: 1000}, ErrOutputTooLarge, "40000 bytes (max 1000)", false},
		{"too big/batch", engine.EntryBatch, "!B", engine.Limits{MaxOutputBytes: 1000}, ErrOutputTooLarge, "40000-byte output (max 1000)", false},
		{"no frame", engine.EntryFast, "!Z", engine.Limits{}, ErrBadOutput, "returned 0", false},
		{"error frame", engine.EntryFast, "!E", engine.Limits{}, ErrModuleFailed, "boom", true},
		{"error frame/batch", engine.EntryBatch, "!E", engine.Limits{}, ErrModuleFailed, "boom", true},
		{"weir_batch fails", engine.EntryBatch, "!Z", engine.Limits{}, ErrModuleFailed, "weir_batch returned 1", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, h, "passthrough", wasm, engine.StageConfig{Entry: c.entry, Limits: c.limits, Instances: 1})
			ctx := context.Background()
			if _, err := s.Process(ctx, records("warm-up")); err != nil {
				t.Fatal(err)
			}
			before := s.created.Load()
			start := time.Now()
			res, err := s.Process(ctx, records(c.data))
			if err == nil {
				t.Fatalf("hostile batch succeeded: %v", summary(res))
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %v does not match %v", err, c.want)
			}
			var me *ModuleError
			if !errors.As(err, &me) || me.Digest != s.cm.digest {
				t.Errorf("error %v is not a *ModuleError with the digest", err)
			}
			prefix := fmt.Sprintf("host: module %q (sha256:%s): ", "passthrough", s.cm.digest[:12])
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, c.wantMsg) {
				t.Errorf("error %q, want prefix %q and %q", msg, prefix, c.wantMsg)
			}
			if c.want == ErrTimeout && time.Since(start) > 2*time.Second {
				t.Errorf("the timeout took %v", time.Since(start))
			}
			res, err = s.Process(ctx, records("next", "batch"))
			if err != nil {
				t.Fatalf("the next batch failed: %v", err)
			}
			if got := summary(res); !slices.Equal(got, []string{"ok:next", "ok:batch"}) {
				t.Errorf("next batch: %v", got)
			}
			made := s.created.Load() - before
			if c.keep && made != 0 || !c.keep && made != 1 {
				t.Errorf("%d instances made after the failure (keep=%v)", made, c.keep)
			}
		})
	}
}

func TestHighWaterDiscard(t *testing.T) {
	h, logs := newHost(t)
	s := load(t, h, "passthrough", wat(t, "passthrough"), engine.StageConfig{Instances: 1, Limits: engine.Limits{MemoryPages: 8}})
	ctx := context.Background()
	// weir_alloc grows the memory to 64 KiB + twice the frame: 7 of 8
	// pages, past the 75% mark.
	big := strings.Repeat("z", 200_000)
	for range 2 {
		res, err := s.Process(ctx, records(big))
		if err != nil {
			t.Fatal(err)
		}
		if len(res[0].Outputs) != 1 || len(res[0].Outputs[0].Data) != len(big) {
			t.Fatal("wrong output")
		}
	}
	if n := s.created.Load(); n != 2 {
		t.Errorf("%d instances made, want 2 (the first discarded at its high-water mark)", n)
	}
	if !strings.Contains(logs.String(), "high-water mark") {
		t.Errorf("no discard log:\n%s", logs)
	}
}

func TestPoolReuse(t *testing.T) {
	h, _ := newHost(t)
	s := load(t, h, "passthrough", wat(t, "passthrough"), engine.StageConfig{Instances: 1})
	ctx := context.Background()
	for range 3 {
		if _, err := s.Process(ctx, records("a", "b", "c")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.created.Load(); n != 1 {
		t.Fatalf("%d instances made for 3 batches, want 1", n)
	}
	inst := s.pool.idle[0]
	if got := inst.mod.ExportedGlobal("init_count").Get(); got != 1 {
		t.Errorf("_initialize ran %d times on the pooled instance, want 1", got)
	}
}

func TestConcurrentBatches(t *testing.T) {
	h, _ := newHost(t)
	s := load(t, h, "passthrough", wat(t, "passthrough"), engine.StageConfig{Instances: 3})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				in := make([]string, 1+(g+i)%7)
				for j := range in {
					in[j] = fmt.Sprintf("g%d-b%d-r%d", g, i, j)
				}
				res, err := s.Process(context.Background(), records(in...))
				if err != nil {
					t.Error(err)
					return
				}
				for j, r := range summary(res) {
					if r != "ok:"+in[j] {
						t.Errorf("got %q, want %q", r, "ok:"+in[j])
					}
				}
			}
		})
	}
	wg.Wait()
	if n := s.created.Load(); n > 3 {
		t.Errorf("%d instances made, pool size 3", n)
	}
}

func TestCompileOncePerDigest(t *testing.T) {
	h, _ := newHost(t)
	ctx := context.Background()
	wasm := wat(t, "passthrough")
	a := load(t, h, "a", wasm, engine.StageConfig{})
	b := load(t, h, "b", wasm, engine.StageConfig{Entry: engine.EntryBatch})
	if n := h.compiles.Load(); n != 1 {
		t.Fatalf("%d compilations for two stages of one module, want 1", n)
	}
	if a.cm != b.cm {
		t.Error("the stages do not share the compiled module")
	}
	// Another memory limit needs its own runtime.
	load(t, h, "c", wasm, engine.StageConfig{Limits: engine.Limits{MemoryPages: 16}})
	if n := h.compiles.Load(); n != 2 {
		t.Fatalf("%d compilations, want 2", n)
	}
	for _, s := range []*stage{a, b} {
		if _, err := s.Process(ctx, records("x")); err != nil {
			t.Fatal(err)
		}
	}
	// Releasing every stage releases the module.
	a.Close(ctx)
	if _, err := b.Process(ctx, records("x")); err != nil {
		t.Fatalf("closing a stage broke another: %v", err)
	}
	b.Close(ctx)
	h.mu.Lock()
	n := len(h.modules)
	h.mu.Unlock()
	if n != 1 {
		t.Errorf("%d compiled modules kept, want 1 (stage c)", n)
	}
	if _, err := a.Process(ctx, records("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Process after Close: %v", err)
	}
}

func TestConcurrentCompile(t *testing.T) {
	h, _ := newHost(t)
	wasm := wat(t, "record")
	var wg sync.WaitGroup
	stages := make([]engine.Stage, 6)
	for i := range stages {
		wg.Go(func() {
			s, err := h.LoadModule(context.Background(), "r", wasm, engine.StageConfig{})
			if err != nil {
				t.Error(err)
				return
			}
			stages[i] = s
		})
	}
	wg.Wait()
	if n := h.compiles.Load(); n != 1 {
		t.Errorf("%d compilations for 6 concurrent loads, want 1", n)
	}
	for _, s := range stages {
		if s != nil {
			s.Close(context.Background())
		}
	}
}

func TestRecordMode(t *testing.T) {
	h, logs := newHost(t)
	s := load(t, h, "record", wat(t, "record"), engine.StageConfig{
		Instances: 1,
		Config:    map[string]string{"greeting": "hi there"},
	})
	if s.mode != modeRecord {
		t.Fatalf("mode %v", s.mode)
	}
	ctx := context.Background()
	in := []string{"hello", "!f", "!r", "!d", "", "!c", "!lx", "!v", "!v", "MiXeD 123"}
	want := []string{"ok:HELLO", "failed:record failed on purpose", "failed:transform returned 3", "dropped", "dropped",
		"ok:hi there", "ok:!LX", "ok:1", "ok:2", "ok:MIXED 123"}
	res, err := s.Process(ctx, records(in...))
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(res); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if l := logs.String(); !strings.Contains(l, `msg="hello from wat" module=record`) {
		t.Errorf("module log missing:\n%s", l)
	}
	// Vars live as long as the instance.
	res, err = s.Process(ctx, records("!v"))
	if err != nil || summary(res)[0] != "ok:3" {
		t.Errorf("var counter: %v %v", summary(res), err)
	}
	// A kernel misuse fails the batch with a clear error; the next batch runs.
	_, err = s.Process(ctx, records("a", "!o"))
	if !errors.Is(err, ErrKernel) || !strings.Contains(err.Error(), "load_u8 at offset 140737488355327 is outside kernel memory") {
		t.Errorf("kernel misuse: %v", err)
	}
	res, err = s.Process(ctx, records("after"))
	if err != nil || summary(res)[0] != "ok:AFTER" {
		t.Errorf("after a kernel fault: %v %v", summary(res), err)
	}
	// A clean WASI exit ends the instance but not the record (as in go-sdk);
	// the rest of the batch runs on a fresh instance.
	before := s.created.Load()
	res, err = s.Process(ctx, records("!x", "then", "!x", "more"))
	if got := summary(res); err != nil || !slices.Equal(got, []string{"ok:bye", "ok:THEN", "ok:bye", "ok:MORE"}) {
		t.Errorf("clean exits: %q %v", got, err)
	}
	if n := s.created.Load() - before; n != 2 {
		t.Errorf("%d instances made after 2 clean exits, want 2", n)
	}
	_, err = s.Process(ctx, records("!X"))
	if !errors.Is(err, ErrExit) || !strings.Contains(err.Error(), "module exited with code 3 during transform") {
		t.Errorf("exit 3: %v", err)
	}
	// Record mode caps the batch's total output.
	s2 := load(t, h, "record", wat(t, "record"), engine.StageConfig{Limits: engine.Limits{MaxOutputBytes: 10}})
	if _, err := s2.Process(ctx, records("0123456", "789abcd")); !errors.Is(err, ErrOutputTooLarge) {
		t.Errorf("output cap: %v", err)
	}
}

func TestViews(t *testing.T) {
	h, _ := newHost(t)
	s := load(t, h, "views", wat(t, "views"), engine.StageConfig{Instances: 2})
	if !slices.Equal(s.cm.paths, []string{"user.name"}) {
		t.Fatalf("manifest paths %q", s.cm.paths)
	}
	ctx := context.Background()
	in := []string{
		`{"user":{"name":"alice"},"n":1}`,
		`not json`,
		`{"x":1}`,
		`{"user":{"name":"b\"ob\u00e9"}}`,
		`{"user":{"name":"carol"}`,
		`[1,2]`,
		// JSON to encoding/json, but nested deeper than the host parses
		// (frame.MaxDepth, fastjson's limit).
		`{"a":` + strings.Repeat("[", frame.MaxDepth) + strings.Repeat("]", frame.MaxDepth) + `}`,
	}
	want := []string{
		`ok:{"user":{"name":"alice"},"n":1,"name_seen":"alice"}`,
		"failed:invalid JSON at byte offset 1: invalid character 'o' in literal null (expecting 'u')",
		"dropped",
		`ok:{"user":{"name":"b\"obé"},"name_seen":"b\"obé"}`,
		"failed:invalid JSON at byte offset 24: unexpected end of JSON input",
		"dropped",
		"failed:invalid JSON: byte offset 304: values nest more than 300 deep",
	}
	res, err := s.Process(ctx, records(in...))
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(res); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// A batch of records that are all invalid never reaches the module.
	before := s.calls.Load()
	res, err = s.Process(ctx, records("{", "nope"))
	if err != nil || res[0].Status != engine.StatusFailed || res[1].Status != engine.StatusFailed {
		t.Fatalf("%v %v", summary(res), err)
	}
	if n := s.calls.Load() - before; n != 0 {
		t.Errorf("%d module calls for a batch of invalid records", n)
	}
}

func TestGoPDKModule(t *testing.T) {
	wasm := goPDKModule(t)
	h, _ := newHost(t)
	s := load(t, h, "gopdk-upper", wasm, engine.StageConfig{Instances: 2})
	if s.mode != modeRecord || !s.cm.info.Reactor {
		t.Fatalf("mode %v, reactor %v", s.mode, s.cm.info.Reactor)
	}
	ctx := context.Background()
	in := []string{"hello", "wörld", "", strings.Repeat("abc", 1000)}
	res, err := s.Process(ctx, records(in...))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ok:HELLO", "ok:WÖRLD", "dropped", "ok:" + strings.Repeat("ABC", 1000)}
	if got := summary(res); !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
	// A Go panic fails the batch and names the panic.
	_, err = s.Process(ctx, records("panic"))
	if !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "panic: gopdk-upper: asked to panic") {
		t.Errorf("panic: %v", err)
	}
	res, err = s.Process(ctx, records("again"))
	if err != nil || summary(res)[0] != "ok:AGAIN" {
		t.Errorf("after a panic: %v %v", summary(res), err)
	}
}

func TestNewStage(t *testing.T) {
	h, _ := newHost(t)
	dir := t.TempDir()
	wasm := wat(t, "passthrough")
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pt.wasm", wasm)
	write("empty.wasm", nil)
	write("text.wasm", []byte("hello, this is not wasm"))
	write("bad.wasm", []byte("\x00asm\x01\x00\x00\x00garbage"))
	write("badimport.wasm", wat(t, "badimport"))
	write("record.wasm", wat(t, "record"))
	digest := mustInspect(t, wasm).Digest
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		sc      engine.StageConfig
		base    string
		want    error
		wantMsg string
	}{
		{"relative path", engine.StageConfig{Module: "pt.wasm"}, dir, nil, ""},
		{"absolute path", engine.StageConfig{Module: filepath.Join(dir, "pt.wasm")}, "/elsewhere", nil, ""},
		{"file URI", engine.StageConfig{Module: "file://" + filepath.Join(dir, "pt.wasm")}, "", nil, ""},
		{"relative file URI", engine.StageConfig{Module: "file://pt.wasm"}, dir, nil, ""},
		{"pin", engine.StageConfig{Module: "pt.wasm", SHA256: "sha256:" + strings.ToUpper(digest)}, dir, nil, ""},
		{"pin mismatch", engine.StageConfig{Module: "pt.wasm", SHA256: strings.Repeat("ab", 32)}, dir, ErrDigestMismatch, "pins sha256:abab"},
		{"empty file", engine.StageConfig{Module: "empty.wasm"}, dir, ErrInvalidModule, "the module is empty (0 bytes)"},
		{"not wasm", engine.StageConfig{Module: "text.wasm"}, dir, ErrInvalidModule, `not a WebAssembly binary (starts with "hello, t"`},
		{"corrupt wasm", engine.StageConfig{Module: "bad.wasm"}, dir, ErrInvalidModule, "invalid module"},
		{"missing", engine.StageConfig{Module: "nope.wasm"}, dir, os.ErrNotExist, "no such file"},
		{"s3", engine.StageConfig{Module: "s3://bucket/m.wasm"}, dir, ErrUnsupportedSource, "s3://"},
		{"appconfig", engine.StageConfig{Module: "appconfig://a/e/p"}, dir, ErrUnsupportedSource, "not supported yet"},
		{"bad imports", engine.StageConfig{Module: "badimport.wasm"}, dir, ErrInvalidModule,
			"extism:host/user.lookup (not provided by this host); env.abort (this host has no module \"env\"); extism:host/env.alloc has type func(i32) -> i32, the host's has func(i64) -> i64"},
		{"unknown entry", engine.StageConfig{Module: "pt.wasm", Entry: "turbo"}, dir, nil, `unknown entry "turbo"`},
		{"fast on a plugin", engine.StageConfig{Module: "record.wasm", Entry: engine.EntryFast}, dir, ErrInvalidModule, "needs exports weir_abi_version"},
		{"missing function", engine.StageConfig{Module: "record.wasm", Function: "nope"}, dir, ErrInvalidModule, `nor "nope" (record mode)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := h.NewStage(ctx, tc.sc, tc.base)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close(ctx)
				mod, d := s.(engine.Describer).Describe()
				if mod != tc.sc.Module || d != digest {
					t.Errorf("Describe() = %q, %q", mod, d)
				}
				res, err := s.Process(ctx, records("x"))
				if err != nil || summary(res)[0] != "ok:x" {
					t.Errorf("%v %v", summary(res), err)
				}
				return
			}
			if err == nil {
				s.Close(ctx)
				t.Fatal("NewStage succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v does not match %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "host: ") || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	h, _ := newHost(t)
	s := load(t, h, "passthrough", wat(t, "passthrough"), engine.StageConfig{Instances: 1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := s.Process(ctx, records("!L"))
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled batch: %v", err)
	}
	if _, err := s.Process(context.Background(), records("ok")); err != nil {
		t.Error(err)
	}
}

func TestHostClose(t *testing.T) {
	ctx := context.Background()
	h, err := New(ctx, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.LoadModule(ctx, "pt", wat(t, "passthrough"), engine.StageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Process(ctx, records("x")); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LoadModule(ctx, "pt", wat(t, "passthrough"), engine.StageConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("LoadModule after Close: %v", err)
	}
	if _, err := s.Process(ctx, records("x")); err == nil {
		t.Error("a stage of a closed host still runs")
	}
	if err := s.Close(ctx); err != nil {
		t.Error(err)
	}
}

func mustInspect(t *testing.T, wasm []byte) *ModuleInfo {
	t.Helper()
	info, err := Inspect(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestChunkedCalls: a batch reaches a module that makes no lookups in
// calls of at most chunkRecords records (or chunkBytes bytes), in order,
// and a module that imports an enrichment host function in one call.
func TestChunkedCalls(t *testing.T) {
	big := strings.Repeat("x", chunkBytes/3+1) // two per call
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("record-%d", i)
	}
	h, _ := newHost(t)
	for _, tc := range []struct {
		name      string
		wasm      []byte
		data      []string
		wantCalls int64
	}{
		{"no lookups, 100 small records", wat(t, "passthrough"), many, (100 + int64(chunkRecords) - 1) / int64(chunkRecords)},
		{"no lookups, 7 records of over a third of chunkBytes", wat(t, "passthrough"), []string{big, big, big, big, big, big, big}, 4},
		{"lookups, 100 small records", lookupsPassthrough(t), many, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, h, "m", tc.wasm, engine.StageConfig{Entry: engine.EntryFast, Instances: 1})
			res, err := s.Process(context.Background(), records(tc.data...))
			if err != nil {
				t.Fatal(err)
			}
			for i, got := range summary(res) {
				if want := "ok:" + tc.data[i]; got != want {
					t.Fatalf("record %d: %.40q, want %.40q", i, got, want)
				}
			}
			if n := s.calls.Load(); n != tc.wantCalls {
				t.Errorf("%d calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestPieces: Process cuts a batch into contiguous pieces of at most
// ceil(n/(2*instances)) records (n for one instance) and 1/16 of the memory limit in bytes (a lone
// larger record is a piece of its own), one call each, and the results
// keep the records' order; the instances' memory stays low, so none is
// discarded at its high-water mark.
func TestPieces(t *testing.T) {
	h, logs := newHost(t)
	for _, tc := range []struct {
		name      string
		instances int
		sizes     []int
		want      [][2]int
	}{
		// 1 MiB of memory: pieces of at most 64 KiB.
		{"bytes bound", 1, []int{20 << 10, 20 << 10, 20 << 10, 20 << 10, 20 << 10, 20 << 10, 20 << 10}, [][2]int{{0, 3}, {3, 6}, {6, 7}}},
		{"records bound", 2, []int{10, 10, 10, 10, 10}, [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{"large record alone", 4, []int{10, 100 << 10, 10, 10}, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}}},
		{"both", 2, []int{30 << 10, 30 << 10, 30 << 10, 10, 10, 10}, [][2]int{{0, 2}, {2, 4}, {4, 6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, h, "passthrough", wat(t, "passthrough"), engine.StageConfig{Instances: tc.instances, Limits: engine.Limits{MemoryPages: 16}})
			in := make([]string, len(tc.sizes))
			for i, n := range tc.sizes {
				in[i] = fmt.Sprintf("%d", i) + strings.Repeat("p", n-1)
			}
			if got := s.pieces(records(in...)); !slices.Equal(got, tc.want) {
				t.Fatalf("pieces %v, want %v", got, tc.want)
			}
			for range 3 {
				res, err := s.Process(context.Background(), records(in...))
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range res {
					if r.Status != engine.StatusOK || len(r.Outputs) != 1 || string(r.Outputs[0].Data) != in[i] {
						t.Fatalf("record %d: %.40q, want its input back in place", i, summary(res)[i])
					}
				}
			}
			if n := s.calls.Load(); n != int64(3*len(tc.want)) {
				t.Errorf("%d calls for 3 batches of %d pieces", n, len(tc.want))
			}
			if n := s.created.Load(); n > int64(tc.instances) {
				t.Errorf("%d instances made, want at most %d (none discarded)", n, tc.instances)
			}
		})
	}
	if strings.Contains(logs.String(), "high-water mark") {
		t.Errorf("an instance was discarded:\n%s", logs)
	}
}
