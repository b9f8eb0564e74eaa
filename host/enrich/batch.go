package enrich

import (
	"context"
	"fmt"
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

// resolve de-duplicates keys, serves them from the cache, resolves the
// misses concurrently (at most spec.concurrency at a time), caches
// positive and negative answers, and returns one result per key in order.
func resolve(ctx context.Context, spec batchSpec, keys []string, fn resolver) []Result {
	return resolveBulk(ctx, spec, keys, func(ctx context.Context, todo []string) []Result {
		results := make([]Result, len(todo))
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
	out := make([]Result, len(keys))
	first := make(map[string]int, len(keys)) // key -> index of its result in todo, or -1 when cached
	var todo []string
	var todoRes []Result
	for _, k := range keys {
		if _, seen := first[k]; seen {
			continue
		}
		if r, ok := spec.cache.get(spec.prefix + k); ok {
			first[k] = -1 - len(todoRes) // negative: index in hits
			todoRes = append(todoRes, r)
			spec.counters.hits.Add(1)
			continue
		}
		spec.counters.misses.Add(1)
		first[k] = len(todo)
		todo = append(todo, k)
	}
	hits := todoRes
	var results []Result
	if len(todo) > 0 {
		results = safeBulk(ctx, bulk, todo)
	}
	for i, k := range todo {
		r := results[i]
		switch r.Status {
		case StatusOK:
			spec.cache.set(spec.prefix+k, r, spec.ttl)
		case StatusNotFound:
			spec.cache.set(spec.prefix+k, r, spec.negTTL)
		case StatusError:
			spec.counters.errors.Add(1)
		}
	}
	for i, k := range keys {
		j := first[k]
		if j < 0 {
			out[i] = hits[-1-j]
		} else {
			out[i] = results[j]
		}
	}
	return out
}

// safeBulk runs bulk, turning a panic or a wrong result count into error
// results.
func safeBulk(ctx context.Context, bulk bulkResolver, keys []string) (rs []Result) {
	defer func() {
		if p := recover(); p != nil {
			rs = nil
			for range keys {
				rs = append(rs, errResult("internal error: %v", p))
			}
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
