package gctune

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestTune: without GOGC and GOMEMLIMIT, a container gets GOGC 400 and
// a memory limit of 75% of the function's memory; either variable, when
// set, is left to the Go runtime.
func TestTune(t *testing.T) {
	origPercent := debug.SetGCPercent(100)
	origLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(origPercent); debug.SetMemoryLimit(origLimit) })
	for _, tc := range []struct {
		name              string
		env               map[string]string
		wantPercent       int
		wantLimit         int64
		setPercent, setLm bool
	}{
		{"defaults from the function's memory", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 400, 768 << 20, true, true},
		{"no memory size: no limit", nil, 400, math.MaxInt64, true, false},
		{"GOGC and GOMEMLIMIT win", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "GOGC": "100", "GOMEMLIMIT": "1GiB"}, 100, math.MaxInt64, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "GOGC", "GOMEMLIMIT"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			percent, limit := Tune()
			if gotPercent := debug.SetGCPercent(100); gotPercent != tc.wantPercent || (percent == Percent) != tc.setPercent {
				t.Errorf("GOGC %d (reported %d), want %d", gotPercent, percent, tc.wantPercent)
			}
			if gotLimit := debug.SetMemoryLimit(math.MaxInt64); gotLimit != tc.wantLimit || (limit > 0) != tc.setLm {
				t.Errorf("memory limit %d (reported %d), want %d", gotLimit, limit, tc.wantLimit)
			}
		})
	}
}
