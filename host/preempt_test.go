package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
)

// TestPreemptOff loads a module without deadline checks: it runs, the host
// warns that a call past its deadline can only be abandoned, and it is
// compiled apart from the same module with checks (the compiled code
// differs).
func TestPreemptOff(t *testing.T) {
	h, logs := newHost(t)
	wasm := wat(t, "passthrough")
	off := false
	s1 := load(t, h, "trusted", wasm, engine.StageConfig{Instances: 1, Limits: engine.Limits{Preempt: &off}})
	s2 := load(t, h, "default", wasm, engine.StageConfig{Instances: 1})
	for _, s := range []*stage{s1, s2} {
		res, err := s.Process(context.Background(), records("a", "b"))
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(res); !slices.Equal(got, []string{"ok:a", "ok:b"}) {
			t.Fatalf("outcomes %v", got)
		}
	}
	if s1.cm == s2.cm {
		t.Error("the module with and without deadline checks share compiled code")
	}
	if !strings.Contains(logs.String(), "cannot be stopped, only abandoned") || !strings.Contains(logs.String(), "stage=trusted") {
		t.Errorf("no warning for the stage without preemption; logs:\n%s", logs.String())
	}
}

// TestDeadlineStopsLoops: under each deadline mechanism, a tight infinite
// loop in WAT and in a Go module is stopped at the batch deadline with
// ErrTimeout, the instance is discarded, and the stage keeps serving.
func TestDeadlineStopsLoops(t *testing.T) {
	timeout := engine.Limits{Timeout: engine.Duration(300 * time.Millisecond)}
	// A Go module's next instance runs its _initialize (the Go runtime's
	// start, hundreds of ms on a loaded machine) inside the batch that
	// needs it, so the Go cases get a deadline that start fits in.
	goTimeout := engine.Limits{Timeout: engine.Duration(2 * time.Second)}
	for _, tc := range []struct {
		name   string
		wazero bool
		want   preemptMode
		wasm   func(t *testing.T) []byte
		sc     engine.StageConfig
		ok     string
		okWant string
	}{
		{"wat/loop-fuel", false, preemptFlag, func(t *testing.T) []byte { return wat(t, "passthrough") }, engine.StageConfig{Entry: engine.EntryFast, Limits: timeout}, "x", "ok:x"},
		{"wat/wazero", true, preemptWazero, func(t *testing.T) []byte { return wat(t, "passthrough") }, engine.StageConfig{Entry: engine.EntryFast, Limits: timeout}, "x", "ok:x"},
		{"go/loop-fuel", false, preemptFlag, func(t *testing.T) []byte { return goPDKModule(t) }, engine.StageConfig{Limits: goTimeout}, "x", "ok:X"},
		{"go/wazero", true, preemptWazero, func(t *testing.T) []byte { return goPDKModule(t) }, engine.StageConfig{Limits: goTimeout}, "x", "ok:X"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(context.Background(), Options{WazeroPreempt: tc.wazero, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close(context.Background()) })
			tc.sc.Instances = 1
			s := load(t, h, tc.name, tc.wasm(t), tc.sc)
			if s.cm.preempt != tc.want {
				t.Fatalf("mechanism %v, want %v", s.cm.preempt, tc.want)
			}
			spin := "!L"
			if strings.HasPrefix(tc.name, "go/") {
				spin = "spin"
			}
			ctx := context.Background()
			if _, err := s.Process(ctx, records(tc.ok)); err != nil {
				t.Fatal(err)
			}
			before := s.created.Load()
			done := make(chan error, 1)
			go func() {
				_, err := s.Process(ctx, records(spin))
				done <- err
			}()
			select {
			case err := <-done:
				want := "batch call timed out after " + time.Duration(tc.sc.Limits.Timeout).String()
				if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v, want ErrTimeout: %q", err, want)
				}
			case <-time.After(time.Minute):
				t.Fatal("the loop was not stopped")
			}
			res, err := s.Process(ctx, records(tc.ok))
			if err != nil || !slices.Equal(summary(res), []string{tc.okWant}) {
				t.Fatalf("after the timeout: %v %v", summary(res), err)
			}
			if s.created.Load() != before+1 {
				t.Errorf("the timed-out instance was reused (%d instances made after it, want 1)", s.created.Load()-before)
			}
		})
	}
}

// TestRewriteFallback: a module the rewriter refuses runs with wazero's
// check, the host says why in its log, and its deadline still holds.
func TestRewriteFallback(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	c, err := compileModule(ctx, wat(t, "taken"), "taken", 16, preemptFlag, nil, logger, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close(ctx)
	if c.preempt != preemptWazero {
		t.Fatalf("mechanism %v, want the wazero fallback", c.preempt)
	}
	if !strings.Contains(logs.String(), "cannot add loop checks") || !strings.Contains(logs.String(), `already exports \"weir:preempt/fuel\"`) {
		t.Errorf("no log line saying why; logs:\n%s", logs.String())
	}
	inst, err := c.newInstance(ctx, &c.env)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.close(ctx)
	cctx, cancel := context.WithTimeoutCause(ctx, 200*time.Millisecond, errBatchTimeout)
	defer cancel()
	err = inst.call(&callCtx{Context: cctx, inst: inst}, inst.mod.ExportedFunction("spin"), "spin", inst.stack[:])
	if !errors.Is(err, ErrTimeout) || !inst.bad {
		t.Fatalf("err %v (bad %v), want ErrTimeout and a discarded instance", err, inst.bad)
	}
}
