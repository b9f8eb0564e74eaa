package main

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/secrets"
)

// resolveSecrets returns cfg with its ${secret:...} and ${env:...}
// references resolved (cfg itself keeps them) and, when it holds any,
// makes everything written to g.stderr (logs and errors) show the
// references in place of their values. stop ends the background refresh.
func resolveSecrets(ctx context.Context, g *globals, cfg *engine.Config) (resolved *engine.Config, stop func(), err error) {
	if len(cfg.Refs()) == 0 {
		return cfg, func() {}, nil
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
		return nil, nil, err
	}
	if r.HasSecrets() {
		g.stderr = &redactWriter{w: g.stderr, redact: r.Redact}
	}
	st.Start(ctx)
	return r, st.Close, nil
}

// redactWriter replaces resolved values by their references in every
// write (slog and error lines are written whole).
type redactWriter struct {
	mu     sync.Mutex
	w      io.Writer
	redact func(string) string
}

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.w, r.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
