package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirhq/weir/host/wasmrewrite"
)

// preemptMode is how a compiled module's calls are stopped when their
// context ends (the batch deadline, or the caller's cancellation).
type preemptMode uint8

const (
	// preemptOff: no check in the module (limits.preempt: false); its
	// calls run detached and are abandoned at the deadline (detach.go).
	preemptOff preemptMode = iota
	// preemptFlag: the module is rewritten at load time with a fuel
	// counter decremented at every loop header (package wasmrewrite);
	// when it runs out, fuelCheck ends the call if its context has ended,
	// and refills it otherwise. The default.
	preemptFlag
	// preemptWazero: wazero's WithCloseOnContextDone, an indirect call
	// into a Go trampoline at every loop header. Used for modules the
	// rewriter cannot handle, and when Options.WazeroPreempt asks for it.
	preemptWazero
)

func (m preemptMode) String() string {
	switch m {
	case preemptOff:
		return "off"
	case preemptFlag:
		return fmt.Sprintf("loop-fuel/v%d", wasmrewrite.Version)
	default:
		return "wazero-close-on-context-done"
	}
}

// The fuel the rewriter adds: the host module and function of the check,
// the export name of the counter, and the loop iterations between checks
// (about 10-100 µs of a tight loop: the host call costs ~0.1 µs, so the
// checks cost < 0.5%; and a guest cannot hold up the Go runtime's
// stop-the-world phases for longer).
const (
	fuelModule = "weir:preempt"
	fuelFunc   = "fuel_check"
	fuelExport = "weir:preempt/fuel"
	fuelRefill = 1 << 15
)

// instrument rewrites wasm for preemptFlag. On failure the caller falls
// back to preemptWazero, and says why once the module compiled (an invalid
// module gets the compiler's error, not a warning about the rewrite).
func instrument(ctx context.Context, wasm []byte, digest string, logger *slog.Logger) ([]byte, error) {
	res, err := wasmrewrite.Instrument(wasm, wasmrewrite.Options{
		ImportModule: fuelModule, ImportName: fuelFunc, Export: fuelExport, Fuel: fuelRefill,
	})
	if err != nil {
		return nil, err
	}
	logger.LogAttrs(ctx, slog.LevelDebug, "host: added loop checks",
		slog.String("digest", digest), slog.Int("loops", res.Loops), slog.Int("functions", res.Functions))
	return res.Wasm, nil
}

// warnFallback logs why a module runs with wazero's check.
func warnFallback(ctx context.Context, logger *slog.Logger, digest string, why error) {
	logger.LogAttrs(ctx, slog.LevelWarn, "host: cannot add loop checks to the module; its deadline is enforced by wazero's slower per-loop check",
		slog.String("digest", digest), slog.String("reason", why.Error()))
}

// instantiateFuel links the fuel check.
func instantiateFuel(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(fuelModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(fuelCheck), nil, nil).Export(fuelFunc).
		Instantiate(ctx)
	return err
}

// fuelCheck runs when a rewritten module's fuel runs out: it ends the call
// the way wazero's own check does (a sys.ExitError with the deadline or
// cancellation code, which instance.classify turns into ErrTimeout or
// ErrCanceled; the instance is then discarded), or refills the fuel.
func fuelCheck(ctx context.Context, mod api.Module, _ []uint64) {
	if err := ctx.Err(); err != nil {
		code := sys.ExitCodeContextCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			code = sys.ExitCodeDeadlineExceeded
		}
		panic(sys.NewExitError(code))
	}
	var g api.MutableGlobal
	if inst := instanceFrom(ctx); inst != nil {
		g = inst.fuel
	}
	if g == nil { // the start function runs before inst.fuel is set
		g = fuelGlobal(mod)
	}
	if g != nil {
		g.Set(fuelRefill)
	}
}

// fuelGlobal returns the instance's fuel counter, or nil when its module
// was not rewritten.
func fuelGlobal(mod api.Module) api.MutableGlobal {
	g, _ := mod.ExportedGlobal(fuelExport).(api.MutableGlobal)
	return g
}
