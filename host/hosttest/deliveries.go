package hosttest

import (
	"testing"

	"github.com/weirhq/weir/engine"
)

// CheckDeliveredOnce fails the test for every output whose Data followed
// by suffix is not among accepted exactly once (what a loopback service
// recorded), as "output I VERB N times".
func CheckDeliveredOnce(tb testing.TB, outs []engine.Output, accepted []string, suffix, verb string) {
	tb.Helper()
	seen := map[string]int{}
	for _, a := range accepted {
		seen[a]++
	}
	for i, o := range outs {
		if n := seen[string(o.Data)+suffix]; n != 1 {
			tb.Errorf("output %d %s %d times", i, verb, n)
		}
	}
}

// CallSizes returns the number of entries of each call a loopback service
// recorded.
func CallSizes[T any](calls [][]T) []int {
	var sizes []int
	for _, c := range calls {
		sizes = append(sizes, len(c))
	}
	return sizes
}
