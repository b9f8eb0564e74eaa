package main

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/secrets"
)

// resolvedConfig is a configuration with its ${secret:...} and
// ${env:...} references resolved, and what keeps it current.
type resolvedConfig struct {
	raw    *engine.Config // references in place
	cfg    *engine.Config // references resolved (raw itself when it has none)
	store  *secrets.Store // nil when raw has no references
	redact *redactWriter  // nil when nothing resolved is secret
}

// resolveSecrets resolves cfg's references (cfg itself keeps them) and,
// when it holds any secret, makes everything written to g.stderr (logs
// and errors) show the references in place of their values. stop ends
// the background refresh.
func resolveSecrets(ctx context.Context, g *globals, cfg *engine.Config) (*resolvedConfig, error) {
	rc := &resolvedConfig{raw: cfg, cfg: cfg}
	if len(cfg.Refs()) == 0 {
		return rc, nil
	}
	st := secrets.New(secrets.Options{
		Region:        cfg.Secrets.Region,
		Endpoint:      cfg.Secrets.Endpoint,
		AssumeRoleARN: cfg.Secrets.AssumeRoleARN,
		Refresh:       time.Duration(cfg.Secrets.Refresh),
		Logger:        g.logger(),
	})
	r, err := cfg.Resolved(ctx, st)
	if err != nil {
		return nil, err
	}
	rc.cfg, rc.store = r, st
	if r.HasSecrets() {
		rc.redact = &redactWriter{w: g.stderr}
		rc.redact.add(r)
		g.stderr = rc.redact
	}
	st.Start(ctx)
	return rc, nil
}

// openSinks opens the configuration's outputs; those holding secrets are
// reopened with the new value when a secret rotates (secrets.OpenSinks).
func (rc *resolvedConfig) openSinks(ctx context.Context, g *globals) (map[string]engine.Sink, error) {
	opts := secrets.SinkOptions{Stdout: g.stdout, Stderr: g.stderr}
	if rc.redact != nil {
		opts.OnResolve = rc.redact.add
	}
	return secrets.OpenSinks(ctx, rc.raw, rc.cfg, rc.store, opts)
}

// stop ends the background refresh of the secrets.
func (rc *resolvedConfig) stop() {
	if rc.store != nil {
		rc.store.Close()
	}
}

// redactWriter replaces resolved values by their references in every
// write (slog and error lines are written whole), for every configuration
// resolved so far (a rotated secret's old and new values).
type redactWriter struct {
	mu   sync.Mutex
	w    io.Writer
	cfgs []*engine.Config
}

// add makes w redact the values cfg resolved to, too.
func (r *redactWriter) add(cfg *engine.Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfgs = append(r.cfgs, cfg)
}

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := string(p)
	for _, c := range r.cfgs {
		s = c.Redact(s)
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
