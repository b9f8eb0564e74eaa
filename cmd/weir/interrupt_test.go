package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// initHangWAT is a record-mode module whose _initialize never returns.
const initHangWAT = `(module
  (memory (export "memory") 1)
  (func (export "_initialize") (loop $l (br $l)))
  (func (export "transform") (result i32) (i32.const 0)))
`

// TestInterruptNoPreempt runs the real weir binary on a module compiled
// without preemption that never returns, and interrupts it with a real
// SIGINT: the stuck call cannot be stopped, so it is abandoned; the
// outputs of the batches done are on stdout and weir exits 130 (before,
// only SIGKILL ended it). The same holds for a module that hangs in its
// _initialize while the pipeline loads.
func TestInterruptNoPreempt(t *testing.T) {
	bin := hosttest.WeirBinary(t)
	dir := t.TempDir()
	loop := hosttest.WAT(t, hostTestdata(t, "passthrough.wat"))
	initHang := hosttest.WAT(t, writeFile(t, dir, "inithang.wat", []byte(initHangWAT)))
	input := writeFile(t, dir, "in.ndjson", []byte("a\nb\n!L\nnever\n"))
	for _, tc := range []struct {
		name, module string
		wantOut      string
		wantErr      []string
	}{
		{"hung batch", loop, "a\nb\n", []string{"batch canceled", "its instance is abandoned", "weir: interrupted"}},
		{"hung _initialize", initHang, "", []string{"batch canceled during module init (_initialize)", "weir: interrupted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipeline := writeFile(t, t.TempDir(), "p.yaml", []byte("version: 1\nstages:\n  - name: hang\n    module: "+tc.module+
				"\n    instances: 1\n    limits:\n      preempt: false\n      timeout: 5m\n"))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--cache-dir", cacheDir, "run", "-p", pipeline, "--format", "ndjson", "--batch-size", "1", input)
			stderr := &lockedBuffer{}
			cmd.Stderr = stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until weir is stuck: after the warning that the stage
			// runs without preemption (logged before the module loads) and
			// the outputs before the hang.
			for !strings.Contains(stderr.String(), "runs without preemption") {
				if ctx.Err() != nil {
					t.Fatalf("no warning about preemption; stderr:\n%s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			var out bytes.Buffer
			lines := bufio.NewReader(stdout)
			for range strings.Count(tc.wantOut, "\n") {
				l, err := lines.ReadString('\n')
				out.WriteString(l)
				if err != nil {
					t.Fatalf("stdout ended after %q: %v; stderr:\n%s", out.String(), err, stderr.String())
				}
			}
			time.Sleep(time.Second)
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() {
				rest, _ := io.ReadAll(lines)
				out.Write(rest)
				exited <- cmd.Wait()
			}()
			select {
			case err = <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("weir did not exit within 20s of SIGINT (it had to be killed); stderr:\n%s", stderr.String())
			}
			t.Logf("exited %v after SIGINT", time.Since(sent).Round(time.Millisecond))
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Errorf("exit status %d (%v), want %d; stderr:\n%s", code, err, exitInterrupted, stderr.String())
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout %q, want %q", out.String(), tc.wantOut)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}
