package gctune

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestTune: without GOMEMLIMIT, a container gets a memory limit of 75% of
// the function's memory; with GOMEMLIMIT set, or no memory size, it sets
// none; GOGC is never touched.
func TestTune(t *testing.T) {
	origPercent := debug.SetGCPercent(100)
	origLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(origPercent); debug.SetMemoryLimit(origLimit) })
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantLimit int64
	}{
		{"from the function's memory", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 768 << 20},
		{"no memory size: no limit", nil, -1},
		{"GOMEMLIMIT wins", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "GOMEMLIMIT": "1GiB"}, -1},
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
			if got := Tune(); got != tc.wantLimit {
				t.Errorf("Tune() = %d, want %d", got, tc.wantLimit)
			}
			want := tc.wantLimit
			if want < 0 {
				want = math.MaxInt64
			}
			if got := debug.SetMemoryLimit(-1); got != want {
				t.Errorf("memory limit %d, want %d", got, want)
			}
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("GOGC %d, want Go's default 100 left alone", got)
			}
		})
	}
}
