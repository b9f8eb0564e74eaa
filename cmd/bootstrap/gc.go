package main

import (
	"os"
	"runtime/debug"
	"strconv"
)

// gcPercent is the garbage collector's target on Lambda when GOGC is
// unset: a batch's parsed records are pointer-heavy and short-lived, and
// at Go's default (100) the collector's marking and write barriers take
// ~10% of a built-in stage's time; at 400 the built-ins' reference job
// runs 12-19% faster (bench/RESULTS.md). The memory limit below keeps the
// larger heap inside the function's memory.
const gcPercent = 400

// memoryLimitShare is the part of the function's memory the Go heap may
// use (GOMEMLIMIT) when GOMEMLIMIT is unset: the rest is left to what the
// Go runtime does not count (compiled module code, stacks, the process).
const memoryLimitShare = 0.75

// tuneGC sets the collector for a Lambda container from the function's
// memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MB): GOGC 400 and a soft
// memory limit of 75% of the function's memory, so the heap grows freely
// between collections but the collector works harder as it nears the
// limit instead of the function running out of memory. GOGC and
// GOMEMLIMIT, when set, win. It returns what it set, for the log.
func tuneGC() (percent int, limit int64) {
	percent, limit = -2, -1
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
		percent = gcPercent
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && mb > 0 {
			limit = int64(float64(int64(mb)<<20) * memoryLimitShare)
			debug.SetMemoryLimit(limit)
		}
	}
	return percent, limit
}
