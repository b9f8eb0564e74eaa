package benchkit

import (
	"encoding/json"
	"io"
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
