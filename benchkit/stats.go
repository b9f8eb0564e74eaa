package benchkit

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be sorted ascending; 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(n))) - 1
	return sorted[min(max(i, 0), n-1)]
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of ds (the lower middle for an even count);
// 0 when empty. ds is not modified.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// tQuantile975 is the 0.975 quantile of Student's t distribution with df
// degrees of freedom: the factor of a two-sided 95% confidence interval.
func tQuantile975(df int) float64 {
	table := [...]float64{
		12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
	}
	switch {
	case df < 1:
		return math.Inf(1)
	case df <= len(table):
		return table[df-1]
	case df <= 60:
		return 2.00
	case df <= 120:
		return 1.98
	}
	return 1.96
}

// ratioCI summarizes per-round ratios: their geometric mean and its 95%
// confidence interval (Student t on the logarithms, so the interval of
// B/A is the reciprocal of the interval of A/B).
func ratioCI(ratios []float64) (mean, lo, hi float64) {
	n := len(ratios)
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	logs := make([]float64, n)
	var sum float64
	for i, r := range ratios {
		logs[i] = math.Log(r)
		sum += logs[i]
	}
	m := sum / float64(n)
	if n < 2 {
		return math.Exp(m), math.Inf(-1), math.Inf(1)
	}
	var ss float64
	for _, l := range logs {
		ss += (l - m) * (l - m)
	}
	sd := math.Sqrt(ss / float64(n-1))
	half := tQuantile975(n-1) * sd / math.Sqrt(float64(n))
	return math.Exp(m), math.Exp(m - half), math.Exp(m + half)
}

// timeline buckets the completion times of batches into about points
// intervals over wall and returns the events per second of each bucket.
func timeline(samples []sample, wall time.Duration, points int) []TimePoint {
	if wall <= 0 || len(samples) == 0 {
		return nil
	}
	n := max(1, min(points, len(samples)))
	width := wall / time.Duration(n)
	if width <= 0 {
		width, n = wall, 1
	}
	counts := make([]int64, n)
	for _, s := range samples {
		i := int(s.end / width)
		counts[min(max(i, 0), n-1)] += int64(s.events)
	}
	out := make([]TimePoint, n)
	for i, c := range counts {
		w := width
		if i == n-1 {
			w = wall - width*time.Duration(n-1)
		}
		out[i] = TimePoint{
			T:            (time.Duration(i)*width + w).Seconds(),
			EventsPerSec: float64(c) / w.Seconds(),
		}
	}
	return out
}

// histogram counts latencies (sorted ascending) in about bins
// logarithmic bins between the smallest and the largest.
func histogram(sorted []time.Duration, bins int) []HistBin {
	if len(sorted) == 0 {
		return nil
	}
	lo, hi := ms(sorted[0]), ms(sorted[len(sorted)-1])
	if lo <= 0 {
		lo = 1e-3
	}
	if hi <= lo*1.0001 {
		return []HistBin{{LoMS: lo, HiMS: hi, Count: len(sorted)}}
	}
	bins = max(1, min(bins, len(sorted)))
	step := math.Log(hi/lo) / float64(bins)
	out := make([]HistBin, bins)
	for i := range out {
		out[i].LoMS = lo * math.Exp(step*float64(i))
		out[i].HiMS = lo * math.Exp(step*float64(i+1))
	}
	out[bins-1].HiMS = hi
	for _, d := range sorted {
		v := max(ms(d), lo)
		i := int(math.Log(v/lo) / step)
		out[min(max(i, 0), bins-1)].Count++
	}
	return out
}
