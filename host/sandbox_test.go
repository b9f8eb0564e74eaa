package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/hosttest"
)

// opsWAT is a fast-path module that answers every record with one
// OutputOps output whose operation list is {{.Ops}} (a data segment),
// left to the host to apply: a hostile module's cheapest way to make the
// host do work.
var opsWAT = template.Must(template.New("ops").Parse(`(module
  (memory (export "memory") 64)
  (data (i32.const 1024) "{{.Ops}}")
  (func (export "weir_abi_version") (result i32) (i32.const 1))
  ;; input at 4 MiB, the output frame after it; grow to fit both.
  (func (export "weir_alloc") (param $size i32) (result i32)
    (local $need i32) (local $have i32)
    (local.set $need (i32.add (i32.const 0x400000) (i32.add (i32.shl (local.get $size) (i32.const 1)) (i32.const 0x400000))))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $need) (local.get $have)) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 0x400000))
  (func (export "weir_transform") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $i i32) (local $out i32) (local $o i32)
    (local.set $n (i32.load offset=8 (local.get $ptr)))
    (local.set $out (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (i32.store (local.get $out) (i32.const 0x52494557))
    (i32.store8 offset=4 (local.get $out) (i32.const 2))
    (i32.store8 offset=5 (local.get $out) (i32.const 1))
    (i32.store16 offset=6 (local.get $out) (i32.const 0))
    (i32.store offset=8 (local.get $out) (local.get $n))
    (i32.store offset=12 (local.get $out) (i32.const 0))
    (local.set $o (i32.add (local.get $out) (i32.const 16)))
    (block $done (loop $rec
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (local.get $o) (i32.const 0))
      (i32.store offset=1 (local.get $o) (i32.const 1))
      (i32.store8 offset=5 (local.get $o) (i32.const 1))
      (i32.store offset=6 (local.get $o) (i32.const 0))
      (i32.store offset=10 (local.get $o) (i32.const {{.Len}}))
      (memory.copy (i32.add (local.get $o) (i32.const 14)) (i32.const 1024) (i32.const {{.Len}}))
      (local.set $o (i32.add (local.get $o) (i32.const {{.Size}})))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rec)))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $o) (local.get $out)))))
)
`))

// opsModule assembles opsWAT for an operation list.
func opsModule(t *testing.T, ops []byte) []byte {
	t.Helper()
	var lit strings.Builder
	for _, c := range ops {
		fmt.Fprintf(&lit, `\%02x`, c)
	}
	return templateModule(t, opsWAT, "ops", map[string]any{"Ops": lit.String(), "Len": len(ops), "Size": 14 + len(ops)})
}

// templateModule executes tmpl with data into name.wat and assembles it.
func templateModule(t *testing.T, tmpl *template.Template, name string, data any) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".wat")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	err = tmpl.Execute(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return readWasm(t, hosttest.WAT(t, p))
}

// TestAppliedOpsBounded: a module's operation lists are bounded by the
// batch's max_output_bytes as they are applied, and applying them stops at
// the batch deadline. Without the bound, 2000 set_original ops (14 KB)
// over a 50 KB record built a 100 MB document; without the deadline
// check, 5000 sha256 ops over a 1 MB record ran for seconds past a 300ms
// timeout.
func TestAppliedOpsBounded(t *testing.T) {
	h, _ := newHost(t)
	big := `{"s":"` + strings.Repeat("x", 50_000) + `"}`
	var amplify frame.Ops
	for i := range 2000 {
		amplify.SetOriginal(strconv.Itoa(i))
	}
	var nuls frame.Ops
	nuls.SetStringBytes("z", make([]byte, 200_000))
	var copies frame.Ops
	for i := range 2000 {
		copies.Copy(strconv.Itoa(i), "s")
	}
	for _, tc := range []struct {
		name string
		ops  []byte
		recs []string
		next string // a record the stage then transforms
	}{
		{"set_original x2000", amplify.B, []string{`{"small":1}`, big}, `{"s":"x"}`},
		{"200 KB of NUL bytes escape to 1.2 MB", nuls.B, []string{`{}`}, ""},
		{"copy x2000", copies.B, []string{big}, `{"s":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, h, "amplify", opsModule(t, tc.ops), engine.StageConfig{Instances: 1, Limits: engine.Limits{MaxOutputBytes: 1 << 20}})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err := s.Process(context.Background(), records(tc.recs...))
			runtime.ReadMemStats(&after)
			if err == nil {
				n := 0
				for _, r := range res {
					for _, o := range r.Outputs {
						n += len(o.Data)
					}
				}
				t.Fatalf("the batch succeeded with %d bytes of applied documents (max_output_bytes %d)", n, 1<<20)
			}
			last := len(tc.recs) - 1
			want := fmt.Sprintf("record %d, output 0: its %d-byte operation list builds a document that takes the batch past 1048576 bytes", last, len(tc.ops))
			if !errors.Is(err, ErrOutputTooLarge) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want ErrOutputTooLarge and %q", err, want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 { // 500+ MB before the fix; -race adds a few
				t.Errorf("the refused batch allocated %d MB", alloc>>20)
			}
			if tc.next == "" {
				return
			}
			// The stage keeps serving records whose documents fit.
			if res, err := s.Process(context.Background(), records(tc.next)); err != nil || res[0].Status != engine.StatusOK || len(res[0].Outputs[0].Data) < 2000*5 {
				t.Errorf("the next batch: %v %v", err, len(res))
			}
		})
	}

	// Applying respects the batch deadline.
	var slow frame.Ops
	for range 5000 {
		slow.SetDigest("h", frame.DigestSHA256)
	}
	s := load(t, h, "slow", opsModule(t, slow.B), engine.StageConfig{Instances: 1, Limits: engine.Limits{
		Timeout: engine.Duration(300 * time.Millisecond), MaxOutputBytes: engine.MaxMaxOutputBytes}})
	huge := `"` + strings.Repeat("y", 1<<20) + `"`
	start := time.Now()
	res, err := s.Process(context.Background(), records(`{}`, huge))
	took := time.Since(start)
	if err == nil {
		t.Fatalf("applying 5000 digests of a 1 MB record succeeded in %v under a 300ms timeout: %v", took, summary(res)[0])
	}
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "batch call timed out after 300ms (applying the operations of record 1, output 0)") {
		t.Errorf("error %v", err)
	}
	if took > 2*time.Second {
		t.Errorf("the timed-out batch took %v", took)
	}
}

// TestOversizeRecordFailsAlone: a record too large for the module's
// memory fails alone, naming its index and size; the rest of its batch
// succeeds. A module that runs out of memory on small records still
// fails its batch (the records are not the cause).
func TestOversizeRecordFailsAlone(t *testing.T) {
	h, _ := newHost(t)
	pt, rec := wat(t, "passthrough"), wat(t, "record")
	const pages = 8                      // 512 KiB
	mid := strings.Repeat("m", 300_000)  // fits the memory, not weir_alloc's 2x
	huge := strings.Repeat("h", 600_000) // larger than the memory
	tooBig := func(i, n int, cause string) string {
		return fmt.Sprintf("failed:record %d (%d bytes) does not fit the module's memory limit of 524288 bytes (8 pages): %s", i, n, cause)
	}
	for _, tc := range []struct {
		name      string
		wasm      []byte
		entry     string
		instances int
		in        []string
		want      []string
	}{
		{"fast: weir_alloc cannot fit it", pt, engine.EntryFast, 1, []string{"a", "b", mid, "d"},
			[]string{"ok:a", "ok:b", tooBig(2, len(mid), "module returned a bad output: weir_alloc(300"), "ok:d"}},
		{"fast: larger than the memory", pt, engine.EntryFast, 1, []string{"a", huge, "c"},
			[]string{"ok:a", tooBig(1, len(huge), "larger than the memory, not sent"), "ok:c"}},
		{"fast, a stage that makes lookups (one call a batch, split)", lookupsPassthrough(t), engine.EntryFast, 1, []string{"a", "b", mid, "d"},
			[]string{"ok:a", "ok:b", tooBig(2, len(mid), "module returned a bad output: weir_alloc(300"), "ok:d"}},
		{"fast: two chunks", pt, engine.EntryFast, 2, []string{"a", "b", "c", mid, "e", huge},
			[]string{"ok:a", "ok:b", "ok:c", tooBig(3, len(mid), "module returned a bad output"), "ok:e", tooBig(5, len(huge), "larger than the memory, not sent")}},
		{"batch: larger than the memory", pt, engine.EntryBatch, 1, []string{"a", huge, "c"},
			[]string{"ok:a", tooBig(1, len(huge), "larger than the memory, not sent"), "ok:c"}},
		{"record: larger than the memory", rec, "", 1, []string{"hello", huge, "world"},
			[]string{"ok:HELLO", tooBig(1, len(huge), "larger than the memory, not sent"), "ok:WORLD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, h, "m", tc.wasm, engine.StageConfig{Entry: tc.entry, Instances: tc.instances, Limits: engine.Limits{MemoryPages: pages}})
			res, err := s.Process(context.Background(), records(tc.in...))
			if err != nil {
				t.Fatalf("the batch failed: %v", err)
			}
			got := summary(res)
			for i := range tc.want {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("record %d: got %.200q, want %.200q...", i, got[i], tc.want[i])
				}
			}
			for i, r := range res {
				if r.Err != nil && !errors.Is(r.Err, ErrOutOfMemory) {
					t.Errorf("record %d: %v does not match ErrOutOfMemory", i, r.Err)
				}
			}
			if res, err := s.Process(context.Background(), records("next")); err != nil || summary(res)[0] != "ok:NEXT" && summary(res)[0] != "ok:next" {
				t.Errorf("the next batch: %v %v", summary(res), err)
			}
		})
	}
	// (Process cuts batches into pieces of at most 1/16 of the memory
	// limit, so these large records already run alone: no split is
	// logged; TestPieces covers the cutting.)
	// A memory bomb on small records still fails its batch, unsplit.
	s := load(t, h, "bomb", pt, engine.StageConfig{Instances: 1, Limits: engine.Limits{MemoryPages: pages}})
	before := s.calls.Load()
	if _, err := s.Process(context.Background(), records("!G", "x", "y")); !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "memory at its limit of 8 pages") {
		t.Errorf("memory bomb: %v", err)
	}
	if n := s.calls.Load() - before; n != 1 {
		t.Errorf("the memory bomb's batch made %d calls, want 1 (no split)", n)
	}
}

// hangWAT is a fast-path module that spins for {{.Spins}} loop turns (a
// few seconds: a hang that ends, so that a test process gets its CPU
// back) in its start function, _initialize, weir_manifest, or in
// weir_transform when the input frame is over 1000 bytes. Otherwise it
// drops every record.
var hangWAT = template.Must(template.New("hang").Parse(`(module
  (memory (export "memory") 4)
  (data (i32.const 800) "{\"abi\":1,\"sdk\":\"wat/0\",\"paths\":[]}")
  (func $spin (local $i i64)
    (loop $l (br_if $l (i64.ne (local.tee $i (i64.add (local.get $i) (i64.const 1))) (i64.const {{.Spins}})))))
  (func $start {{if eq .Where "start"}}(call $spin){{end}})
  (start $start)
  (func (export "_initialize") {{if eq .Where "init"}}(call $spin){{end}})
  (func (export "weir_abi_version") (result i32) (i32.const 1))
  (func (export "weir_manifest") (result i64)
    {{if eq .Where "manifest"}}(call $spin){{end}}
    (i64.or (i64.shl (i64.const 800) (i64.const 32)) (i64.const 34)))
  (func (export "weir_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x1e000)) (then (return (i32.const 0))))
    (i32.const 1024))
  (func (export "weir_transform") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $i i32) (local $out i32)
    (if (i32.gt_u (local.get $len) (i32.const 1000)) (then (call $spin)))
    (local.set $n (i32.load offset=8 (local.get $ptr)))
    (local.set $out (i32.const 0x20000))
    (i32.store (local.get $out) (i32.const 0x52494557))
    (i32.store8 offset=4 (local.get $out) (i32.const 2))
    (i32.store8 offset=5 (local.get $out) (i32.const 1))
    (i32.store16 offset=6 (local.get $out) (i32.const 0))
    (i32.store offset=8 (local.get $out) (local.get $n))
    (i32.store offset=12 (local.get $out) (i32.const 0))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (i32.add (local.get $out) (i32.const 16)) (local.get $i)) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.add (i32.const 16) (local.get $n)))))
)
`))

// hangSpins makes hangWAT spin for about 0.3s on an idle machine (one
// turn a cycle at 4 GHz), a few seconds on a loaded one: always past the
// 100ms deadlines of the tests.
const hangSpins = 1_200_000_000

// hangModule assembles hangWAT hanging at where.
func hangModule(t *testing.T, where string) []byte {
	t.Helper()
	return templateModule(t, hangWAT, where, map[string]any{"Where": where, "Spins": hangSpins})
}

// waitUnstuck waits for abandoned calls to return (the spin ends) so that
// the garbage collector is back on for the next tests.
func waitUnstuck(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for gcHolders() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d detached calls still running after 2 minutes", gcHolders())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInitHang: a module that hangs while it initializes (start function,
// _initialize, weir_manifest) is refused at its deadline with an error
// that says so, with and without preemption; without it, the stuck call
// is abandoned and the load returns anyway.
func TestInitHang(t *testing.T) {
	h, _ := newHost(t)
	off := false
	for _, where := range []string{"start", "init", "manifest"} {
		what := map[string]string{"start": "start function", "init": "_initialize", "manifest": "weir_manifest"}[where]
		for _, preempt := range []*bool{nil, &off} {
			t.Run(fmt.Sprintf("%s/preempt=%v", where, preempt == nil), func(t *testing.T) {
				defer waitUnstuck(t)
				start := time.Now()
				st, err := h.LoadModule(context.Background(), "hang", hangModule(t, where), engine.StageConfig{
					Limits: engine.Limits{Timeout: engine.Duration(100 * time.Millisecond), Preempt: preempt}})
				took := time.Since(start)
				if err == nil {
					st.Close(context.Background())
					t.Fatalf("a module hanging in %s loaded (in %v)", what, took)
				}
				want := fmt.Sprintf("module init (%s) did not finish within 100ms", what)
				if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "batch call") {
					t.Errorf("error %q, want %q matching ErrTimeout", err, want)
				}
				if preempt != nil && !strings.Contains(err.Error(), "abandoned") {
					t.Errorf("error %q does not say the call was abandoned", err)
				}
				if took > 3*time.Second {
					t.Errorf("the refusal took %v", took)
				}
			})
		}
	}
}

// TestNoPreemptHang: with preempt: false a batch that never returns
// cannot be stopped, but its caller is: the batch fails at the deadline
// or at cancellation, the instance is abandoned (never reused), the stage
// serves the next batch on a new one, and the stuck call, when it
// returns at last, closes its instance and lets the collector run again.
func TestNoPreemptHang(t *testing.T) {
	h, logs := newHost(t)
	off := false
	wasm := hangModule(t, "transform")
	hang := strings.Repeat("!", 2000)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		want    error
		msg     string
	}{
		{"deadline", 100 * time.Millisecond, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			ErrTimeout, "batch call timed out after 100ms: the module (compiled without preemption) did not return; its instance is abandoned"},
		{"interrupt", time.Minute, func() (context.Context, context.CancelFunc) {
			// Canceled as a signal does, without a Go timer (which the
			// stuck call's P may hold; see detach).
			ctx, cancel := context.WithCancel(context.Background())
			go func() { nap(50 * time.Millisecond); cancel() }()
			return ctx, cancel
		}, ErrCanceled, "batch canceled: context canceled: the module (compiled without preemption) did not return"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer waitUnstuck(t)
			s := load(t, h, "hang", wasm, engine.StageConfig{Instances: 1, Limits: engine.Limits{Timeout: engine.Duration(tc.timeout), Preempt: &off}})
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			_, err := s.Process(ctx, records("ok", hang))
			took := time.Since(start)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want %q", err, tc.msg)
			}
			if took > 3*time.Second {
				t.Errorf("the abandoned batch took %v", took)
			}
			if gcHolders() == 0 || s.cm.stuck.Load() != 1 {
				t.Fatalf("the spin ended within %v: %d turns are too few on this machine", took, hangSpins)
			}
			before := s.created.Load()
			res, err := s.Process(context.Background(), records("a", "b"))
			if err != nil || summary(res)[0] != "dropped" {
				t.Fatalf("the next batch: %v %v", summary(res), err)
			}
			if n := s.created.Load() - before; n != 1 {
				t.Errorf("%d instances made for the next batch, want 1 (the stuck one is not reused)", n)
			}
			waitUnstuck(t)
			if n := s.cm.stuck.Load(); n != 0 {
				t.Errorf("%d calls still counted as stuck", n)
			}
		})
	}
	if !strings.Contains(logs.String(), "an abandoned module call returned at last") {
		t.Errorf("no log of the late return:\n%s", logs)
	}
}
