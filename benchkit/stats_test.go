package benchkit

import (
	"testing"
	"time"
)

// TestBenchStats checks the statistics helpers.
func TestBenchStats(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%v = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %s", got)
	}
	for _, tc := range []struct {
		name          string
		ratios        []float64
		contains1     bool
		meanLo, meanH float64
	}{
		{name: "equal", ratios: []float64{1.02, 0.97, 1.01, 0.99, 1.00, 1.03, 0.98, 1.00}, contains1: true, meanLo: 0.99, meanH: 1.01},
		{name: "B faster", ratios: []float64{1.51, 1.49, 1.55, 1.46, 1.50, 1.52}, contains1: false, meanLo: 1.45, meanH: 1.55},
		{name: "B slower", ratios: []float64{0.5, 0.52, 0.49, 0.51}, contains1: false, meanLo: 0.49, meanH: 0.52},
	} {
		m, lo, hi := ratioCI(tc.ratios)
		if lo > m || m > hi || (lo <= 1 && 1 <= hi) != tc.contains1 || m < tc.meanLo || m > tc.meanH {
			t.Errorf("%s: %.3f (%.3f-%.3f)", tc.name, m, lo, hi)
		}
	}
	if got := tQuantile975(9); got != 2.262 {
		t.Errorf("t(0.975, 9) = %v", got)
	}
	h := histogram(ds, 10)
	n := 0
	for i, b := range h {
		n += b.Count
		if i > 0 && b.LoMS < h[i-1].LoMS {
			t.Errorf("bins not ordered: %+v", h)
		}
	}
	if len(h) != 10 || n != 100 || h[0].LoMS != 1 || h[9].HiMS != 100 {
		t.Errorf("histogram: %+v", h)
	}
	samples := []sample{{end: 100 * time.Millisecond, events: 10}, {end: 900 * time.Millisecond, events: 30}}
	tl := timeline(samples, time.Second, 2)
	if len(tl) != 2 || tl[0].EventsPerSec != 20 || tl[1].EventsPerSec != 60 || tl[1].T != 1 {
		t.Errorf("timeline: %+v", tl)
	}
}

// TestMedian checks median (the lower middle, its input untouched) and
// medianRun.
func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{ms(7), 7 * time.Millisecond},
		{ms(9, 1, 5), 5 * time.Millisecond},
		{ms(9, 1, 5, 3), 3 * time.Millisecond},
	} {
		in := append([]time.Duration(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %s, want %s", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Errorf("median sorted its input: %v", tc.in)
				break
			}
		}
	}
	runs := []ColdStartRun{{TotalMS: 30, LoadMS: 3}, {TotalMS: 10, LoadMS: 1}, {TotalMS: 20, LoadMS: 2}}
	if got := medianRun(runs); got.LoadMS != 2 {
		t.Errorf("medianRun = %+v, want the run of total 20", got)
	}
}
