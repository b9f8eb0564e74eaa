package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/weirhq/weir/engine"
)

// SinkOptions configure OpenSinks.
type SinkOptions struct {
	// Stdout and Stderr are handed to engine.OpenSinksContext.
	Stdout, Stderr io.Writer
	// OnResolve, when set, is called with every configuration resolved
	// after a rotation, so that log redaction learns the new values
	// (Config.Redact) before any output can fail with them.
	OnResolve func(*engine.Config)
}

// OpenSinks opens the outputs of resolved (cfg with its references
// resolved by store, Config.Resolved) and keeps them current when a
// secret rotates: an output whose settings hold a ${secret:...} reference
// is reopened with the new value, between writes, once store has fetched
// a value different from the one it was opened with (Store.Generation;
// the store's background refresh fetches every refresh interval). The old
// sink is flushed (with the old value) and closed after the writes in
// flight; a rotation that fails to resolve or to open keeps the old sink,
// and the write goes on with it and returns no error of its own (the
// failure is logged and tried again at the next write).
//
// Outputs without references are opened as engine.OpenSinksContext opens
// them and never change. cfg keeps the references; resolved is the copy
// the pipeline runs with.
func OpenSinks(ctx context.Context, cfg, resolved *engine.Config, store *Store, opts SinkOptions) (map[string]engine.Sink, error) {
	sinks, err := engine.OpenSinksContext(ctx, resolved, opts.Stdout, opts.Stderr)
	if err != nil || store == nil {
		return sinks, err
	}
	r := &rotation{cfg: cfg, store: store, opts: opts, gen: store.Generation(), last: resolved, resolved: map[string]engine.OutputConfig{}}
	for name, oc := range cfg.Outputs {
		if reflect.DeepEqual(oc, resolved.Outputs[name]) {
			continue // no reference in this output's settings
		}
		r.resolved[name] = resolved.Outputs[name]
		rs := &rotatingSink{name: name, r: r, cur: sinks[name]}
		r.sinks = append(r.sinks, rs)
		sinks[name] = rs
	}
	return sinks, nil
}

// rotation is the state shared by the rotating outputs of one
// configuration.
type rotation struct {
	cfg   *engine.Config
	store *Store
	opts  SinkOptions

	mu       sync.Mutex
	gen      uint64                         // the store generation resolved last
	last     *engine.Config                 // the configuration resolved last
	resolved map[string]engine.OutputConfig // the output settings in use
	sinks    []*rotatingSink
}

// rotatingSink is one output that follows its secrets.
type rotatingSink struct {
	name string
	r    *rotation

	mu  sync.RWMutex // held for reading by writes, for writing by a swap
	cur engine.Sink
}

// Write reopens the rotating outputs first when a secret changed.
func (s *rotatingSink) Write(ctx context.Context, outputs []engine.Output) error {
	if s.r.store.Generation() != s.r.current() {
		s.r.rotate(ctx)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur.Write(ctx, outputs)
}

// Flush flushes the current sink when it holds outputs
// (engine.FlushSinks).
func (s *rotatingSink) Flush(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if f, ok := s.cur.(engine.Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// Close closes the current sink.
func (s *rotatingSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Close(ctx)
}

func (r *rotation) current() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen
}

// rotate resolves the configuration again and reopens the outputs whose
// settings changed.
func (r *rotation) rotate(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gen, prev := r.store.Generation(), r.gen
	if gen == prev {
		return // another write rotated first
	}
	log := r.store.opts.Logger
	resolved, err := r.cfg.Resolved(ctx, r.store)
	if err != nil {
		log.Warn("secret rotation: the outputs keep their settings", "err", err)
		return
	}
	if r.opts.OnResolve != nil {
		r.opts.OnResolve(resolved)
	}
	changed := &engine.Config{}
	*changed = *resolved
	changed.Outputs = map[string]engine.OutputConfig{}
	for _, s := range r.sinks {
		if oc := resolved.Outputs[s.name]; !reflect.DeepEqual(oc, r.resolved[s.name]) {
			changed.Outputs[s.name] = oc
		}
	}
	r.gen = gen
	if len(changed.Outputs) == 0 {
		return // the rotated secrets are not in the outputs
	}
	opened, err := engine.OpenSinksContext(ctx, changed, r.opts.Stdout, r.opts.Stderr)
	if err != nil {
		r.gen = prev // try again at the next write
		log.Warn("secret rotation: reopening outputs failed; they keep their settings", "err", err)
		return
	}
	old := map[string]engine.Sink{} // by output name: the sinks replaced
	var names []string
	for _, s := range r.sinks {
		ns, ok := opened[s.name]
		if !ok {
			continue
		}
		delete(opened, s.name)
		s.mu.Lock()
		old[s.name] = s.cur
		s.cur = ns
		s.mu.Unlock()
		r.resolved[s.name] = changed.Outputs[s.name]
		names = append(names, s.name)
	}
	// OpenSinksContext adds a default route when the configuration has
	// none: not ours to keep.
	extra := engine.CloseSinks(ctx, opened)
	if err := errors.Join(engine.CloseSinks(ctx, old), extra); err != nil {
		log.Warn("secret rotation: closing the outputs opened with the old value", "err", resolved.Redact(r.last.Redact(err.Error())))
	}
	r.last = resolved
	log.Info("secret rotation: outputs reopened with the new value", "outputs", fmt.Sprint(names))
}
