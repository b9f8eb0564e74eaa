package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/weirhq/weir/engine"
)

// maxModuleBytes bounds the module files NewStage reads.
const maxModuleBytes = 512 << 20

// Options configure a Host.
type Options struct {
	// CacheDir is the folder of wazero's compilation cache, shared by
	// processes (weir precompile fills it). Empty means an in-memory cache.
	// A read-only folder (a cache shipped in a Lambda package) is mirrored
	// to the temporary folder and used from there.
	CacheDir string
	// Logger receives the host's and the modules' logs (Extism log_*
	// calls, with the module's name). Nil means slog.Default().
	Logger *slog.Logger
	// WazeroPreempt enforces the batch deadline of preempting stages with
	// wazero's per-loop context check (an indirect call at every loop
	// header) instead of rewriting the module with a fuel counter at
	// every loop header (the default, much cheaper; see RATIONALE.md).
	// For comparison, and as an escape hatch.
	WazeroPreempt bool
	// Shared, with CacheDir, is a compilation cache shared by machines
	// (an S3 prefix: host/sharedcache): a module whose compiled code (or
	// rewritten bytes) is not in CacheDir is looked up there first, and
	// code compiled here is stored there for the other machines.
	Shared SharedCache
}

// Host compiles modules and makes stages that run them. It is safe for
// concurrent use.
type Host struct {
	logger *slog.Logger
	cache  wazero.CompilationCache
	// caches is cache plus, with a cache folder, the rewritten modules.
	caches *caches
	// preempt is the mechanism of preempting stages.
	preempt preemptMode

	mu      sync.Mutex
	modules map[cacheKey]*cacheEntry
	closed  bool

	compiles atomic.Int64 // modules compiled (for tests and metrics)
}

// cacheEntry is a compiled module being compiled or ready, shared by the
// stages that use it.
type cacheEntry struct {
	key   cacheKey
	ready chan struct{}
	c     *compiled
	err   error
	refs  int
}

// New returns a Host. With Options.CacheDir, compiled code is cached in
// that folder across processes.
func New(ctx context.Context, opts Options) (*Host, error) {
	h := &Host{logger: opts.Logger, modules: make(map[cacheKey]*cacheEntry), preempt: preemptFlag}
	if opts.WazeroPreempt {
		h.preempt = preemptWazero
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	if opts.CacheDir != "" {
		dir, err := usableCacheDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("host: compilation cache %q: %w", opts.CacheDir, err)
		}
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("host: compilation cache %q: %w", opts.CacheDir, err)
		}
		h.cache = c
		h.caches = &caches{code: c, rewrites: newRewriteCache(dir)}
		if opts.Shared != nil {
			h.caches.shared = &shared{store: opts.Shared, dir: dir, logger: h.logger}
		}
	} else {
		h.cache = wazero.NewCompilationCache()
		h.caches = &caches{code: h.cache}
	}
	return h, nil
}

// Close closes every compiled module (and so every stage's instances) and
// the compilation cache. Stages fail their batches afterwards.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	entries := h.modules
	h.modules = nil
	h.mu.Unlock()
	var errs []error
	for _, e := range entries {
		<-e.ready
		if e.c != nil {
			errs = append(errs, e.c.close(ctx))
		}
	}
	errs = append(errs, h.cache.Close(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("host: close: %w", err)
	}
	return nil
}

// NewStage loads sc.Module (a path or file:// URI, relative to baseDir),
// checks sc.SHA256 when set, compiles it (once per digest and memory
// limit, shared by stages), and returns a stage that also implements
// engine.Describer. Unset fields of sc take the engine's defaults. Other
// URI schemes fail with ErrUnsupportedSource.
func (h *Host) NewStage(ctx context.Context, sc engine.StageConfig, baseDir string) (engine.Stage, error) {
	path, err := modulePath(sc.Module, baseDir)
	if err != nil {
		return nil, err
	}
	wasm, err := readModule(path)
	if err != nil {
		return nil, fmt.Errorf("host: module %q: %w", sc.Module, err)
	}
	sc.Capabilities = sc.Capabilities.WithBaseDir(baseDir)
	return h.load(ctx, wasm, withDefaults(sc))
}

// LoadModule is NewStage for a module already in memory (tests, hot swap).
// name is used as the stage name and module reference when sc leaves them
// empty.
func (h *Host) LoadModule(ctx context.Context, name string, wasm []byte, sc engine.StageConfig) (engine.Stage, error) {
	if sc.Module == "" {
		sc.Module = name
	}
	if sc.Name == "" {
		sc.Name = name
	}
	return h.load(ctx, wasm, withDefaults(sc))
}

// withDefaults applies the engine's stage defaults.
func withDefaults(sc engine.StageConfig) engine.StageConfig {
	c := engine.Config{Stages: []engine.StageConfig{sc}}
	c.ApplyDefaults()
	return c.Stages[0]
}

// modulePath resolves a module reference to a file path.
func modulePath(ref, baseDir string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("host: %w: no module reference", ErrInvalidModule)
	}
	p := ref
	if scheme, rest, ok := strings.Cut(ref, "://"); ok {
		if !strings.EqualFold(scheme, "file") {
			return "", fmt.Errorf("host: module %q: %w: %s:// (only paths and file:// for now)", ref, ErrUnsupportedSource, scheme)
		}
		p = rest
		if strings.HasPrefix(p, "localhost/") {
			p = p[len("localhost"):]
		}
	}
	if !filepath.IsAbs(p) && baseDir != "" {
		p = filepath.Join(baseDir, p)
	}
	return p, nil
}

// readModule reads a module file, refusing huge files before reading them.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxModuleBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxModuleBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidModule, maxModuleBytes)
	}
	return b, nil
}

// load checks the pin and the configuration, gets the compiled module and
// makes the stage.
func (h *Host) load(ctx context.Context, wasm []byte, sc engine.StageConfig) (engine.Stage, error) {
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	fail := func(err error) error { return &ModuleError{Module: sc.Name, Digest: digest, Err: err} }
	if sc.SHA256 != "" {
		want := strings.ToLower(strings.TrimPrefix(sc.SHA256, "sha256:"))
		if want != digest {
			return nil, fail(fmt.Errorf("%w: the module is sha256:%s, the configuration pins sha256:%s", ErrDigestMismatch, digest, want))
		}
	}
	if sc.Limits.MemoryPages > engine.MaxMemoryPages || sc.Instances < 1 || sc.Limits.Timeout <= 0 || sc.Limits.MaxOutputBytes <= 0 {
		return nil, fail(fmt.Errorf("host: invalid limits: memory_pages %d (1..%d), instances %d, timeout %s, max_output_bytes %d must be positive",
			sc.Limits.MemoryPages, engine.MaxMemoryPages, sc.Instances, sc.Limits.Timeout, sc.Limits.MaxOutputBytes))
	}
	if err := checkMagic(wasm); err != nil {
		return nil, fail(err)
	}
	preempt := h.preempt
	if !sc.Limits.Preempts() {
		preempt = preemptOff
		h.logger.Warn("stage runs without preemption: a call past its deadline cannot be stopped, only abandoned (it keeps a CPU, and the garbage collector stays off, until it returns); preempt: false is deprecated and no longer needed for speed (the default deadline check costs about as little)", "stage", sc.Name, "module", sc.Module, "digest", digest)
	}
	e, err := h.acquire(ctx, wasm, digest, sc.Limits.MemoryPages, preempt, time.Duration(sc.Limits.Timeout))
	if err != nil {
		return nil, fail(err)
	}
	s, err := newStage(h, e, sc)
	if err != nil {
		_ = h.release(ctx, e)
		return nil, fail(err)
	}
	return s, nil
}

// acquire returns the compiled module for (digest, pages, preempt), compiling it
// once however many callers ask at the same time.
func (h *Host) acquire(ctx context.Context, wasm []byte, digest string, pages uint32, preempt preemptMode, timeout time.Duration) (*cacheEntry, error) {
	key := cacheKey{digest: digest, pages: pages, preempt: preempt}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("host %w", ErrClosed)
	}
	if e, ok := h.modules[key]; ok {
		e.refs++
		h.mu.Unlock()
		<-e.ready
		if e.err != nil {
			_ = h.release(ctx, e)
			return nil, e.err
		}
		return e, nil
	}
	e := &cacheEntry{key: key, ready: make(chan struct{}), refs: 1}
	h.modules[key] = e
	h.mu.Unlock()

	h.compiles.Add(1)
	start := time.Now()
	e.c, e.err = compile(ctx, wasm, digest, pages, preempt, h.caches, h.logger, timeout)
	if e.err == nil {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "host: compiled module",
			slog.String("digest", digest), slog.Duration("took", time.Since(start)))
	}
	close(e.ready)
	if e.err != nil {
		_ = h.release(ctx, e)
		return nil, e.err
	}
	return e, nil
}

// release drops a reference to a compiled module and closes it with the
// last one.
func (h *Host) release(ctx context.Context, e *cacheEntry) error {
	h.mu.Lock()
	e.refs--
	last := e.refs == 0
	if last && h.modules != nil && h.modules[e.key] == e {
		delete(h.modules, e.key)
	}
	h.mu.Unlock()
	if last && e.c != nil {
		return e.c.close(ctx)
	}
	return nil
}
