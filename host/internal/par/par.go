// Package par runs the iterations of a loop on several goroutines, each
// taking the next index when it is done (a goroutine on a busy core does
// not hold the loop back). The host's stages (pieces of a batch), the
// Lambda handler (a Kinesis event's records) and host/deliver (calls in
// flight) share it.
package par

import (
	"sync"
	"sync/atomic"
)

// Each calls f(i) for every i in [0, n) on up to workers goroutines (the
// calling one included), indexes being started in increasing order, and
// returns when every call started has returned. Once a call returns
// false, no new call starts (those running finish). With workers <= 1 the
// calls run one after the other on the calling goroutine. f must be safe
// to run concurrently for different indexes.
func Each(n, workers int, f func(i int) bool) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if !f(i) {
				return
			}
		}
		return
	}
	var next atomic.Int64
	var stop atomic.Bool
	work := func() {
		for !stop.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			if !f(i) {
				stop.Store(true)
			}
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
