package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Modules compiled without preemption (limits.preempt: false) have no
// deadline checks in their code: a call that never returns cannot be
// stopped, and it blocks more than its goroutine. Compiled Wasm is not
// preemptible by the Go scheduler, so a garbage collection that starts
// while such a call runs waits for it to return before it can stop the
// world: the whole process freezes, signal handling included.
//
// So calls into such modules run detached: on their own goroutine, with
// the garbage collector held off while any of them runs (gcHold), while
// the caller waits for the call or for its context. When the context
// ends first (the batch deadline, or Ctrl-C), the caller gets
// ErrTimeout/ErrCanceled at once and the instance is abandoned: marked
// bad, never reused, its goroutine left running. If the call returns
// later, the instance is closed then and the collector released; if it
// never does, the collector stays off until the process ends, which is
// the price of a module that cannot be interrupted. The CLI exits after
// an interrupt; a long-running process logs the abandonment as an error.

// gcOff counts detached calls in flight; the collector is off while
// there is one.
var gcOff struct {
	mu      sync.Mutex
	n       int
	percent int
	limit   int64
}

// gcHold turns the garbage collector off (the first holder saves the
// settings).
func gcHold() {
	gcOff.mu.Lock()
	defer gcOff.mu.Unlock()
	if gcOff.n == 0 {
		gcOff.percent = debug.SetGCPercent(-1)
		gcOff.limit = debug.SetMemoryLimit(math.MaxInt64)
	}
	gcOff.n++
}

// gcRelease restores the collector when the last holder lets go.
func gcRelease() {
	gcOff.mu.Lock()
	defer gcOff.mu.Unlock()
	gcOff.n--
	if gcOff.n == 0 {
		debug.SetGCPercent(gcOff.percent)
		debug.SetMemoryLimit(gcOff.limit)
	}
}

// gcHolders is the number of detached calls in flight (for tests).
func gcHolders() int {
	gcOff.mu.Lock()
	defer gcOff.mu.Unlock()
	return gcOff.n
}

// Detached call states.
const (
	callRunning int32 = iota
	callReturned
	callAbandoned
)

// errAbandoned is the cause added to the context's error when a call is
// abandoned.
var errAbandoned = errors.New("the module (compiled without preemption) did not return; its instance is abandoned")

// detach runs f, a call into c's code, on its own goroutine with the
// collector held off, and waits for it or for ctx. When ctx ends first it
// returns finished false at once; late runs when f eventually returns (to
// close what f made or ran in). The caller must then leave everything f
// touches to that goroutine.
func (c *compiled) detach(ctx context.Context, env *callEnv, what string, f func() error, late func()) (finished bool, err error) {
	gcHold()
	var state atomic.Int32
	done := make(chan error, 1)
	go func() {
		defer gcRelease()
		err := f()
		done <- err
		if !state.CompareAndSwap(callRunning, callReturned) {
			c.stuck.Add(-1)
			if late != nil {
				late()
			}
			env.logger.LogAttrs(context.Background(), slog.LevelWarn, "host: an abandoned module call returned at last",
				slog.String("module", env.label), slog.String("call", what))
		}
	}()
	// Wait by polling, sleeping in system calls; the caller never blocks
	// in the scheduler here: a goroutine made runnable on the P that runs
	// the call, or queued in its run queue, or a Go timer in its heap
	// (ctx's deadline, or a sleep) waits until the call returns, and idle
	// Ps are not always woken to take them; yielding
	// (runtime.Gosched) and a watchdog goroutine failed that way under
	// load. A system call hands the caller's P over and returns on an idle
	// one. The cost: a short call waits for the first sleep (Linux timer
	// slack: about 60µs), which matters in record mode only.
	deadline, hasDeadline := ctx.Deadline()
	pause := 2 * time.Microsecond
	for {
		select {
		case err := <-done:
			return true, err
		case <-ctx.Done():
		default:
			if !hasDeadline || time.Now().Before(deadline) {
				nap(pause)
				pause = min(2*pause, 5*time.Millisecond)
				continue
			}
		}
		break
	}
	c.stuck.Add(1)
	if !state.CompareAndSwap(callRunning, callAbandoned) {
		c.stuck.Add(-1)
		return true, <-done
	}
	env.logger.LogAttrs(ctx, slog.LevelError, "host: abandoning a module call that does not return (the module runs without preemption; its goroutine keeps a CPU and the garbage collector stays off until it returns)",
		slog.String("module", env.label), slog.String("call", what), slog.String("cause", causeOf(ctx).Error()))
	return false, nil
}

// initError explains a failure of the module's initialization (what: the
// start function, _initialize, weir_abi_version, weir_manifest) when ctx
// ended: the deadline is the init's, not a batch's.
func initError(ctx context.Context, what string, timeout time.Duration, err error) error {
	cause := causeOf(ctx)
	if cause == nil {
		return err
	}
	var ie error
	if errors.Is(cause, errBatchTimeout) {
		ie = &initTimeoutError{what: what, timeout: timeout}
	} else {
		ie = fmt.Errorf("%w during module init (%s): %w", ErrCanceled, what, cause)
	}
	if errors.Is(err, errAbandoned) {
		return fmt.Errorf("%w; %w", ie, errAbandoned)
	}
	return ie
}

// initTimeoutError is a module init that ran past its deadline. It
// matches ErrTimeout.
type initTimeoutError struct {
	what    string
	timeout time.Duration
}

func (e *initTimeoutError) Error() string {
	return fmt.Sprintf("module init (%s) did not finish within %s", e.what, e.timeout)
}

// Is makes an init timeout match ErrTimeout.
func (e *initTimeoutError) Is(target error) bool { return target == ErrTimeout }

// causeOf is why ctx ended, or nil. A deadline that passed before ctx's
// timer fired (see detach) counts as the batch timeout, the deadline the
// host sets on every call.
func causeOf(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return errBatchTimeout
	}
	return nil
}
