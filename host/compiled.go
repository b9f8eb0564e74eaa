package host

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
)

// Host module names a module may import.
const (
	wasiModule       = "wasi_snapshot_preview1"
	extismModule     = "extism:host/env"
	extismUserModule = "extism:host/user"
	weirModule       = "weir:host/v1"
)

// Export names of the weir ABI (sdk/CONTRACT.md).
const (
	exportABIVersion = "weir_abi_version"
	exportAlloc      = "weir_alloc"
	exportTransform  = "weir_transform"
	exportManifest   = "weir_manifest"
	exportBatch      = "weir_batch"
	exportInitialize = "_initialize"
)

// ABIVersion is the weir ABI version this host speaks.
const ABIVersion = 1

// manifestMax bounds the manifest a module may return.
const manifestMax = 1 << 20

// compiled is one module (digest, memory limit, mechanism) compiled in its own
// runtime, with the host modules it imports instantiated there. Stages
// share it; it is released when its last stage closes.
type compiled struct {
	digest string
	pages  uint32
	// preempt is how calls are stopped when their context ends (after
	// any fallback: preemptWazero when the rewrite failed); preemptOff
	// calls run detached (detach.go).
	preempt preemptMode
	rt      wazero.Runtime
	mod     wazero.CompiledModule
	info    *ModuleInfo
	// paths are the manifest's declared paths and their split form.
	paths    []string
	pathSegs [][]string
	// env is used by instances no stage owns yet (the probe).
	env callEnv

	// spare is the instance made while probing, handed to the first stage
	// that needs one.
	spare atomic.Pointer[instance]
	// stuck counts abandoned calls still running in this runtime, which
	// must then stay open.
	stuck atomic.Int64
}

// cacheKey identifies compiled code in a Host: the module's digest, its
// memory limit and the requested deadline mechanism (one process has one
// wasmrewrite.Version). A rewritten module is compiled from different
// bytes (the rewriter's output for this digest and version), so wazero's
// own compilation cache, on disk across versions and keyed by the
// compiled bytes, keeps it apart too.
type cacheKey struct {
	digest  string
	pages   uint32
	preempt preemptMode
}

// compile compiles wasm in a new runtime, links the host modules, and
// probes the module (one instance: _initialize, weir_abi_version,
// weir_manifest), keeping that instance as a spare.
func compile(ctx context.Context, wasm []byte, digest string, pages uint32, preempt preemptMode, cs *caches, logger *slog.Logger, probeTimeout time.Duration) (*compiled, error) {
	c, err := compileModule(ctx, wasm, digest, pages, preempt, cs, logger, probeTimeout)
	if err != nil {
		return nil, err
	}
	if err := c.prepare(ctx, probeTimeout); err != nil {
		_ = c.close(ctx)
		return nil, err
	}
	return c, nil
}

// compileModule compiles wasm in a new runtime and describes it. With a
// rewrite cache (cs.rewrites), a module rewritten by an earlier load or by
// weir precompile is not rewritten again.
func compileModule(ctx context.Context, wasm []byte, digest string, pages uint32, preempt preemptMode, cs *caches, logger *slog.Logger, probeTimeout time.Duration) (*compiled, error) {
	if err := checkMagic(wasm); err != nil {
		return nil, err
	}
	var (
		rewrites *rewriteCache
		sh       *shared
	)
	if cs != nil {
		rewrites, sh = cs.rewrites, cs.shared
	}
	code := wasm
	var fallback error // why the rewrite was not used
	cached := false    // code came from the rewrite cache
	if preempt == preemptFlag {
		code = rewrites.get(digest)
		if code == nil && rewrites != nil && sh.fetch(ctx, rewrites.name(digest)) {
			code = rewrites.get(digest)
		}
		if code != nil {
			cached = true
			logger.LogAttrs(ctx, slog.LevelDebug, "host: rewritten module from the cache", slog.String("digest", digest))
		} else if code, fallback = instrument(ctx, wasm, digest, logger); fallback != nil {
			code, preempt = wasm, preemptWazero
		}
	}
	newRuntime := func(preempt preemptMode) wazero.Runtime {
		rc := wazero.NewRuntimeConfig().WithMemoryLimitPages(pages).WithCloseOnContextDone(preempt == preemptWazero)
		if cache := cs.compilationCache(); cache != nil {
			rc = rc.WithCompilationCache(cache)
		}
		return wazero.NewRuntimeWithConfig(ctx, rc)
	}
	// With a shared cache, the compiled code is downloaded into the cache
	// folder before wazero looks for it there. name is wazero's file for
	// code (hashed once: "" after code changes below).
	var name, fetched string
	if sh != nil {
		if name = wazeroCacheName(code, preempt == preemptWazero); sh.fetch(ctx, name) {
			fetched = name
		}
	}
	rt := newRuntime(preempt)
	cm, err := rt.CompileModule(ctx, code)
	if err != nil && fetched != "" {
		// A damaged download (wazero checks its checksum): drop it and
		// compile; the fresh code replaces the shared copy.
		logger.LogAttrs(ctx, slog.LevelWarn, "host: compiled code from the shared cache does not load; compiling",
			slog.String("name", fetched), slog.String("error", err.Error()))
		_ = rt.Close(ctx)
		_ = os.Remove(filepath.Join(sh.dir, filepath.FromSlash(fetched)))
		fetched = ""
		rt = newRuntime(preempt)
		cm, err = rt.CompileModule(ctx, code)
	}
	if err != nil && cached {
		// A cached rewrite that does not compile (a damaged cache): drop
		// it and rewrite again.
		_ = rt.Close(ctx)
		rewrites.drop(digest)
		cached, name = false, ""
		if code, fallback = instrument(ctx, wasm, digest, logger); fallback != nil {
			code, preempt = wasm, preemptWazero
		}
		rt = newRuntime(preempt)
		cm, err = rt.CompileModule(ctx, code)
	}
	if err != nil && preempt == preemptFlag {
		_ = rt.Close(ctx)
		fallback = fmt.Errorf("the rewritten module does not compile: %w", err)
		code, preempt, name = wasm, preemptWazero, ""
		rt = newRuntime(preempt)
		cm, err = rt.CompileModule(ctx, code)
	}
	if err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	if preempt == preemptFlag && !cached {
		if err := rewrites.put(digest, code); err != nil {
			logger.LogAttrs(ctx, slog.LevelWarn, "host: cannot keep the rewritten module in the cache folder; the next process rewrites it again",
				slog.String("digest", digest), slog.String("error", err.Error()))
		} else {
			sh.publish(ctx, rewrites.name(digest))
		}
	}
	if sh != nil {
		if name == "" {
			name = wazeroCacheName(code, preempt == preemptWazero)
		}
		if name != fetched {
			sh.publish(ctx, name) // compiled here: share it
		}
	}
	if fallback != nil {
		warnFallback(ctx, logger, digest, fallback)
	}
	c := &compiled{digest: digest, pages: pages, preempt: preempt, rt: rt, mod: cm}
	c.info = describe(cm, digest, len(wasm))
	if preempt == preemptFlag {
		// The fuel check is the host's own import, not the module's.
		c.info.Imports = slices.DeleteFunc(c.info.Imports, func(im Import) bool { return im.Module == fuelModule })
	}
	c.env = callEnv{
		label:    "sha256:" + shortDigest(digest),
		logger:   logger,
		logLevel: logLevelOf(ctx, logger),
		maxOut:   engine.DefaultMaxOutputBytes,
		timeout:  probeTimeout,
	}
	return c, nil
}

// prepare links the host modules, checks the imports and probes the
// module.
func (c *compiled) prepare(ctx context.Context, probeTimeout time.Duration) error {
	if err := linkHostModules(ctx, c.rt, c.info); err != nil {
		return err
	}
	if c.preempt == preemptFlag {
		if err := instantiateFuel(ctx, c.rt); err != nil {
			return fmt.Errorf("host: instantiate %s: %w", fuelModule, err)
		}
	}
	if err := checkImports(c.rt, c.info); err != nil {
		return err
	}
	if err := c.probe(ctx, probeTimeout); err != nil {
		return err
	}
	c.info.Entry = c.info.autoEntry()
	return nil
}

// checkMagic refuses empty and non-Wasm input with a clear message.
func checkMagic(wasm []byte) error {
	switch {
	case len(wasm) == 0:
		return fmt.Errorf("%w: the module is empty (0 bytes)", ErrInvalidModule)
	case len(wasm) < 8 || string(wasm[:4]) != "\x00asm":
		n := min(len(wasm), 8)
		return fmt.Errorf("%w: not a WebAssembly binary (starts with %q, want \"\\x00asm\")", ErrInvalidModule, wasm[:n])
	}
	return nil
}

// linkHostModules instantiates the host modules in rt.
func linkHostModules(ctx context.Context, rt wazero.Runtime, info *ModuleInfo) error {
	for _, im := range info.Imports {
		if im.Module == wasiModule {
			if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
				return fmt.Errorf("host: instantiate WASI: %w", err)
			}
			break
		}
	}
	if err := instantiateExtism(ctx, rt); err != nil {
		return fmt.Errorf("host: instantiate %s: %w", extismModule, err)
	}
	if err := instantiateIntrinsics(ctx, rt); err != nil {
		return fmt.Errorf("host: instantiate %s: %w", weirModule, err)
	}
	if err := instantiateUser(ctx, rt); err != nil {
		return fmt.Errorf("host: instantiate %s: %w", extismUserModule, err)
	}
	return nil
}

// checkImports reports every import the host cannot satisfy, with the
// reason, before instantiation would fail on the first one.
func checkImports(rt wazero.Runtime, info *ModuleInfo) error {
	var problems []string
	for _, im := range info.Imports {
		if !strings.HasPrefix(im.Type, "func") {
			problems = append(problems, fmt.Sprintf("%s.%s: importing a %s is not supported", im.Module, im.Name, im.Type))
			continue
		}
		m := rt.Module(im.Module)
		if m == nil {
			problems = append(problems, fmt.Sprintf("%s.%s (this host has no module %q)", im.Module, im.Name, im.Module))
			continue
		}
		def, ok := m.ExportedFunctionDefinitions()[im.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.%s (not provided by this host)", im.Module, im.Name))
			continue
		}
		if want := funcType(def); want != im.Type {
			problems = append(problems, fmt.Sprintf("%s.%s has type %s, the host's has %s", im.Module, im.Name, im.Type, want))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: unsatisfied imports: %s", ErrInvalidModule, strings.Join(problems, "; "))
	}
	return nil
}

// probe instantiates the module once to validate it, read its ABI version
// and manifest, and keeps the instance as a spare.
func (c *compiled) probe(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errBatchTimeout)
	defer cancel()
	inst, err := c.newInstance(ctx, &c.env)
	if err != nil {
		return err
	}
	cctx := &callCtx{Context: ctx, inst: inst}
	exports := c.mod.ExportedFunctions()
	if def, ok := exports[exportABIVersion]; ok && funcType(def) == "func() -> i32" {
		var stack [1]uint64
		if err := inst.call(cctx, inst.mod.ExportedFunction(exportABIVersion), exportABIVersion, stack[:]); err != nil {
			inst.close(ctx)
			return initError(ctx, exportABIVersion, timeout, err)
		}
		c.info.ABIVersion = int(int32(stack[0]))
	}
	if def, ok := exports[exportManifest]; ok && funcType(def) == "func() -> i64" {
		var stack [1]uint64
		if err := inst.call(cctx, inst.mod.ExportedFunction(exportManifest), exportManifest, stack[:]); err != nil {
			inst.close(ctx)
			return initError(ctx, exportManifest, timeout, err)
		}
		m, err := inst.readManifest(stack[0])
		if err != nil {
			inst.close(ctx)
			return err
		}
		c.info.Manifest = m
		if m != nil {
			c.paths = m.Paths
			for _, p := range m.Paths {
				c.pathSegs = append(c.pathSegs, frame.SplitPath(p))
			}
		}
	}
	c.spare.Store(inst)
	return nil
}

// readManifest decodes the manifest at the packed pointer/length.
func (inst *instance) readManifest(packed uint64) (*Manifest, error) {
	if packed == 0 {
		return nil, nil
	}
	ptr, n := uint32(packed>>32), uint32(packed)
	if n > manifestMax {
		return nil, fmt.Errorf("%w: weir_manifest is %d bytes (max %d)", ErrBadOutput, n, manifestMax)
	}
	b, ok := inst.guest(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: weir_manifest returned %d bytes at 0x%x, outside the module's %d-byte memory", ErrBadOutput, n, ptr, inst.memSize())
	}
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: weir_manifest is not a JSON manifest: %w", ErrBadOutput, err)
	}
	for _, p := range m.Paths {
		if p == "" {
			return nil, fmt.Errorf("%w: weir_manifest declares an empty path", ErrBadOutput)
		}
	}
	return m, nil
}

// takeSpare returns the probe instance once, adopted by env.
func (c *compiled) takeSpare(env *callEnv) *instance {
	inst := c.spare.Swap(nil)
	if inst != nil {
		inst.env = env
	}
	return inst
}

func (c *compiled) close(ctx context.Context) error {
	if inst := c.spare.Swap(nil); inst != nil {
		inst.close(ctx)
	}
	if n := c.stuck.Load(); n > 0 {
		// Closing the runtime would unmap code that is still running.
		c.env.logger.LogAttrs(ctx, slog.LevelWarn, "host: not closing a module runtime with abandoned calls still running",
			slog.String("module", c.env.label), slog.Int64("calls", n))
		return nil
	}
	return c.rt.Close(ctx)
}

// memLimit is the module's memory cap in bytes.
func (c *compiled) memLimit() uint64 { return uint64(c.pages) << 16 }

// logLevelOf maps the lowest level logger enables to Extism's levels
// (0 trace ... 4 error; MaxInt32 off).
func logLevelOf(ctx context.Context, logger *slog.Logger) int32 {
	for i, l := range extismLevels {
		if logger.Enabled(ctx, l) {
			return int32(i)
		}
	}
	return math.MaxInt32
}

// levelTrace is the slog level of Extism's trace logs.
const levelTrace = slog.LevelDebug - 4

var extismLevels = [...]slog.Level{levelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// errCleanExit marks a WASI exit with code 0: a success in record mode
// (as in go-sdk), a failure where a frame was expected.
var errCleanExit = fmt.Errorf("%w with code 0", ErrExit)
