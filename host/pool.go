package host

import (
	"context"
	"sync"
)

// pool holds a stage's instances: at most cap(slots) exist at once, idle
// ones are reused last-in first-out (the warmest first), and new ones are
// made on demand.
type pool struct {
	slots  chan struct{}
	mu     sync.Mutex
	idle   []*instance
	closed bool
}

func newPool(size int) *pool {
	return &pool{slots: make(chan struct{}, size)}
}

// get takes a slot (waiting for one, or for ctx to end) and returns an idle
// instance, or nil when the caller must make one in that slot.
func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		return inst, nil
	}
	return nil, nil
}

// put gives back a slot; inst (if not nil) goes back to the idle list when
// keep is set and the pool is open, else it is closed.
func (p *pool) put(ctx context.Context, inst *instance, keep bool) {
	if inst != nil {
		p.mu.Lock()
		if keep && !p.closed {
			p.idle = append(p.idle, inst)
			inst = nil
		}
		p.mu.Unlock()
		if inst != nil {
			inst.close(ctx)
		}
	}
	<-p.slots
}

// close closes the idle instances; instances given back later are closed.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	for _, inst := range idle {
		inst.close(ctx)
	}
}
