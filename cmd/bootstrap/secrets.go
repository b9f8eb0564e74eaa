package main

import (
	"io"
	"sync"

	"github.com/weirhq/weir/engine"
)

// logRedactor is the writer under the bootstrap's logger: it replaces the
// values that the references of every configuration loaded so far
// resolved to with the references themselves (engine.Config.Redact), so
// that no secret reaches CloudWatch Logs through a log line or an error.
type logRedactor struct {
	w io.Writer

	mu   sync.Mutex
	cfgs []*engine.Config
}

// add makes r redact cfg's resolved values too.
func (r *logRedactor) add(cfg *engine.Config) {
	if cfg == nil || !cfg.HasSecrets() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cfgs {
		if c == cfg {
			return
		}
	}
	r.cfgs = append(r.cfgs, cfg)
}

// redact replaces the values of every configuration added in s.
func (r *logRedactor) redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cfgs {
		s = c.Redact(s)
	}
	return s
}

func (r *logRedactor) Write(p []byte) (int, error) {
	s := r.redact(string(p))
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
