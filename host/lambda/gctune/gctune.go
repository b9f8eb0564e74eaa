// Package gctune sets the Go garbage collector for a Lambda container:
// GOGC 400 and a soft memory limit of 75% of the function's memory, each
// unless its environment variable is set. cmd/bootstrap calls Tune at
// start; BenchmarkLambdaKinesis's discard-lambdagc run calls it too, so
// that the handler is also measured under the settings it runs with on
// Lambda.
package gctune

import (
	"os"
	"runtime/debug"
	"strconv"
)

// Percent is the garbage collector's target on Lambda when GOGC is
// unset: a batch's parsed records are pointer-heavy and short-lived, and
// at Go's default (100) the collector's marking and write barriers take
// ~10% of a built-in stage's time; at 400 the built-ins' reference job
// runs 12-19% faster (bench/RESULTS.md). The memory limit below keeps the
// larger heap inside the function's memory.
const Percent = 400

// MemoryLimitShare is the part of the function's memory the Go heap may
// use (GOMEMLIMIT) when GOMEMLIMIT is unset: the rest is left to what the
// Go runtime does not count (compiled module code, stacks, the process).
const MemoryLimitShare = 0.75

// Tune sets the collector for a Lambda container from the function's
// memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MB): GOGC 400 and a soft
// memory limit of 75% of the function's memory, so the heap grows freely
// between collections but the collector works harder as it nears the
// limit instead of the function running out of memory. GOGC and
// GOMEMLIMIT, when set, win. It returns what it set, for the log: the
// percent or -2 when GOGC is set, the limit in bytes or -1 when none was
// set.
func Tune() (percent int, limit int64) {
	percent, limit = -2, -1
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(Percent)
		percent = Percent
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && mb > 0 {
			limit = int64(float64(int64(mb)<<20) * MemoryLimitShare)
			debug.SetMemoryLimit(limit)
		}
	}
	return percent, limit
}
