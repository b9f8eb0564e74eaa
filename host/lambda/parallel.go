package lambda

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// each calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines
// (the calling one included), each taking the next index when done, and
// returns when all calls have. f must be safe to run concurrently for
// different indexes.
func each(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(i)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
