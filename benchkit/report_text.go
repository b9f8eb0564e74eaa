package benchkit

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Formatting helpers for the text report.

// num formats v with thousands separators and no decimals (or 1 or 2
// decimals for small values).
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case math.Abs(v) < 10:
		return fmt.Sprintf("%.2f", v)
	case math.Abs(v) < 100:
		return fmt.Sprintf("%.1f", v)
	}
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// dur formats fractional milliseconds for humans: 950µs, 12.3ms, 1.52s.
func dur(msv float64) string {
	switch {
	case msv < 1:
		return fmt.Sprintf("%.0fµs", msv*1000)
	case msv < 10:
		return fmt.Sprintf("%.2fms", msv)
	case msv < 1000:
		return fmt.Sprintf("%.1fms", msv)
	}
	return fmt.Sprintf("%.2fs", msv/1000)
}

// size formats bytes: 512 B, 12.3 KiB, 45.6 MiB.
func size(b float64) string {
	switch {
	case b < 1024:
		return fmt.Sprintf("%.0f B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", b/1024)
	case b < 1<<30:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", b/(1<<30))
}

// usd formats a small dollar amount with 3 significant digits.
func usd(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	d := max(2, 2-int(math.Floor(math.Log10(v))))
	return fmt.Sprintf("$%.*f", d, v)
}

// count formats an integer with thousands separators.
func count(n int64) string {
	if n < 0 {
		return "-" + count(-n)
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(int64(n)) + " " + many
}

// WriteText prints the human report.
func (r *Report) WriteText(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	for _, t := range r.Targets {
		label := ""
		if t.Label != "" {
			label = t.Label + " = "
		}
		var st []string
		for _, s := range t.Stages {
			st = append(st, fmt.Sprintf("%s (%s sha256:%s, %s, %d pages max)", s.Name, s.Module, short(s.Digest), s.Entry, s.LimitPages))
		}
		p("target     %s%s %s: %s", label, t.Kind, t.Path, strings.Join(st, " -> "))
	}
	in := r.Input
	p("input      %s, %s in %s, decoded in %s", plural(in.Records, "record", "records"), mb(in.Bytes),
		plural(len(in.Files), "file", "files"), dur(in.DecodeMS))
	p("           %s", in.Note)
	m := r.Machine
	cpu := ""
	if m.CPUModel != "" {
		cpu = ", " + m.CPUModel
	}
	p("machine    %s/%s, %d CPUs (GOMAXPROCS %d)%s, %s", m.OS, m.Arch, m.CPUs, m.GOMAXPROCS, cpu, m.Go)
	if o := r.Outputs; o != nil {
		p("outputs    %s out, %d dropped, %d failed, %d dead-lettered (batch size %d)", count(int64(o.Records)), o.Dropped, o.Failed, o.DeadLettered, o.BatchSize)
		for _, s := range o.Sinks {
			p("           %s (%s): %s lines, %s, sha256:%s", s.Sink, strings.Join(s.Outputs, ", "), count(s.Lines), size(float64(s.Bytes)), s.SHA256)
		}
		p("           %s", o.Note)
	}
	if s := r.Startup; s != nil {
		r.writeStartup(w, s)
	}
	if c := r.Compare; c != nil {
		r.writeCompare(w, c)
	} else {
		for i := range r.Runs {
			writeRun(w, &r.Runs[i])
		}
		if len(r.Runs) > 1 {
			writeSweep(w, r.Runs)
		}
	}
	for _, n := range r.Notes {
		p("note: %s", n)
	}
}

func mb(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/1e6) }

func (r *Report) writeStartup(w io.Writer, s *StartupInfo) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	var parts []string
	if s.CompileColdMS != nil {
		parts = append(parts, "compile "+dur(*s.CompileColdMS)+" cold")
	}
	if s.CompileCachedMS != nil {
		parts = append(parts, dur(*s.CompileCachedMS)+" from the compilation cache")
	}
	if s.LoadMS != nil {
		parts = append(parts, "load "+dur(*s.LoadMS))
	}
	if s.InstantiateMS != nil {
		parts = append(parts, fmt.Sprintf("instantiate %s (median of %d)", dur(*s.InstantiateMS), s.InstantiateRuns))
	}
	p("startup    %s", strings.Join(parts, ", "))
	if len(s.Stages) > 1 {
		for _, st := range s.Stages {
			var sp []string
			if st.CompileColdMS != nil {
				sp = append(sp, "compile "+dur(*st.CompileColdMS)+" cold")
			}
			if st.CompileCachedMS != nil {
				sp = append(sp, dur(*st.CompileCachedMS)+" cached")
			}
			if st.LoadMS != nil {
				sp = append(sp, "load "+dur(*st.LoadMS))
			}
			if st.InstantiateMS != nil {
				sp = append(sp, "instantiate "+dur(*st.InstantiateMS))
			}
			p("             stage %q: %s", st.Name, strings.Join(sp, ", "))
		}
	}
	for _, n := range s.Notes {
		p("           %s", n)
	}
	if c := s.ColdStart; c != nil {
		var cp []string
		if c.ColdCache != nil {
			cp = append(cp, fmt.Sprintf("%s with an empty compilation cache", dur(c.ColdCache.MedianMS)))
		}
		if c.WarmCache != nil {
			cp = append(cp, fmt.Sprintf("%s with a warm one", dur(c.WarmCache.MedianMS)))
		}
		if len(cp) > 0 {
			runs := 0
			if c.ColdCache != nil {
				runs = len(c.ColdCache.Runs)
			}
			p("cold start new process -> first batch (%d records) done: %s (median of %d)", c.BatchRecords, strings.Join(cp, ", "), runs)
			if c.WarmCache != nil && len(c.WarmCache.Runs) > 0 {
				wr := medianRun(c.WarmCache.Runs)
				p("           warm: process start %s, load %s, first batch %s", dur(wr.ProcessMS), dur(wr.LoadMS), dur(wr.FirstBatchMS))
			}
		}
		if c.Note != "" {
			p("           %s", c.Note)
		}
	}
}

// medianRun returns the run with the median total.
func medianRun(runs []ColdStartRun) ColdStartRun {
	bestIdx := 0
	totals := make([]time.Duration, len(runs))
	for i, r := range runs {
		totals[i] = time.Duration(r.TotalMS * float64(time.Millisecond))
	}
	m := median(totals)
	for i, t := range totals {
		if t == m {
			bestIdx = i
			break
		}
	}
	return runs[bestIdx]
}

func writeRun(w io.Writer, r *RunInfo) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	target := ""
	if r.Target != "" {
		target = r.Target + ": "
	}
	p("")
	head := fmt.Sprintf("%sbatch size %d, %s (%s, instances %d): %s batches, %s events in %s",
		target, r.BatchSize, plural(r.Workers, "worker", "workers"), plural(r.Cores, "core", "cores"), r.Instances,
		count(int64(r.Batches)), count(r.Events), dur(r.WallMS))
	if r.Events == 0 {
		head = fmt.Sprintf("%sbatch size %d, %s: nothing measured", target, r.BatchSize, plural(r.Workers, "worker", "workers"))
	}
	p("%s", head)
	if r.Partial {
		p("  PARTIAL    %s", r.PartialNote)
	}
	if r.Events == 0 {
		return
	}
	p("  throughput %s events/s (%s per core), %.2f MB/s (%.2f per core)", num(r.EventsPerSec), num(r.EventsPerSecCPU), r.MBPerSec, r.MBPerSecCPU)
	l := r.Latency
	p("  latency    per batch of %s events: p50 %s  p90 %s  p99 %s  max %s", num(l.EventsPerBatch), dur(l.P50MS), dur(l.P90MS), dur(l.P99MS), dur(l.MaxMS))
	var st []string
	for _, s := range r.Stages {
		st = append(st, fmt.Sprintf("%s %.1f%% (%.1fµs/event)", s.Name, 100*s.Share, s.PerEventUS))
	}
	st = append(st, fmt.Sprintf("engine %.1f%%", 100*r.EngineShare))
	p("  time split %s", strings.Join(st, ", "))
	mem := r.Memory
	rss := ""
	if mem.PeakRSS > 0 {
		rss = ", peak RSS " + size(float64(mem.PeakRSS))
		if mem.PeakRSSNote != "" {
			rss += " (" + mem.PeakRSSNote + ")"
		}
	}
	p("  host mem   %s allocs/event, %s/event, %d GC cycles (%s paused); heap in use %s, from the OS %s%s",
		num(mem.AllocsPerEvent), size(mem.BytesPerEvent), mem.GCCycles, dur(mem.GCPauseMS), size(float64(mem.HeapInUse)), size(float64(mem.Sys)), rss)
	var gs []string
	for _, g := range r.Guest {
		if g.Pages == 0 && g.Instances == 0 {
			gs = append(gs, fmt.Sprintf("%s n/a", g.Stage))
			continue
		}
		gs = append(gs, fmt.Sprintf("%s %d pages (%s) of %d, %s made", g.Stage, g.Pages, size(float64(g.Bytes)), g.LimitPages, plural(int(g.Instances), "instance", "instances")))
	}
	if len(gs) > 0 {
		p("  guest mem  %s", strings.Join(gs, "; "))
	}
	lb := r.Lambda
	p("  lambda     %d MB %s (%.2f vCPU) at $%s/GB-s: %s per million events, %s per GB of input (compute only)",
		lb.MemoryMB, lb.Arch, lb.VCPUs, strings.TrimRight(fmt.Sprintf("%.10f", lb.PricePerGBSecond), "0"), usd(lb.USDPerMillionEvents), usd(lb.USDPerGB))
}

func writeSweep(w io.Writer, runs []RunInfo) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("")
	p("sweep")
	p("  %10s %8s %6s %14s %14s %10s %10s %10s", "batch size", "workers", "cores", "events/s", "per core", "MB/s", "p50", "p99")
	base := map[int]RunInfo{} // the first run of each batch size
	for _, r := range runs {
		if _, ok := base[r.BatchSize]; !ok {
			base[r.BatchSize] = r
		}
	}
	for _, r := range runs {
		scale := ""
		if b := base[r.BatchSize]; b.EventsPerSec > 0 && r.Workers != b.Workers {
			scale = fmt.Sprintf("  x%.2f vs %d", r.EventsPerSec/b.EventsPerSec, b.Workers)
		}
		partial := ""
		if r.Partial {
			partial = "  PARTIAL"
		}
		p("  %10d %8d %6d %14s %14s %10.2f %10s %10s%s%s", r.BatchSize, r.Workers, r.Cores, num(r.EventsPerSec), num(r.EventsPerSecCPU),
			r.MBPerSec, dur(r.Latency.P50MS), dur(r.Latency.P99MS), scale, partial)
	}
}

// writeCompare writes the comparison: two targets as B against A, more
// as a table of each against A.
func (r *Report) writeCompare(w io.Writer, c *CompareInfo) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("")
	n := max(2, len(c.Targets))
	if n == 2 {
		p("compare    A = %s, B = %s: batch size %d, %s, %d interleaved rounds (ABBA order)", c.A, c.B, c.BatchSize, plural(c.Workers, "worker", "workers"), c.Rounds)
		switch {
		case c.OutputsIdentical:
			p("outputs    identical (every sink's sha256 matches)")
		case c.FirstDiff != nil:
			d := c.FirstDiff
			p("outputs    DIFFER from record %d (%s, seq %s)", d.Record, d.Source, d.Seq)
			p("             A: %s", d.A)
			p("             B: %s", d.B)
		}
	} else {
		p("compare    %d modules, each against A: batch size %d, %s, %d interleaved rounds (rotating order)", n, c.BatchSize, plural(c.Workers, "worker", "workers"), c.Rounds)
		for _, t := range c.Targets {
			p("           %s = %s", t.Label, t.Path)
		}
		if allIdentical(c.Targets) {
			p("outputs    identical (every sink's sha256 matches)")
		}
		for _, t := range c.Targets[1:] {
			if d := t.FirstDiff; d != nil {
				p("outputs    %s's DIFFER from A's from record %d (%s, seq %s)", t.Label, d.Record, d.Source, d.Seq)
				p("             A: %s", d.A)
				p("             %s: %s", t.Label, d.B)
			}
		}
	}
	if len(c.PerRound) > 0 {
		if n == 2 {
			p("  %5s %14s %14s %8s", "round", "A events/s", "B events/s", "B/A")
			for i, rd := range c.PerRound {
				p("  %5d %14s %14s %8.3f", i+1, num(rd.AEventsPerSec), num(rd.BEventsPerSec), rd.Ratio)
			}
		} else {
			head := fmt.Sprintf("  %5s", "round")
			for _, t := range c.Targets {
				head += fmt.Sprintf(" %11s", t.Label+" events/s")
			}
			p("%s", head)
			for i, rd := range c.PerRound {
				line := fmt.Sprintf("  %5d", i+1)
				for _, e := range rd.EventsPerSec {
					line += fmt.Sprintf(" %11s", num(e))
				}
				p("%s", line)
			}
		}
	}
	for i := range r.Runs {
		writeRun(w, &r.Runs[i])
	}
	if len(c.PerRound) == 0 {
		return
	}
	p("")
	if n == 2 {
		p("B/A throughput %.3f (95%% CI %.3f-%.3f, %s)", c.Ratio, c.CILow, c.CIHigh, c.Method)
		p("verdict    %s", c.Verdict)
	} else {
		p("%s", c.Method)
	}
	// The per-target table: always with more than two targets; with two
	// only when cold starts were measured (which two-target output
	// otherwise has no place for).
	if n == 2 && (len(c.Targets) == 0 || c.Targets[0].ColdStart == nil) {
		return
	}
	p("  %-6s %10s %12s %12s %18s  %s", "target", "size", "cold: empty", "cold: cached", "events/s per core", "vs A (95% CI)")
	for _, t := range c.Targets {
		sz, empty, warm := "", "", ""
		if t.ModuleBytes > 0 {
			sz = size(float64(t.ModuleBytes))
		}
		if cs := t.ColdStart; cs != nil && cs.ColdCache != nil && cs.WarmCache != nil {
			empty, warm = dur(cs.ColdCache.MedianMS), dur(cs.WarmCache.MedianMS)
		}
		vs := "1"
		if t.Label != "A" {
			word := "no significant difference"
			switch {
			case t.CILow > 1:
				word = "faster"
			case t.CIHigh < 1:
				word = "slower"
			}
			vs = fmt.Sprintf("%.3f (%.3f-%.3f) %s", t.Ratio, t.CILow, t.CIHigh, word)
		}
		p("  %-6s %10s %12s %12s %18s  %s", t.Label, sz, empty, warm, num(t.EventsPerSecCPU), vs)
	}
	for _, t := range c.Targets {
		if t.ColdStart != nil && t.ColdStart.Note != "" && (t.ColdStart.ColdCache == nil || t.ColdStart.WarmCache == nil) {
			p("           %s: %s", t.Label, t.ColdStart.Note)
		}
	}
	if c.Targets[0].ColdStart != nil {
		p("           cold start: a new weir process until its first batch is done (median), with an empty compilation cache, then with one a previous start filled")
	}
}

// allIdentical reports whether every target's outputs are A's.
func allIdentical(ts []CompareTarget) bool {
	for _, t := range ts {
		if !t.OutputsIdentical {
			return false
		}
	}
	return true
}
