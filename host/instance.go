package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/enrich"
)

// callEnv is what host functions need from the stage that owns an
// instance.
type callEnv struct {
	label    string
	logger   *slog.Logger
	logLevel int32
	config   map[string]string
	maxOut   int64
	timeout  time.Duration
	// enrich serves the stage's enrichment host functions (nil: all
	// denied).
	enrich *enrich.Env
}

// instance is one instantiated module with its Extism kernel state and the
// buffers of the worker running on it. It serves one call at a time.
type instance struct {
	cm  *compiled
	env *callEnv
	mod api.Module
	mem api.Memory // nil when the module has no memory
	// fuel is the rewritten module's loop fuel (nil: not rewritten).
	fuel api.MutableGlobal

	// Cached exports (nil when not exported).
	fnAlloc, fnTransform, fnBatch, fnRecord api.Function
	// inPtr and inCap are the input buffer weir_alloc last returned (fast
	// path), reused while frames fit.
	inPtr, inCap uint32
	recordName   string
	recordResult bool
	stack        [2]uint64

	// Extism per-call state.
	kern       kernel
	input      []byte
	inputOff   uint64
	output     []byte
	outputOff  uint64
	outputLen  uint64
	errMsg     string
	errOff     uint64
	httpStatus int32
	vars       map[string][]byte
	varBytes   int
	stderr     tailBuffer

	// Worker buffers.
	in    frame.InputWriter
	inBuf []byte
	// docs are the worker's parsers, one per record of a chunk; parsed
	// holds each sent record's (nil without views).
	docs    []*frame.Doc
	parsed  []*frame.Doc
	sent    []int
	outRec  frame.OutRecord
	applier frame.Applier
	// applyCtx is the batch's context while operations are applied.
	applyCtx context.Context
	scratch  []byte

	// bad is set when the instance must not be reused.
	bad bool
	// abandoned is set when a call into the instance did not return in
	// time and was left running (modules without preemption).
	abandoned bool
}

// maxVarBytes bounds an instance's Extism var store.
const maxVarBytes = 1 << 20

// callCtx carries the instance to host functions; see the package
// documentation ("Per-call state").
type callCtx struct {
	context.Context
	inst *instance
}

type instanceKey struct{}

// Value returns the instance for instanceKey and defers to the parent
// otherwise.
func (c *callCtx) Value(key any) any {
	if _, ok := key.(instanceKey); ok {
		return c.inst
	}
	return c.Context.Value(key)
}

// instanceFrom returns the instance making the current call, or nil
// outside a call.
func instanceFrom(ctx context.Context) *instance {
	if c, ok := ctx.(*callCtx); ok {
		return c.inst
	}
	inst, _ := ctx.Value(instanceKey{}).(*instance)
	return inst
}

// newInstance instantiates the module anonymously without start functions,
// calls _initialize when exported, and caches the export handles.
func (c *compiled) newInstance(ctx context.Context, env *callEnv) (*instance, error) {
	inst := &instance{cm: c, env: env}
	inst.kern.limit = c.memLimit()
	inst.applier.Check = inst.applyCheck
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStderr(&inst.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	cctx := &callCtx{Context: ctx, inst: inst}
	var mod api.Module
	instantiate := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: host panic during instantiation: %v", ErrTrap, r)
			}
		}()
		mod, err = c.rt.InstantiateModule(cctx, c.mod, cfg)
		return err
	}
	var err error
	if c.preempt != preemptOff {
		err = instantiate()
	} else {
		var finished bool
		finished, err = c.detach(ctx, env, "start function", instantiate, func() {
			if mod != nil {
				_ = mod.Close(context.Background())
			}
		})
		if !finished {
			return nil, initError(ctx, "start function", env.timeout, errAbandoned)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", initError(ctx, "start function", env.timeout, inst.classify(ctx, "instantiation", err)))
	}
	inst.mod = mod
	inst.mem = memoryOf(mod)
	if c.preempt == preemptFlag {
		inst.fuel = fuelGlobal(mod)
	}
	if init := mod.ExportedFunction(exportInitialize); init != nil {
		if err := inst.call(cctx, init, exportInitialize, inst.stack[:]); err != nil {
			inst.close(ctx)
			return nil, initError(ctx, exportInitialize, env.timeout, err)
		}
	}
	inst.fnAlloc = mod.ExportedFunction(exportAlloc)
	inst.fnTransform = mod.ExportedFunction(exportTransform)
	inst.fnBatch = mod.ExportedFunction(exportBatch)
	return inst, nil
}

// setRecordFunc caches the record-mode export.
func (inst *instance) setRecordFunc(name string) {
	if inst.recordName != name {
		inst.recordName = name
		inst.fnRecord = inst.mod.ExportedFunction(name)
		inst.recordResult = inst.fnRecord != nil && len(inst.fnRecord.Definition().ResultTypes()) == 1
	}
}

func (inst *instance) close(ctx context.Context) {
	// An abandoned instance is closed by its call's goroutine, if the call
	// ever returns.
	if inst.mod != nil && !inst.abandoned {
		_ = inst.mod.Close(ctx)
	}
}

// beginCall resets the Extism per-call state.
func (inst *instance) beginCall(input []byte) {
	inst.kern.reset()
	inst.input = input
	inst.inputOff = 0
	inst.output = inst.output[:0]
	inst.outputOff, inst.outputLen = 0, 0
	inst.errMsg, inst.errOff = "", 0
	inst.httpStatus = 0
	inst.stderr.reset()
}

// call runs fn with stack, never panicking, and turns every failure into
// an error wrapping one of the package's sentinels. ctx must be the
// instance's callCtx. A module compiled without preemption is called
// detached (see detach.go): when ctx ends first, the call is abandoned
// with the instance.
func (inst *instance) call(ctx context.Context, fn api.Function, name string, stack []uint64) error {
	if inst.cm.preempt != preemptOff {
		bad, err := inst.run(ctx, fn, name, stack)
		inst.bad = inst.bad || bad
		return err
	}
	var bad bool
	finished, err := inst.cm.detach(ctx, inst.env, name, func() (err error) {
		bad, err = inst.run(ctx, fn, name, stack)
		return err
	}, func() { _ = inst.mod.Close(context.Background()) })
	if !finished {
		inst.bad, inst.abandoned = true, true
		return fmt.Errorf("%w: %w", inst.ctxError(ctx), errAbandoned)
	}
	inst.bad = inst.bad || bad
	return err
}

// run is call on the current goroutine; bad reports that the instance
// must not be reused.
func (inst *instance) run(ctx context.Context, fn api.Function, name string, stack []uint64) (bad bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			bad = true
			err = fmt.Errorf("%w: host panic during %s: %v", ErrTrap, name, r)
		}
	}()
	if err := fn.CallWithStack(ctx, stack); err != nil {
		return true, inst.classify(ctx, name, err)
	}
	if inst.kern.fault != nil {
		return false, fmt.Errorf("%s: %w", name, inst.kern.fault)
	}
	return false, nil
}

// classify explains why a call failed.
func (inst *instance) classify(ctx context.Context, name string, err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch code := exit.ExitCode(); code {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return inst.ctxError(ctx)
		case 0:
			return errCleanExit
		default:
			return fmt.Errorf("%w with code %d during %s%s", ErrExit, code, name, inst.stderr.summary())
		}
	}
	if ctx.Err() != nil {
		return inst.ctxError(ctx)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if note := inst.memNote(); note != "" {
		return &memoryError{fmt.Errorf("%w during %s: %s%s%s", ErrTrap, name, msg, note, inst.stderr.summary())}
	}
	return fmt.Errorf("%w during %s: %s%s", ErrTrap, name, msg, inst.stderr.summary())
}

// errBatchTimeout is the cause of the per-batch deadline.
var errBatchTimeout = errors.New("batch timeout")

func (inst *instance) ctxError(ctx context.Context) error {
	cause := causeOf(ctx)
	if errors.Is(cause, errBatchTimeout) {
		return fmt.Errorf("%w after %s", ErrTimeout, inst.env.timeout)
	}
	return fmt.Errorf("%w: %w", ErrCanceled, cause)
}

// memNote mentions the memory when the module reached its limit.
func (inst *instance) memNote() string {
	if inst.mem == nil {
		return ""
	}
	pages := inst.memSize() >> 16
	if pages >= uint64(inst.cm.pages) {
		return fmt.Sprintf(" (memory at its limit of %d pages)", inst.cm.pages)
	}
	return ""
}

// memSize is the guest memory size in bytes (correct at 4 GiB too).
func (inst *instance) memSize() uint64 {
	if inst.mem == nil {
		return 0
	}
	if s := inst.mem.Size(); s != 0 {
		return uint64(s)
	}
	pages, _ := inst.mem.Grow(0)
	return uint64(pages) << 16
}

// memoryOf returns mod's memory, or nil when it has none (wazero returns
// a typed nil then).
func memoryOf(mod api.Module) api.Memory {
	m := mod.Memory()
	if m == nil {
		return nil
	}
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return m
}

// guest returns n bytes of guest memory at ptr (a view, not a copy).
func (inst *instance) guest(ptr, n uint32) ([]byte, bool) {
	if inst.mem == nil {
		return nil, n == 0
	}
	return inst.mem.Read(ptr, n)
}

// tailBuffer keeps the first bytes a module writes to stderr during a
// call, so a Go panic message can be quoted in the error.
type tailBuffer struct {
	b []byte
}

const stderrKeep = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	if room := stderrKeep - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *tailBuffer) reset() { t.b = t.b[:0] }

// summary is " (stderr: <the panic line, or the first stderr line>)", or
// "".
func (t *tailBuffer) summary() string {
	s := string(t.b)
	line := ""
	if i := strings.Index(s, "panic: "); i >= 0 {
		line, _, _ = strings.Cut(s[i:], "\n")
	} else {
		for l := range strings.SplitSeq(s, "\n") {
			if strings.TrimSpace(l) != "" {
				line = l
				break
			}
		}
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return ""
	}
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return " (stderr: " + line + ")"
}
