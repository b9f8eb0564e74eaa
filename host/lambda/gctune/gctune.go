// Package gctune sets the Go garbage collector for a Lambda container: a
// soft memory limit of 75% of the function's memory, unless GOMEMLIMIT is
// set. cmd/bootstrap calls Tune at start.
//
// GOGC is left at Go's default. It used to be raised to 400, when every
// batch allocated its output storage and the collector ran every few
// batches (400 then ran the built-ins' reference job 12-19% faster). Batch
// arenas (engine.Arena) took that garbage away: the built-ins run the same
// at 100 and 400, and on the Kinesis handler path 400 cost ~9% more CPU
// per event (more page faults, a larger heap; bench/RESULTS.md, "handler
// on two cores").
package gctune

import (
	"os"
	"runtime/debug"
	"strconv"
)

// MemoryLimitShare is the part of the function's memory the Go heap may
// use (GOMEMLIMIT) when GOMEMLIMIT is unset: the rest is left to what the
// Go runtime does not count (compiled module code, guest memory, stacks,
// the process).
const MemoryLimitShare = 0.75

// Tune sets a soft memory limit of 75% of the function's memory
// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MB), so that the collector works
// harder as the heap nears it instead of the function running out of
// memory. GOMEMLIMIT, when set, wins. It returns the limit in bytes, or
// -1 when it set none.
func Tune() (limit int64) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return -1
	}
	mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return -1
	}
	limit = int64(float64(int64(mb)<<20) * MemoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit
}
