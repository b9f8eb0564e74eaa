package enrich

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"
)

// registry shares values (caches, clients, MMDB readers) between the Envs
// of a process whose configuration is the same: two stages with the same
// resolver, or the new version of a hot-swapped stage built while the old
// one still serves, use one warm cache. Entries are weak: a value no Env
// holds any more is collected and its entry removed, so the registry
// holds at most the values of the configurations in use, each bounded.
type registry[V any] struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[V]
}

// get returns the live value for key, or builds, stores and returns a new
// one. build runs under the registry's lock: two Envs created at once
// with the same configuration get one value.
func (r *registry[V]) get(key string, build func() (*V, error)) (*V, error) {
	return r.update(key, func(old *V) (*V, error) {
		if old != nil {
			return old, nil
		}
		return build()
	})
}

// update stores and returns what fn makes of the live value for key (nil
// when there is none): the same value, or a new one replacing it for the
// Envs created from now on. fn runs under the registry's lock.
func (r *registry[V]) update(key string, fn func(old *V) (*V, error)) (*V, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var old *V
	if wp, ok := r.m[key]; ok {
		old = wp.Value()
	}
	v, err := fn(old)
	if err != nil {
		return nil, err
	}
	if v == old {
		return v, nil
	}
	if r.m == nil {
		r.m = map[string]weak.Pointer[V]{}
	}
	r.m[key] = weak.Make(v)
	runtime.AddCleanup(v, r.forget, key)
	return v, nil
}

// forget removes key once its value has been collected (unless a new
// value replaced it).
func (r *registry[V]) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if wp, ok := r.m[key]; ok && wp.Value() == nil {
		delete(r.m, key)
	}
}

// has reports whether key has a live value.
func (r *registry[V]) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	wp, ok := r.m[key]
	return ok && wp.Value() != nil
}

// The process's shared values.
var (
	sharedCaches  registry[ttlCache]  // DNS, HTTP and DynamoDB result caches, memory key-value caches
	sharedClients registry[ddbClient] // DynamoDB clients by region and endpoint
	sharedMMDB    registry[mmdbDB]    // MMDB readers by source and version
	sharedStatic  registry[staticDNS] // static DNS answer files by path and version
)

// sharedCache returns the cache of a configuration, bounded to
// maxEntries. kind and parts identify the configuration: everything that
// changes what a cached answer is (resolver, TTLs, allow-lists...).
func sharedCache(maxEntries int, kind string, parts ...string) *ttlCache {
	key := configKey(kind, append(parts, strconv.Itoa(maxEntries))...)
	c, _ := sharedCaches.get(key, func() (*ttlCache, error) { return newTTLCache(maxEntries), nil })
	return c
}

// configKey joins a configuration's parts unambiguously.
func configKey(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// durKey is a duration as a configuration part.
func durKey(d time.Duration) string { return strconv.FormatInt(int64(d), 10) }
