package enrich

import (
	"time"

	"github.com/maypok86/otter/v2"
)

// ttlCache is a bounded in-memory cache whose entries expire after their
// own TTL (otter, with a per-entry expiry).
type ttlCache struct {
	c *otter.Cache[string, cached]
}

type cached struct {
	res Result
	ttl time.Duration
	exp time.Time
}

func newTTLCache(maxEntries int) *ttlCache {
	if maxEntries <= 0 {
		maxEntries = 100_000
	}
	c := otter.Must(&otter.Options[string, cached]{
		MaximumSize: maxEntries,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, cached]) time.Duration {
			return e.Value.ttl
		}),
	})
	return &ttlCache{c: c}
}

// get returns a live entry.
func (t *ttlCache) get(key string) (Result, bool) {
	if t == nil {
		return Result{}, false
	}
	v, ok := t.c.GetIfPresent(key)
	if !ok || time.Now().After(v.exp) {
		return Result{}, false
	}
	return v.res, true
}

// set stores r for ttl (nothing when ttl <= 0).
func (t *ttlCache) set(key string, r Result, ttl time.Duration) {
	if t == nil || ttl <= 0 {
		return
	}
	t.c.Set(key, cached{res: r, ttl: ttl, exp: time.Now().Add(ttl)})
}

func (t *ttlCache) delete(key string) {
	if t != nil {
		t.c.Invalidate(key)
	}
}
