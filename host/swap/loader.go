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
}

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
type RefusedError struct {
	Target, Reason, Version string
	Err                     error
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

// moduleTarget is one stage's module: its sources and checks.
type moduleTarget struct {
	l       *Loader
	sc      engine.StageConfig
	src     source.Source
	sig     source.Source
	pub     ed25519.PublicKey
	timeout time.Duration
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
		so.MaxBytes = 4 << 10
		if t.sig, err = source.Open(ctx, ref, so); err != nil {
			return nil, err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, t.timeout)
	obj, err := src.Fetch(fctx, "")
	cancel()
	if err != nil {
		return nil, err
	}
	v, st, err := t.load(ctx, obj)
	if err != nil {
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
		fctx, cancel := context.WithTimeout(ctx, t.timeout)
		sig, err := t.sig.Fetch(fctx, "")
		cancel()
		if err != nil {
			return v, nil, fmt.Errorf("signature of %s: %w", v, err)
		}
		if err := source.VerifySignature(t.pub, obj.Data, sig.Data); err != nil {
			return refuse(ReasonSignature, fmt.Errorf("%s: %w", t.sig.Ref(), err))
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
func (l *Loader) watch(ctx context.Context, target string, src source.Source, every, timeout time.Duration, last string, apply func(context.Context, *source.Object) error) {
	failures := 0
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
		case errors.Is(err, source.ErrNotModified):
			failures = 0
			l.m.unchanged.Add(1)
		case errors.Is(err, source.ErrTooLarge):
			failures, last = 0, obj.Version
			l.m.refuse(ReasonTooLarge)
			l.log.LogAttrs(ctx, slog.LevelWarn, "swap: version refused", slog.String("target", target), slog.String("ref", src.Ref()),
				slog.String("version", obj.Label()), slog.String("reason", ReasonTooLarge), slog.String("error", err.Error()))
		case errors.As(err, &re):
			failures, last = 0, obj.Version
			l.m.refuse(re.Reason)
			l.log.LogAttrs(ctx, slog.LevelWarn, "swap: version refused", slog.String("target", target), slog.String("ref", src.Ref()),
				slog.String("version", re.Version), slog.String("reason", re.Reason), slog.String("error", re.Err.Error()))
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
