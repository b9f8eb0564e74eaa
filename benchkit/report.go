package benchkit

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Report is everything "weir bench" measured: --json prints it as
// one object, the text and HTML reports render it. Durations are
// fractional milliseconds (fields ending in _ms), rates per second, sizes
// in bytes unless the name says otherwise (MB = 10^6 bytes).
type Report struct {
	Tool     string       `json:"tool"`
	Version  int          `json:"version"`
	Time     string       `json:"time"`
	Machine  MachineInfo  `json:"machine"`
	Targets  []TargetInfo `json:"targets"`
	Input    InputInfo    `json:"input"`
	Settings SettingsInfo `json:"settings"`
	Outputs  *OutputsInfo `json:"outputs,omitempty"`
	Startup  *StartupInfo `json:"startup,omitempty"`
	Runs     []RunInfo    `json:"runs"`
	Compare  *CompareInfo `json:"compare,omitempty"`
	Partial  bool         `json:"partial"`
	Error    string       `json:"error,omitempty"`
	Notes    []string     `json:"notes"`
}

// MachineInfo describes the machine the measurement ran on.
type MachineInfo struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUModel   string `json:"cpu_model,omitempty"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
}

// TargetInfo describes one measured target and its stages.
type TargetInfo struct {
	Label  string      `json:"label,omitempty"` // "A", "B", ... with --compare
	Kind   string      `json:"kind"`            // "module" or "pipeline"
	Path   string      `json:"path"`
	Stages []StageInfo `json:"stages"`
}

// StageInfo describes one stage of a target: its module (digest from the
// loaded module) and configuration.
type StageInfo struct {
	Name       string `json:"name"`
	Module     string `json:"module"`
	Digest     string `json:"sha256"`
	Entry      string `json:"entry"`
	Instances  int    `json:"instances"`
	LimitPages uint32 `json:"memory_limit_pages"`
}

// InputInfo describes the input.
type InputInfo struct {
	Files    []string `json:"files"`
	Format   string   `json:"format"`
	Records  int      `json:"records"`
	Bytes    int64    `json:"bytes"`
	DecodeMS float64  `json:"decode_ms"`
	Note     string   `json:"note"`
}

// SettingsInfo records the Options a report was measured with.
type SettingsInfo struct {
	BatchSizes []int      `json:"batch_sizes"`
	Workers    []int      `json:"workers"`
	Instances  int        `json:"instances"` // 0: as configured
	WarmupMS   float64    `json:"warmup_ms"`
	DurationMS float64    `json:"duration_ms"`
	Iterations int        `json:"iterations"` // 0: --duration decides
	Rounds     int        `json:"rounds,omitempty"`
	Lambda     LambdaSpec `json:"lambda"`
}

// LambdaSpec is the Lambda function the cost estimate prices.
type LambdaSpec struct {
	MemoryMB         int     `json:"memory_mb"`
	Arch             string  `json:"arch"`
	PricePerGBSecond float64 `json:"price_per_gb_second"`
}

// OutputsInfo counts what the first pass produced and hashes, per sink,
// the bytes "weir run" would write there.
type OutputsInfo struct {
	Target        string     `json:"target,omitempty"`
	Records       int        `json:"records"`
	Dropped       int        `json:"dropped"`
	Failed        int        `json:"failed"`
	DeadLettered  int        `json:"dead_lettered"`
	FailedBatches int        `json:"failed_batches"`
	BatchSize     int        `json:"batch_size"`
	Sinks         []SinkInfo `json:"sinks"`
	Note          string     `json:"note"`
}

// SinkInfo is what one destination of "weir run" would receive: the
// outputs writing there, and the sha256, size and lines of its bytes.
type SinkInfo struct {
	Sink    string   `json:"sink"` // "stdout", "stderr", "file:<path>", "discard:<output>"
	Outputs []string `json:"outputs"`
	SHA256  string   `json:"sha256"`
	Bytes   int64    `json:"bytes"`
	Lines   int64    `json:"lines"`
}

// StartupInfo holds the startup figures: compile (empty cache, then
// cached) or load, instantiate, and the cold start.
type StartupInfo struct {
	CompileColdMS   *float64       `json:"compile_cold_ms,omitempty"`
	CompileCachedMS *float64       `json:"compile_cached_ms,omitempty"`
	LoadMS          *float64       `json:"load_ms,omitempty"`
	Stages          []StageStartup `json:"stages"`
	InstantiateMS   *float64       `json:"instantiate_ms,omitempty"`
	InstantiateRuns int            `json:"instantiate_runs"`
	ColdStart       *ColdStartInfo `json:"cold_start,omitempty"`
	Notes           []string       `json:"notes"`
}

// StageStartup is the startup of one stage.
type StageStartup struct {
	Name            string   `json:"name"`
	CompileColdMS   *float64 `json:"compile_cold_ms,omitempty"`
	CompileCachedMS *float64 `json:"compile_cached_ms,omitempty"`
	LoadMS          *float64 `json:"load_ms,omitempty"`
	InstantiateMS   *float64 `json:"instantiate_ms,omitempty"`
}

// ColdStartInfo holds the cold starts (a new process until its first
// batch is done), with an empty and with a warm compilation cache.
type ColdStartInfo struct {
	BatchRecords int              `json:"batch_records"`
	ColdCache    *ColdStartSeries `json:"cold_cache,omitempty"`
	WarmCache    *ColdStartSeries `json:"warm_cache,omitempty"`
	Note         string           `json:"note"`
}

// ColdStartSeries is the cold starts with one cache state.
type ColdStartSeries struct {
	MedianMS float64        `json:"median_ms"`
	Runs     []ColdStartRun `json:"runs"`
}

// ColdStartRun is one cold start.
type ColdStartRun struct {
	TotalMS      float64 `json:"total_ms"`       // exec to "first batch done", input decoding excluded
	ProcessMS    float64 `json:"process_ms"`     // exec, Go runtime start, flag parsing
	LoadMS       float64 `json:"load_ms"`        // read, compile or load from the cache, link, instantiate
	FirstBatchMS float64 `json:"first_batch_ms"` // the first batch
	DecodeMS     float64 `json:"decode_ms"`      // excluded from total_ms
	ExitMS       float64 `json:"exit_ms"`        // exec to process exit, decoding excluded
}

// RunInfo is one measured configuration (batch size, workers; with
// Compare, one target over all its rounds).
type RunInfo struct {
	Target          string      `json:"target,omitempty"`
	BatchSize       int         `json:"batch_size"`
	Workers         int         `json:"workers"`
	Instances       int         `json:"instances"`
	Cores           int         `json:"cores"`
	Partial         bool        `json:"partial"`
	PartialNote     string      `json:"partial_note,omitempty"`
	Batches         int         `json:"batches"`
	Events          int64       `json:"events"`
	Bytes           int64       `json:"bytes"`
	Outputs         int64       `json:"outputs"`
	Failed          int64       `json:"failed"`
	WallMS          float64     `json:"wall_ms"`
	EventsPerSec    float64     `json:"events_per_sec"`
	EventsPerSecCPU float64     `json:"events_per_sec_per_core"`
	MBPerSec        float64     `json:"mb_per_sec"`
	MBPerSecCPU     float64     `json:"mb_per_sec_per_core"`
	Latency         LatencyInfo `json:"latency"`
	Stages          []StageTime `json:"stages"`
	EngineShare     float64     `json:"engine_share"`
	Memory          MemInfo     `json:"memory"`
	Guest           []GuestInfo `json:"guest"`
	Lambda          LambdaInfo  `json:"lambda"`
	FirstPassMS     float64     `json:"first_pass_ms,omitempty"`
	Timeline        []TimePoint `json:"timeline"`
	Histogram       []HistBin   `json:"histogram"`
}

// LatencyInfo is the distribution of per-batch latencies.
type LatencyInfo struct {
	EventsPerBatch float64 `json:"events_per_batch"`
	MinMS          float64 `json:"min_ms"`
	MeanMS         float64 `json:"mean_ms"`
	P50MS          float64 `json:"p50_ms"`
	P90MS          float64 `json:"p90_ms"`
	P99MS          float64 `json:"p99_ms"`
	MaxMS          float64 `json:"max_ms"`
}

// StageTime is the time one stage took over a run, and its share of the
// batch latencies.
type StageTime struct {
	Name       string  `json:"name"`
	MS         float64 `json:"ms"`
	Share      float64 `json:"share"`
	PerEventUS float64 `json:"per_event_us"`
}

// MemInfo is the host (Go) memory of a run: allocations per event, GC,
// heap, and the process's peak resident set.
type MemInfo struct {
	AllocsPerEvent float64 `json:"allocs_per_event"`
	BytesPerEvent  float64 `json:"bytes_per_event"`
	GCCycles       uint32  `json:"gc_cycles"`
	GCPauseMS      float64 `json:"gc_pause_ms"`
	HeapInUse      uint64  `json:"heap_in_use_bytes"`
	Sys            uint64  `json:"sys_bytes"`
	PeakRSS        uint64  `json:"peak_rss_bytes,omitempty"`
	PeakRSSNote    string  `json:"peak_rss_note,omitempty"`
}

// GuestInfo is the linear memory of one stage's instances after a run.
type GuestInfo struct {
	Stage      string `json:"stage"`
	Pages      uint32 `json:"pages"`
	Bytes      uint64 `json:"bytes"`
	LimitPages uint32 `json:"limit_pages"`
	Instances  int64  `json:"instances_created"`
}

// LambdaInfo is the Lambda compute cost estimated from a run's per-core
// rates.
type LambdaInfo struct {
	MemoryMB            int     `json:"memory_mb"`
	Arch                string  `json:"arch"`
	PricePerGBSecond    float64 `json:"price_per_gb_second"`
	VCPUs               float64 `json:"vcpus"`
	EventsPerSec        float64 `json:"events_per_sec"`
	GBSecondsPerMillion float64 `json:"gb_seconds_per_million_events"`
	USDPerMillionEvents float64 `json:"usd_per_million_events"`
	USDPerGB            float64 `json:"usd_per_gb"`
	Note                string  `json:"note"`
}

// TimePoint is the throughput over one interval of a run.
type TimePoint struct {
	T            float64 `json:"t"` // seconds since the start of the measurement (end of the bucket)
	EventsPerSec float64 `json:"events_per_sec"`
}

// HistBin counts the batches whose latency falls in [LoMS, HiMS).
type HistBin struct {
	LoMS  float64 `json:"lo_ms"`
	HiMS  float64 `json:"hi_ms"`
	Count int     `json:"count"`
}

// CompareInfo is the result of Compare: outputs checked, the ratio of
// throughputs B/A per round and overall, with its 95% interval and a
// verdict.
type CompareInfo struct {
	A                string      `json:"a"`
	B                string      `json:"b"`
	Rounds           int         `json:"rounds"`
	BatchSize        int         `json:"batch_size"`
	Workers          int         `json:"workers"`
	OutputsIdentical bool        `json:"outputs_identical"`
	AllowDiff        bool        `json:"allow_diff"`
	FirstDiff        *DiffInfo   `json:"first_diff,omitempty"`
	PerRound         []RoundInfo `json:"per_round"`
	Ratio            float64     `json:"ratio"` // B/A throughput, geometric mean of the rounds
	CILow            float64     `json:"ci_low"`
	CIHigh           float64     `json:"ci_high"`
	Method           string      `json:"method"`
	Verdict          string      `json:"verdict"`
	Significant      bool        `json:"significant"`
	Faster           string      `json:"faster,omitempty"` // "A", "B" or "" (no significant difference)
	OutputsA         []SinkInfo  `json:"outputs_a"`
	OutputsB         []SinkInfo  `json:"outputs_b"`
	// Targets is every target, A first, each measured against A: with
	// more than two, the fields above are B's.
	Targets []CompareTarget `json:"targets"`
}

// CompareTarget is one target of Compare, measured against A (the first).
type CompareTarget struct {
	Label            string         `json:"label"`
	Path             string         `json:"path"`
	ModuleBytes      int64          `json:"module_bytes,omitempty"` // a module's file size
	OutputsIdentical bool           `json:"outputs_identical"`      // to A's
	FirstDiff        *DiffInfo      `json:"first_diff,omitempty"`
	EventsPerSecCPU  float64        `json:"events_per_sec_per_core"`
	Ratio            float64        `json:"ratio"` // its throughput / A's, geometric mean of the rounds (1 for A)
	CILow            float64        `json:"ci_low"`
	CIHigh           float64        `json:"ci_high"`
	Verdict          string         `json:"verdict"`
	ColdStart        *ColdStartInfo `json:"cold_start,omitempty"` // with Options.ColdStarts > 0
}

// RoundInfo is one round of Compare.
type RoundInfo struct {
	AEventsPerSec float64   `json:"a_events_per_sec"`
	BEventsPerSec float64   `json:"b_events_per_sec"`
	Ratio         float64   `json:"ratio"`          // B/A
	First         string    `json:"first"`          // which target ran first in the round
	EventsPerSec  []float64 `json:"events_per_sec"` // every target's, A first
}

// DiffInfo is the first record whose outputs differ between A and B.
type DiffInfo struct {
	Record int    `json:"record"`
	Source string `json:"source"`
	Seq    string `json:"sequence_number"`
	A      string `json:"a"`
	B      string `json:"b"`
}

// WriteJSON prints the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

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
