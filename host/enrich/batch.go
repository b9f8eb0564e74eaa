package enrich

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// resolver resolves one key; resolve recovers its panics.
type resolver func(ctx context.Context, key string) Result

// bulkResolver resolves many distinct keys at once (a BatchGetItem), one
// result per key in order.
type bulkResolver func(ctx context.Context, keys []string) []Result

// batchSpec says how a batch of keys is resolved.
type batchSpec struct {
	cache       *ttlCache
	prefix      string // cache key namespace
	ttl, negTTL time.Duration
	concurrency int
	counters    *counters
}

// keySet is a call's keys de-duplicated: the distinct keys in first-seen
// order, and for each key the index of its distinct key.
type keySet struct {
	distinct []string
	idx      []int32
	seen     map[string]int32
}

// keySets recycles keySets (their map and slices) from call to call.
var keySets = sync.Pool{New: func() any { return &keySet{seen: map[string]int32{}} }}

// getKeySet returns an empty keySet for n keys; release it with
// putKeySet once its slices are no longer used.
func getKeySet(n int) *keySet {
	ks := keySets.Get().(*keySet)
	ks.idx = slices.Grow(ks.idx[:0], n)
	return ks
}

// putKeySet recycles ks, unless it grew too large to keep.
func putKeySet(ks *keySet) {
	if ks == nil || cap(ks.idx) > maxPooledKeys {
		return
	}
	clear(ks.distinct)
	ks.distinct = ks.distinct[:0]
	ks.idx = ks.idx[:0]
	clear(ks.seen)
	keySets.Put(ks)
}

// maxPooledKeys bounds the keySets kept for reuse.
const maxPooledKeys = 16 << 10

// add adds a key given as bytes: only a new distinct key is copied into a
// string (a map lookup by string(b) does not allocate).
func (ks *keySet) add(b []byte) {
	if j, ok := ks.seen[string(b)]; ok {
		ks.idx = append(ks.idx, j)
		return
	}
	ks.addNew(string(b))
}

// addString adds a key.
func (ks *keySet) addString(s string) {
	if j, ok := ks.seen[s]; ok {
		ks.idx = append(ks.idx, j)
		return
	}
	ks.addNew(s)
}

func (ks *keySet) addNew(s string) {
	j := int32(len(ks.distinct))
	ks.seen[s] = j
	ks.distinct = append(ks.distinct, s)
	ks.idx = append(ks.idx, j)
}

// answer is a call's results: one per distinct key, and for each key of
// the request the index of its result (nil: rs is in request order).
// keys, when set, is recycled once the response is written.
type answer struct {
	rs   []Result
	idx  []int32
	keys *keySet
}

// inOrder is an answer whose results are in request order.
func inOrder(rs []Result) answer { return answer{rs: rs} }

// count returns the number of keys answered.
func (a answer) count() int {
	if a.idx != nil {
		return len(a.idx)
	}
	return len(a.rs)
}

// expand returns one result per key of the request.
func (a answer) expand() []Result {
	if a.idx == nil {
		return a.rs
	}
	out := make([]Result, len(a.idx))
	for i, j := range a.idx {
		out[i] = a.rs[j]
	}
	return out
}

// resolve de-duplicates keys, serves them from the cache, resolves the
// misses concurrently (at most spec.concurrency at a time), caches
// positive and negative answers, and returns one result per key in order.
func resolve(ctx context.Context, spec batchSpec, keys []string, fn resolver) []Result {
	ks := getKeySet(len(keys))
	defer putKeySet(ks)
	for _, k := range keys {
		ks.addString(k)
	}
	return answer{rs: resolveSet(ctx, spec, ks.distinct, fn), idx: ks.idx}.expand()
}

// resolveSet resolves distinct keys (see resolve), one result per key.
func resolveSet(ctx context.Context, spec batchSpec, distinct []string, fn resolver) []Result {
	return resolveDistinct(ctx, spec, distinct, func(ctx context.Context, todo []string) []Result {
		results := make([]Result, len(todo))
		if len(todo) == 1 {
			results[0] = safeResolve(ctx, fn, todo[0])
			return results
		}
		var g errgroup.Group
		g.SetLimit(max(spec.concurrency, 1))
		for i, k := range todo {
			g.Go(func() error {
				results[i] = safeResolve(ctx, fn, k)
				return nil
			})
		}
		_ = g.Wait()
		return results
	})
}

// resolveBulk is resolve with the misses handed to bulk in one call.
func resolveBulk(ctx context.Context, spec batchSpec, keys []string, bulk bulkResolver) []Result {
	ks := getKeySet(len(keys))
	defer putKeySet(ks)
	for _, k := range keys {
		ks.addString(k)
	}
	return answer{rs: resolveDistinct(ctx, spec, ks.distinct, bulk), idx: ks.idx}.expand()
}

// resolveDistinct serves distinct keys from the cache and hands the
// misses to bulk in one call, caching what it answers: ok results for
// spec.ttl, negative ones for spec.negTTL, errors never.
func resolveDistinct(ctx context.Context, spec batchSpec, distinct []string, bulk bulkResolver) []Result {
	out := make([]Result, len(distinct))
	var todo []string
	var todoIdx []int
	var hits int64
	for i, k := range distinct {
		if r, ok := spec.cache.get(spec.prefix, k); ok {
			out[i] = r
			hits++
			continue
		}
		todo, todoIdx = append(todo, k), append(todoIdx, i)
	}
	spec.counters.hits.Add(hits)
	if len(todo) == 0 {
		return out
	}
	spec.counters.misses.Add(int64(len(todo)))
	results := safeBulk(ctx, bulk, todo)
	for j, k := range todo {
		r := results[j]
		switch r.Status {
		case StatusOK:
			spec.cache.set(spec.prefix, k, r, spec.ttl)
		case StatusNotFound:
			spec.cache.set(spec.prefix, k, r, spec.negTTL)
		case StatusError:
			spec.counters.errors.Add(1)
		}
		out[todoIdx[j]] = r
	}
	return out
}

// safeBulk runs bulk, turning a panic or a wrong result count into error
// results.
func safeBulk(ctx context.Context, bulk bulkResolver, keys []string) (rs []Result) {
	defer func() {
		if p := recover(); p != nil {
			rs = allResults(len(keys), errResult("internal error: %v", p))
		}
	}()
	rs = bulk(ctx, keys)
	if len(rs) != len(keys) {
		panic(fmt.Sprintf("%d results for %d keys", len(rs), len(keys)))
	}
	return rs
}

// safeResolve runs fn, turning a panic into an error result and refusing
// to start once ctx is done.
func safeResolve(ctx context.Context, fn resolver, key string) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = errResult("internal error: %v", p)
		}
	}()
	if err := ctx.Err(); err != nil {
		return errResult("%v", context.Cause(ctx))
	}
	return fn(ctx, key)
}

// counters count one host function's activity.
type counters struct {
	calls, keys, hits, misses, errors, denied atomic.Int64
}

// FuncStats are one host function's counters.
type FuncStats struct {
	Calls, Keys, CacheHits, CacheMisses, Errors, Denied int64
}

func (c *counters) snapshot() FuncStats {
	return FuncStats{
		Calls: c.calls.Load(), Keys: c.keys.Load(), CacheHits: c.hits.Load(),
		CacheMisses: c.misses.Load(), Errors: c.errors.Load(), Denied: c.denied.Load(),
	}
}

func (c *counters) String() string {
	s := c.snapshot()
	return fmt.Sprintf("calls=%d keys=%d hits=%d misses=%d errors=%d denied=%d", s.Calls, s.Keys, s.CacheHits, s.CacheMisses, s.Errors, s.Denied)
}
