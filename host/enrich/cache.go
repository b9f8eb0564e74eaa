package enrich

import (
	"time"

	"github.com/maypok86/otter/v2"
)

// ttlCache is a bounded in-memory cache whose entries expire after their
// own TTL (otter, with a per-entry expiry). Caches are shared between the
// Envs of a configuration (sharedCache).
type ttlCache struct {
	c *otter.Cache[cacheKey, cached]
}

// cacheKey is an entry's key: a namespace (the lookup kind, "PTR ", "get
// users\x00"...) and the key proper. A struct rather than one
// concatenated string so that a lookup allocates nothing.
type cacheKey struct {
	ns, k string
}

type cached struct {
	res Result
	ttl time.Duration
}

// defaultMaxEntries bounds a cache whose configuration sets no bound.
const defaultMaxEntries = 100_000

func newTTLCache(maxEntries int) *ttlCache {
	if maxEntries <= 0 {
		maxEntries = defaultMaxEntries
	}
	c := otter.Must(&otter.Options[cacheKey, cached]{
		MaximumSize: maxEntries,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[cacheKey, cached]) time.Duration {
			return e.Value.ttl
		}),
	})
	return &ttlCache{c: c}
}

// get returns a live entry (otter checks the expiry on read).
func (t *ttlCache) get(ns, key string) (Result, bool) {
	if t == nil {
		return Result{}, false
	}
	v, ok := t.c.GetIfPresent(cacheKey{ns, key})
	return v.res, ok
}

// set stores r for ttl (nothing when ttl <= 0).
func (t *ttlCache) set(ns, key string, r Result, ttl time.Duration) {
	if t == nil || ttl <= 0 {
		return
	}
	t.c.Set(cacheKey{ns, key}, cached{res: r, ttl: ttl})
}

func (t *ttlCache) delete(ns, key string) {
	if t != nil {
		t.c.Invalidate(cacheKey{ns, key})
	}
}
