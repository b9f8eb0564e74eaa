package swap

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/source"
)

// Defaults of Options.
const (
	DefaultFetchTimeout = 30 * time.Second
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = 5 * time.Minute
)

// Options configure a Loader.
type Options struct {
	// Host compiles the modules. Required.
	Host *host.Host
	// Sources carries the AWS and HTTP clients and the defaults used to
	// open references; a configuration's "sources" block overrides its
	// AppConfig mode, agent address and HTTPS allow list.
	Sources source.Options
	// Logger receives one line per swap, refused version and source
	// error. Nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives the counters; nil makes a new one (see
	// Loader.Metrics).
	Metrics *Metrics
	// FetchTimeout bounds one fetch (default DefaultFetchTimeout, or the
	// configuration's sources.timeout).
	FetchTimeout time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff after
	// source failures (defaults DefaultBackoffMin, DefaultBackoffMax).
	BackoffMin, BackoffMax time.Duration
	// Resolve, when set, resolves the ${secret:...} and ${env:...}
	// references of every pipeline configuration OpenPipeline loads
	// (each new version again, so it gets refreshed values); see
	// secrets.Pool.Resolve. PipelineVersion.Config is the resolved copy.
	Resolve func(context.Context, *engine.Config) (*engine.Config, error)
}

// maxSignatureBytes caps a fetched signature file.
const maxSignatureBytes = 4 << 10

// Loader builds swappable stages and pipelines and runs their watchers.
type Loader struct {
	o      Options
	log    *slog.Logger
	m      *Metrics
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewLoader returns a Loader.
func NewLoader(o Options) (*Loader, error) {
	if o.Host == nil {
		return nil, errors.New("swap: Options.Host is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = &Metrics{}
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(DefaultBackoffMax, o.BackoffMin)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Loader{o: o, log: o.Logger, m: o.Metrics, ctx: ctx, cancel: cancel}, nil
}

// Metrics returns the loader's counters.
func (l *Loader) Metrics() *Metrics { return l.m }

// Close stops every watcher and waits for them. Stages and pipelines keep
// serving their current versions until they are closed.
func (l *Loader) Close() {
	l.cancel()
	l.wg.Wait()
}

// RefusedError is a version refused by a check. Reason is one of the
// Reason* constants.
//
// A refusal is keyed by everything that decided it: the version of the
// watched object (module or configuration), the version of the module's
// signature when the signature decided it, and the stage's configuration
// (sha256 pin, public key), which is fixed for a watcher (a new
// configuration builds new watchers). A watcher does not retry a refused
// version until one of these changes: it keeps polling the signature of a
// module refused for its signature, and the module (and signature) of a
// stage that made a pipeline configuration fail to build.
type RefusedError struct {
	Target, Reason, Version string
	// Signature is the source version of the signature that decided the
	// refusal, or "" when no signature did.
	Signature string
	Err       error
	// recheck polls the inputs of the refusal other than the watched
	// object and reports whether one changed; nil when there are none.
	recheck func(context.Context) (bool, error)
}

// Error names the target, the version and the reason.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: version %s refused (%s): %v", e.Target, e.Version, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *RefusedError) Unwrap() error { return e.Err }

// sourceOptions merges a configuration's sources block into the loader's.
func (l *Loader) sourceOptions(sc engine.SourcesConfig, baseDir string) source.Options {
	o := l.o.Sources
	o.BaseDir = baseDir
	if sc.AppConfig != "" {
		o.AppConfig = sc.AppConfig
	}
	if sc.AgentAddress != "" {
		o.AgentAddress = sc.AgentAddress
	}
	if len(sc.HTTPSAllow) > 0 {
		o.HTTPSAllow = append(append([]string(nil), o.HTTPSAllow...), sc.HTTPSAllow...)
	}
	if sc.AssumeRoleARN != "" {
		o.AssumeRoleARN = sc.AssumeRoleARN
	}
	return o
}

func (l *Loader) fetchTimeout(sc engine.SourcesConfig) time.Duration {
	if sc.Timeout > 0 {
		return time.Duration(sc.Timeout)
	}
	return l.o.FetchTimeout
}

// Builder returns the engine.StageBuilder of cfg's stages: each module is
// fetched from its source, verified, compiled and smoke-tested; a stage
// with a poll interval is a *Stage kept up to date by a watcher until it
// is closed.
func (l *Loader) Builder(cfg *engine.Config) engine.StageBuilder {
	srcs := cfg.Sources
	return func(ctx context.Context, sc engine.StageConfig, baseDir string) (engine.Stage, error) {
		return l.buildStage(ctx, srcs, sc, baseDir)
	}
}

// moduleTarget is one stage's module: its sources and checks. It is used
// by one goroutine at a time (the build, then the stage's watcher).
type moduleTarget struct {
	l       *Loader
	sc      engine.StageConfig
	src     source.Source
	sig     *tracked // nil without a public key
	pub     ed25519.PublicKey
	timeout time.Duration
}

// tracked is a source and the last version fetched from it, polled
// conditionally. A signature is tracked rather than fetched whole for
// every module version so that a source that answers "unchanged" (an
// AppConfigData session) still yields its content.
type tracked struct {
	src  source.Source
	last *source.Object // nil before the first fetch
	err  error          // the error that came with last (ErrTooLarge)
}

// poll fetches a new version if there is one and reports whether there
// was. A version over the size cap counts as a new version and returns
// its ErrTooLarge error (again on later polls while it stays).
func (tr *tracked) poll(ctx context.Context, timeout time.Duration) (bool, error) {
	prev := ""
	if tr.last != nil {
		prev = tr.last.Version
	}
	fctx, cancel := context.WithTimeout(ctx, timeout)
	obj, err := tr.src.Fetch(fctx, prev)
	cancel()
	switch {
	case errors.Is(err, source.ErrNotModified) && tr.last != nil:
		return false, tr.err
	case obj != nil && (err == nil || errors.Is(err, source.ErrTooLarge)):
		tr.last, tr.err = obj, err
		return true, err
	case err == nil:
		err = fmt.Errorf("source %s: %w: no object", tr.src.Ref(), source.ErrUnavailable)
	}
	return false, err
}

// version is the source version held, or "".
func (tr *tracked) version() string {
	if tr.last == nil {
		return ""
	}
	return tr.last.Label()
}

func (l *Loader) buildStage(ctx context.Context, srcs engine.SourcesConfig, sc engine.StageConfig, baseDir string) (engine.Stage, error) {
	if sc.IsBuiltin() {
		// A built-in stage compiles its transforms list; nothing to fetch.
		// A swapped pipeline configuration rebuilds it like any stage.
		st, err := builtin.NewStage(sc.RawTransforms())
		if err != nil {
			return nil, err
		}
		if err := smokeTest(ctx, st, sc.Smoke); err != nil {
			return nil, fmt.Errorf("smoke test: %w", err)
		}
		for _, w := range st.Warnings() {
			l.log.LogAttrs(ctx, slog.LevelWarn, "swap: built-in stage: "+w, slog.String("stage", sc.Name))
		}
		l.log.LogAttrs(ctx, slog.LevelInfo, "swap: built-in stage compiled", slog.String("stage", sc.Name), slog.Int("transforms", len(sc.Transforms)))
		return st, nil
	}
	so := l.sourceOptions(srcs, baseDir)
	if sc.MaxModuleBytes > 0 {
		so.MaxBytes = sc.MaxModuleBytes
	}
	src, err := source.Open(ctx, sc.Module, so)
	if err != nil {
		return nil, err
	}
	t := &moduleTarget{l: l, sc: sc, src: src, timeout: l.fetchTimeout(srcs)}
	if sc.PublicKey != "" {
		if t.pub, err = source.ParsePublicKey(sc.PublicKey); err != nil {
			return nil, err
		}
		ref := sc.Signature
		if ref == "" {
			ref = source.SignatureRef(sc.Module)
		}
		so.MaxBytes = maxSignatureBytes
		sig, err := source.Open(ctx, ref, so)
		if err != nil {
			return nil, err
		}
		t.sig = &tracked{src: sig}
	}
	// The module is tracked too: when this build is a pipeline
	// configuration's and the module is refused, the pipeline's watcher
	// retries the configuration once the module (or its signature) is no
	// longer the version that decided. (A comparison of versions rather
	// than "changed since the last poll": a retry that fails at its
	// source is tried again at the next poll.)
	mod := &tracked{src: src}
	_, err = mod.poll(ctx, t.timeout)
	decided := mod.version()
	moduleChanged := func(ctx context.Context) (bool, error) {
		if _, err := mod.poll(ctx, t.timeout); err != nil && !errors.Is(err, source.ErrTooLarge) {
			return false, err
		}
		return mod.version() != decided, nil
	}
	if err != nil {
		if errors.Is(err, source.ErrTooLarge) {
			return nil, &RefusedError{Target: sc.Name, Reason: ReasonTooLarge, Version: mod.version(), Err: err, recheck: moduleChanged}
		}
		return nil, err
	}
	obj := mod.last
	v, st, err := t.load(ctx, obj)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			sigChanged := re.recheck
			re.recheck = func(ctx context.Context) (bool, error) {
				if changed, err := moduleChanged(ctx); changed || err != nil {
					return changed, err
				}
				if sigChanged != nil {
					return sigChanged(ctx)
				}
				return false, nil
			}
		}
		return nil, err
	}
	l.m.serving(sc.Name, v, false)
	l.log.LogAttrs(ctx, slog.LevelInfo, "swap: module loaded", slog.String("stage", sc.Name), slog.String("version", v.String()), slog.Duration("compile", v.CompileTime))
	if sc.Poll <= 0 {
		return st, nil
	}
	s := NewStage(sc.Name, v, st)
	wctx, stop := context.WithCancel(l.ctx)
	s.stop = stop
	l.wg.Go(func() {
		l.watch(wctx, sc.Name, src, time.Duration(sc.Poll), t.timeout, obj.Version, func(ctx context.Context, obj *source.Object) error {
			v, st, err := t.load(ctx, obj)
			if err != nil {
				return err
			}
			if err := s.Swap(v, st); err != nil {
				return err
			}
			l.m.serving(sc.Name, v, true)
			l.log.LogAttrs(ctx, slog.LevelInfo, "swap: module swapped", slog.String("stage", sc.Name), slog.String("version", v.String()), slog.Duration("compile", v.CompileTime))
			return nil
		})
	})
	return s, nil
}

// load checks one fetched version, compiles it and runs the smoke tests.
// A check that fails returns a *RefusedError; a signature that cannot be
// fetched returns an ErrUnavailable error (retried).
func (t *moduleTarget) load(ctx context.Context, obj *source.Object) (Version, engine.Stage, error) {
	sc := t.sc
	v := Version{Ref: sc.Module, Digest: source.Digest(obj.Data), SourceVersion: obj.Label()}
	refuse := func(reason string, err error) (Version, engine.Stage, error) {
		return v, nil, &RefusedError{Target: sc.Name, Reason: reason, Version: v.String(), Err: err}
	}
	if err := source.CheckDigest(obj.Data, sc.SHA256); err != nil {
		return refuse(ReasonDigest, fmt.Errorf("%w (pinned by sha256 in the configuration)", err))
	}
	if err := source.CheckDigest(obj.Data, obj.SHA256); err != nil {
		return refuse(ReasonDigest, fmt.Errorf("%w (announced by the source)", err))
	}
	if t.pub != nil {
		_, err := t.sig.poll(ctx, t.timeout)
		if err != nil && !errors.Is(err, source.ErrTooLarge) {
			return v, nil, fmt.Errorf("signature of %s: %w", v, err)
		}
		if err == nil {
			err = source.VerifySignature(t.pub, obj.Data, t.sig.last.Data)
		}
		if err != nil {
			// Keyed by the module and the signature versions: a new
			// signature for the same module is checked again.
			decided := t.sig.version()
			return v, nil, &RefusedError{Target: sc.Name, Reason: ReasonSignature, Version: v.String(), Signature: decided,
				Err: fmt.Errorf("%s: %w", t.sig.src.Ref(), err),
				recheck: func(ctx context.Context) (bool, error) {
					if _, err := t.sig.poll(ctx, t.timeout); err != nil && !errors.Is(err, source.ErrTooLarge) {
						return false, err
					}
					return t.sig.version() != decided, nil
				}}
		}
	}
	if err := source.CheckWasm(obj.Data); err != nil {
		return refuse(ReasonNotWasm, err)
	}
	lsc := sc
	lsc.Module = v.Label()
	lsc.SHA256 = ""
	start := time.Now()
	st, err := t.l.o.Host.LoadModule(ctx, sc.Name, obj.Data, lsc)
	v.CompileTime = time.Since(start)
	t.l.m.compiled(v.CompileTime)
	if err != nil {
		reason := ReasonCompile
		if msg := err.Error(); strings.Contains(msg, "unsatisfied imports") || strings.Contains(msg, "entry") || strings.Contains(msg, "ABI") || strings.Contains(msg, "exports no entry point") {
			reason = ReasonImports
		}
		return refuse(reason, err)
	}
	if err := smokeTest(ctx, st, sc.Smoke); err != nil {
		_ = st.Close(ctx)
		return refuse(ReasonSmoke, err)
	}
	return v, st, nil
}

// smokeTest runs the smoke records through st and checks their outcome.
func smokeTest(ctx context.Context, st engine.Stage, tests []engine.SmokeTest) error {
	if len(tests) == 0 {
		return nil
	}
	recs := make([]engine.Record, len(tests))
	for i, t := range tests {
		recs[i] = engine.Record{Data: []byte(t.Input), Meta: engine.Metadata{Source: "smoke", SequenceNumber: fmt.Sprint(i)}}
	}
	res, err := st.Process(ctx, recs)
	if err != nil {
		return fmt.Errorf("smoke tests: the batch failed: %w", err)
	}
	if len(res) != len(recs) {
		return fmt.Errorf("smoke tests: %d results for %d records", len(res), len(recs))
	}
	for i, t := range tests {
		r := res[i]
		if r.Status == engine.StatusFailed {
			return fmt.Errorf("smoke test %d: the record failed: %v", i, r.Err)
		}
		if t.Expect == nil {
			continue
		}
		got := make([]string, 0, len(r.Outputs))
		for _, o := range r.Outputs {
			got = append(got, string(o.Data))
		}
		want := *t.Expect
		if !equalStrings(got, want) {
			return fmt.Errorf("smoke test %d: got outputs %q, want %q", i, got, want)
		}
	}
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// watch polls src every interval (or the source's own minimum) and hands
// every new version to apply, until ctx ends. last is the version held.
// After a refusal that other inputs decided too (a signature; a module of
// a pipeline configuration), it polls those inputs as well while src is
// unchanged, and hands the refused object to apply again when one of them
// changes.
func (l *Loader) watch(ctx context.Context, target string, src source.Source, every, timeout time.Duration, last string, apply func(context.Context, *source.Object) error) {
	failures := 0
	var (
		held    *source.Object                      // the refused version, kept for a retry
		recheck func(context.Context) (bool, error) // its other inputs changed?
	)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := max(every, src.MinInterval())
		if failures > 0 {
			wait = l.backoff(failures, every)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		l.m.polls.Add(1)
		fctx, cancel := context.WithTimeout(ctx, timeout)
		obj, err := src.Fetch(fctx, last)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, source.ErrNotModified) && recheck != nil {
			var changed bool
			if changed, err = recheck(ctx); err == nil {
				if changed {
					obj = held
					l.log.LogAttrs(ctx, slog.LevelInfo, "swap: retrying a refused version: an input that decided its refusal changed",
						slog.String("target", target), slog.String("ref", src.Ref()), slog.String("version", obj.Label()))
				} else {
					err = source.ErrNotModified
				}
			}
			if ctx.Err() != nil {
				return
			}
		}
		if err == nil {
			err = apply(ctx, obj)
			if ctx.Err() != nil {
				return
			}
		}
		var re *RefusedError
		switch {
		case err == nil:
			failures, last = 0, obj.Version
			held, recheck = nil, nil
		case errors.Is(err, source.ErrNotModified):
			failures = 0
			l.m.unchanged.Add(1)
		case errors.As(err, &re): // before ErrTooLarge: a pipeline refused for a stage's too large module keeps its recheck
			failures, last = 0, obj.Version
			held, recheck = nil, re.recheck
			if recheck != nil {
				held = obj
			}
			digest := ""
			if obj != nil {
				digest = source.Digest(obj.Data)
			}
			l.m.refuse(re.Reason, target, digest)
			attrs := []slog.Attr{slog.String("target", target), slog.String("ref", src.Ref()),
				slog.String("version", re.Version), slog.String("reason", re.Reason), slog.String("error", re.Err.Error())}
			if re.Signature != "" {
				attrs = append(attrs, slog.String("signature_version", re.Signature))
			}
			l.log.LogAttrs(ctx, slog.LevelWarn, "swap: version refused", attrs...)
		case errors.Is(err, source.ErrTooLarge):
			failures, last = 0, obj.Version
			held, recheck = nil, nil
			l.m.refuse(ReasonTooLarge, target, "")
			l.log.LogAttrs(ctx, slog.LevelWarn, "swap: version refused", slog.String("target", target), slog.String("ref", src.Ref()),
				slog.String("version", obj.Label()), slog.String("reason", ReasonTooLarge), slog.String("error", err.Error()))
		case errors.Is(err, ErrClosed):
			return
		default:
			failures++
			l.m.sourceError(target)
			l.log.LogAttrs(ctx, slog.LevelWarn, "swap: source error, backing off", slog.String("target", target), slog.String("ref", src.Ref()),
				slog.Int("failures", failures), slog.Duration("retry_in", l.backoff(failures, every)), slog.String("error", err.Error()))
		}
	}
}

// backoff is the wait after n consecutive failures: exponential from
// max(BackoffMin, every), capped at BackoffMax, with jitter (half to all
// of it).
func (l *Loader) backoff(n int, every time.Duration) time.Duration {
	d := max(l.o.BackoffMin, min(every, l.o.BackoffMax))
	for i := 1; i < n && d < l.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, l.o.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

// workingDir is the folder relative paths of a remote configuration
// resolve against.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

// configDir returns the folder of a file reference, or "".
func configDir(ref, baseDir string) string {
	p := ref
	if scheme, rest, ok := strings.Cut(ref, "://"); ok {
		if !strings.EqualFold(scheme, "file") {
			return ""
		}
		p = strings.TrimPrefix(rest, "localhost")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	return filepath.Dir(p)
}
