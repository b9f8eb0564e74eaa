package par

import (
	"sync/atomic"
	"testing"
)

func TestEach(t *testing.T) {
	tests := []struct {
		name       string
		n, workers int
		stopAt     int // f(stopAt) returns false; -1: never
	}{
		{"empty", 0, 4, -1},
		{"serial", 10, 1, -1},
		{"zero workers", 10, 0, -1},
		{"parallel", 1000, 4, -1},
		{"more workers than indexes", 3, 8, -1},
		{"serial stop", 10, 1, 4},
		{"parallel stop", 1000, 4, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := make([]atomic.Int32, tt.n)
			Each(tt.n, tt.workers, func(i int) bool {
				calls[i].Add(1)
				return i != tt.stopAt
			})
			ran := 0
			for i := range calls {
				switch c := calls[i].Load(); {
				case c > 1:
					t.Fatalf("index %d ran %d times", i, c)
				case c == 1:
					ran++
				}
			}
			switch {
			case tt.stopAt < 0 && ran != tt.n:
				t.Fatalf("%d of %d indexes ran", ran, tt.n)
			case tt.stopAt >= 0 && calls[tt.stopAt].Load() != 1:
				t.Fatalf("stop at %d: the stopping index ran %d times", tt.stopAt, calls[tt.stopAt].Load())
			case tt.stopAt >= 0 && tt.workers <= 1 && ran != tt.stopAt+1:
				t.Fatalf("serial stop at %d: %d ran", tt.stopAt, ran)
			}
			// Indexes start in increasing order: every index below the
			// highest that ran has run.
			for i := range ran {
				if calls[i].Load() != 1 {
					t.Fatalf("index %d skipped, %d ran", i, ran)
				}
			}
		})
	}
}
