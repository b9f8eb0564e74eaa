package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
)

// synthMeasurement is a measured phase of 100 batches of batchSize events
// (200 bytes each) over one second: batch i (1-100) took i ms, 80% of it
// in the one stage, and ended at i x 10 ms.
func synthMeasurement(batchSize int) *measurement {
	m := &measurement{wall: time.Second, mallocs: uint64(100 * batchSize * 4), allocBytes: uint64(100 * batchSize * 1000),
		gcs: 3, pause: 2 * time.Millisecond, heapInUse: 8 << 20, sys: 32 << 20, peakRSS: 64 << 20, rssNote: "whole process"}
	for i := 1; i <= 100; i++ {
		lat := time.Duration(i) * time.Millisecond
		m.samples = append(m.samples, sample{end: time.Duration(i) * 10 * time.Millisecond, lat: lat,
			events: batchSize, bytes: 200 * batchSize, out: batchSize, stages: []time.Duration{lat * 8 / 10}})
	}
	return m
}

var synthOptions = &Options{Lambda: LambdaSpec{MemoryMB: LambdaMBPerVCPU, Arch: "x86_64", PricePerGBSecond: LambdaPriceX86}}

// synthReport is a report of a module measured with batch sizes 10 and
// 50 on one worker, no Wasm involved.
func synthReport() *Report {
	r := &Report{
		Tool: "weir bench", Version: 1, Time: "2026-12-07T12:00:00Z",
		Machine: MachineInfo{OS: "linux", Arch: "amd64", CPUModel: "Test CPU", CPUs: 2, GOMAXPROCS: 2, Go: "go1.26"},
		Targets: []TargetInfo{{Kind: "module", Path: "m.wasm", Stages: []StageInfo{{Name: "normalize", Module: "m.wasm",
			Digest: "0123456789abcdef0123", Entry: "fast", Instances: 1, LimitPages: 1024}}}},
		Input: InputInfo{Files: []string{"a.json", "b.json"}, Format: "auto", Records: 310, Bytes: 1_234_567, DecodeMS: 12.5, Note: "decoded once"},
		Outputs: &OutputsInfo{Records: 310, BatchSize: 10, Note: "hashed",
			Sinks: []SinkInfo{{Sink: "stdout", Outputs: []string{"default"}, SHA256: "abc", Bytes: 4096, Lines: 310}}},
		Startup: &StartupInfo{CompileColdMS: ptr(1520.0), CompileCachedMS: ptr(12.3), InstantiateMS: ptr(0.95), InstantiateRuns: 3,
			Stages: []StageStartup{{Name: "normalize"}}, Notes: []string{"startup note"},
			ColdStart: &ColdStartInfo{BatchRecords: 10, Note: "cold note",
				ColdCache: &ColdStartSeries{MedianMS: 1600, Runs: []ColdStartRun{{TotalMS: 1600}}},
				WarmCache: &ColdStartSeries{MedianMS: 40, Runs: []ColdStartRun{{TotalMS: 40, ProcessMS: 5, LoadMS: 30, FirstBatchMS: 5}}}}},
		Notes: []string{"a note"},
	}
	for _, size := range []int{10, 50} {
		shape := runShape{batchSize: size, workers: 1, instances: 1, cores: 1, stages: []string{"normalize"}}
		run := summarize([]*measurement{synthMeasurement(size)}, shape, synthOptions)
		run.Guest = []GuestInfo{{Stage: "normalize", Pages: 20, Bytes: 20 << 16, LimitPages: 1024, Instances: 1}}
		r.Runs = append(r.Runs, run)
	}
	return r
}

// TestSummarize checks the figures of a run against the synthetic
// measurement they come from.
func TestSummarize(t *testing.T) {
	run := synthReport().Runs[0]
	l := run.Latency
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"events", float64(run.Events), 1000},
		{"batches", float64(run.Batches), 100},
		{"events/s", run.EventsPerSec, 1000},
		{"MB/s", run.MBPerSec, 0.2},
		{"events per batch", l.EventsPerBatch, 10},
		{"min", l.MinMS, 1},
		{"mean", l.MeanMS, 50.5},
		{"p50", l.P50MS, 50},
		{"p90", l.P90MS, 90},
		{"p99", l.P99MS, 99},
		{"max", l.MaxMS, 100},
		{"stage share", run.Stages[0].Share, 0.8},
		{"stage µs/event", run.Stages[0].PerEventUS, 0.8 * 5050 * 1000 / 1000},
		{"engine share", run.EngineShare, 0.2},
		{"allocs/event", run.Memory.AllocsPerEvent, 4},
		{"bytes/event", run.Memory.BytesPerEvent, 1000},
		{"lambda vCPUs", run.Lambda.VCPUs, 1},
		{"lambda GB-s per million", run.Lambda.GBSecondsPerMillion, 1e6 / 1000 * LambdaMBPerVCPU / 1024},
		{"lambda $ per million", run.Lambda.USDPerMillionEvents, 1e6 / 1000 * LambdaMBPerVCPU / 1024 * LambdaPriceX86},
		{"lambda $ per GB", run.Lambda.USDPerGB, 1e9 / 0.2e6 * LambdaMBPerVCPU / 1024 * LambdaPriceX86},
	} {
		if math.Abs(c.got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	n := 0
	for _, b := range run.Histogram {
		n += b.Count
	}
	if n != 100 || len(run.Timeline) != 25 {
		t.Errorf("histogram counts %d batches (want 100), timeline has %d points (want 25)", n, len(run.Timeline))
	}
	if empty := summarize(nil, runShape{batchSize: 10, workers: 1}, synthOptions); empty.Events != 0 || empty.EventsPerSec != 0 || empty.Partial {
		t.Errorf("nothing measured: %+v", empty)
	}
}

// TestWriteText renders a report: every section, with the numbers of the
// synthetic runs.
func TestWriteText(t *testing.T) {
	rep := synthReport()
	compare := synthReport()
	compare.Startup = nil
	compare.Runs[0].Target, compare.Runs[1].Target = "A", "B"
	compare.Compare = &CompareInfo{A: "a.wasm", B: "b.wasm", Rounds: 2, BatchSize: 10, Workers: 1, OutputsIdentical: true,
		PerRound: []RoundInfo{{AEventsPerSec: 1000, BEventsPerSec: 1100, Ratio: 1.1}, {AEventsPerSec: 1000, BEventsPerSec: 1120, Ratio: 1.12}},
		Ratio:    1.11, CILow: 1.05, CIHigh: 1.17, Method: "geometric mean", Verdict: "B is faster"}
	// Two targets with their sizes: the two-target output, no table.
	two := synthReport()
	two.Startup = nil
	two.Runs[0].Target, two.Runs[1].Target = "A", "B"
	tc := *compare.Compare
	tc.Targets = []CompareTarget{{Label: "A", Path: "a.wasm", ModuleBytes: 2048, OutputsIdentical: true, Ratio: 1, CILow: 1, CIHigh: 1},
		{Label: "B", Path: "b.wasm", ModuleBytes: 4096, OutputsIdentical: true, Ratio: 1.11, CILow: 1.05, CIHigh: 1.17}}
	two.Compare = &tc
	// Three targets, C's outputs differ (--allow-diff), cold starts
	// measured for A and B, not for C.
	three := synthReport()
	three.Startup = nil
	three.Runs = append(three.Runs, three.Runs[1])
	three.Runs[0].Target, three.Runs[1].Target, three.Runs[2].Target = "A", "B", "C"
	cs := &ColdStartInfo{ColdCache: &ColdStartSeries{MedianMS: 1500}, WarmCache: &ColdStartSeries{MedianMS: 40}}
	three.Compare = &CompareInfo{A: "a.wasm", B: "b.wasm", Rounds: 2, BatchSize: 10, Workers: 1, OutputsIdentical: true, AllowDiff: true,
		PerRound: []RoundInfo{{EventsPerSec: []float64{1000, 1100, 900}}, {EventsPerSec: []float64{1000, 1120, 910}}},
		Method:   "geometric mean of the 2 per-round ratios",
		Targets: []CompareTarget{{Label: "A", Path: "a.wasm", ModuleBytes: 2048, OutputsIdentical: true, EventsPerSecCPU: 1000, Ratio: 1, CILow: 1, CIHigh: 1, ColdStart: cs},
			{Label: "B", Path: "b.wasm", ModuleBytes: 4096, OutputsIdentical: true, EventsPerSecCPU: 1110, Ratio: 1.11, CILow: 1.05, CIHigh: 1.17, ColdStart: cs},
			{Label: "C", Path: "c.wasm", ModuleBytes: 1024, FirstDiff: &DiffInfo{Record: 7, Source: "f.json", Seq: "7", A: `{"a":1}`, B: `{"a":2}`},
				EventsPerSecCPU: 905, Ratio: 0.905, CILow: 0.85, CIHigh: 0.96, ColdStart: &ColdStartInfo{Note: "cold start not measured: boom"}}}}
	partial := synthReport()
	partial.Runs = partial.Runs[:1]
	partial.Runs[0] = summarize(nil, runShape{batchSize: 10, workers: 1}, synthOptions)
	partial.Runs[0].Partial, partial.Runs[0].PartialNote = true, "nothing measured: the first batch already has a failed record"
	for _, tc := range []struct {
		name string
		rep  *Report
		want []string
		not  []string
	}{
		{name: "sweep", rep: rep, want: []string{
			"target     module m.wasm: normalize (m.wasm sha256:0123456789ab, fast, 1024 pages max)\n",
			"input      310 records, 1.23 MB in 2 files, decoded in 12.5ms\n",
			"machine    linux/amd64, 2 CPUs (GOMAXPROCS 2), Test CPU, go1.26\n",
			"outputs    310 out, 0 dropped, 0 failed, 0 dead-lettered (batch size 10)\n",
			"           stdout (default): 310 lines, 4.0 KiB, sha256:abc\n",
			"startup    compile 1.52s cold, 12.3ms from the compilation cache, instantiate 950µs (median of 3)\n",
			"cold start new process -> first batch (10 records) done: 1.60s with an empty compilation cache, 40.0ms with a warm one (median of 1)\n",
			"           warm: process start 5.00ms, load 30.0ms, first batch 5.00ms\n",
			"batch size 10, 1 worker (1 core, instances 1): 100 batches, 1,000 events in 1.00s\n",
			"  throughput 1,000 events/s (1,000 per core), 0.20 MB/s (0.20 per core)\n",
			"  latency    per batch of 10.0 events: p50 50.0ms  p90 90.0ms  p99 99.0ms  max 100.0ms\n",
			"  time split normalize 80.0% (4040.0µs/event), engine 20.0%\n",
			"  host mem   4.00 allocs/event, 1000 B/event, 3 GC cycles (2.00ms paused); heap in use 8.0 MiB, from the OS 32.0 MiB, peak RSS 64.0 MiB (whole process)\n",
			"  guest mem  normalize 20 pages (1.2 MiB) of 1024, 1 instance made\n",
			"  lambda     1769 MB x86_64 (1.00 vCPU) at $0.0000166667/GB-s: $0.0288 per million events, $0.144 per GB of input (compute only)\n",
			"batch size 50, 1 worker (1 core, instances 1): 100 batches, 5,000 events in 1.00s\n",
			"sweep\n",
			"          10        1      1          1,000          1,000       0.20     50.0ms     99.0ms\n",
			"note: a note\n",
		}, not: []string{"PARTIAL", "compare"}},
		{name: "compare", rep: compare, want: []string{
			"compare    A = a.wasm, B = b.wasm: batch size 10, 1 worker, 2 interleaved rounds (ABBA order)\n",
			"outputs    identical (every sink's sha256 matches)\n",
			"      1          1,000          1,100    1.100\n",
			"A: batch size 10, 1 worker",
			"B/A throughput 1.110 (95% CI 1.050-1.170, geometric mean)\n",
			"verdict    B is faster\n",
		}, not: []string{"sweep", "startup"}},
		{name: "compare two with sizes", rep: two, want: []string{
			"compare    A = a.wasm, B = b.wasm: batch size 10, 1 worker, 2 interleaved rounds (ABBA order)\n",
			"outputs    identical (every sink's sha256 matches)\n",
			"verdict    B is faster\n",
		}, not: []string{"vs A (95% CI)", "cold: empty", "rotating"}},
		{name: "compare three", rep: three, want: []string{
			"compare    3 modules, each against A: batch size 10, 1 worker, 2 interleaved rounds (rotating order)\n",
			"           C = c.wasm\n",
			"outputs    C's DIFFER from A's from record 7 (f.json, seq 7)\n",
			"             C: {\"a\":2}\n",
			"  round  A events/s  B events/s  C events/s\n",
			"      2       1,000       1,120         910\n",
			"C: batch size 50, 1 worker",
			"geometric mean of the 2 per-round ratios\n",
			"  A         2.0 KiB        1.50s       40.0ms              1,000  1\n",
			"  B         4.0 KiB        1.50s       40.0ms              1,110  1.110 (1.050-1.170) faster\n",
			"  C         1.0 KiB                                          905  0.905 (0.850-0.960) slower\n",
			"           C: cold start not measured: boom\n",
		}, not: []string{"identical", "B/A throughput", "verdict"}},
		{name: "nothing measured", rep: partial, want: []string{
			"batch size 10, 1 worker: nothing measured\n",
			"  PARTIAL    nothing measured: the first batch already has a failed record\n",
		}, not: []string{"throughput", "sweep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tc.rep.WriteText(&b)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("the report lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.not {
				if strings.Contains(b.String(), w) {
					t.Errorf("the report has %q:\n%s", w, b.String())
				}
			}
		})
	}
}

// TestWriteJSON: the JSON decodes back to the same report.
func TestWriteJSON(t *testing.T) {
	rep := synthReport()
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, rep) {
		t.Errorf("the JSON does not decode back to the report:\n%s", b.String())
	}
	for _, key := range []string{`"events_per_sec_per_core": 1000`, `"p99_ms": 99`, `"compile_cold_ms": 1520`, `"partial": false`} {
		if !bytes.Contains(b.Bytes(), []byte(key)) {
			t.Errorf("the JSON lacks %s", key)
		}
	}
}

// TestFormat checks the number formats of the text report.
func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{num(1234567.4), "1,234,567"}, {num(-1234.6), "-1,235"}, {num(42.25), "42.2"}, {num(3.14159), "3.14"}, {num(math.NaN()), "n/a"},
		{dur(0.95), "950µs"}, {dur(5), "5.00ms"}, {dur(123.45), "123.5ms"}, {dur(1520), "1.52s"},
		{size(512), "512 B"}, {size(2048), "2.0 KiB"}, {size(3 << 20), "3.0 MiB"}, {size(5 << 30), "5.00 GiB"},
		{usd(0.0288), "$0.0288"}, {usd(1.5), "$1.50"}, {usd(0), "n/a"},
		{count(1234567), "1,234,567"}, {count(-1000), "-1,000"}, {count(999), "999"},
		{plural(1, "worker", "workers"), "1 worker"}, {plural(2000, "worker", "workers"), "2,000 workers"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// chromium runs headless Chromium with args and the flags that keep it
// off the network.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := hosttest.RequireTool(t, "chromium", "apt-get install chromium (or scripts/ensure-tools.sh)")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestWriteHTML writes the HTML report of two runs and opens it in
// headless Chromium: the inline script draws both charts of every run,
// and the page needs nothing from the network.
func TestWriteHTML(t *testing.T) {
	page := filepath.Join(t.TempDir(), "report.html")
	var buf bytes.Buffer
	if err := synthReport().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, bad := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("the page loads something (%q): it must be self-contained", bad)
		}
	}
	if n, ns := strings.Count(s, "http"), strings.Count(s, "http://www.w3.org/2000/svg"); n != ns {
		t.Errorf("the page mentions %d URLs besides the SVG namespace", n-ns)
	}
	for _, want := range []string{"<title>weir bench: m.wasm</title>", "batch size 10, 1 worker (1 core, instances 1): 100 batches"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	url := "file://" + page
	dom := string(chromium(t, "--virtual-time-budget=2000", "--dump-dom", url))
	if !strings.Contains(dom, `data-charts-rendered="4"`) {
		t.Errorf("the script did not draw 4 charts (2 runs x throughput, latency):\n%.3000s", dom)
	}
	if n := strings.Count(dom, `data-rendered="true"`); n != 4 {
		t.Errorf("%d charts marked rendered, want 4", n)
	}
	if n := strings.Count(dom, `class="series"`); n != 2 {
		t.Errorf("%d throughput lines drawn, want 2", n)
	}
	if n := strings.Count(dom, `class="bar"`); n < 2 {
		t.Errorf("%d histogram bars drawn", n)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	chromium(t, "--screenshot="+shot, "--window-size=1200,1600", "--virtual-time-budget=2000", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The chart colour (#3b78c2) is drawn only by the charts.
	blue := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, 0x3b) && near(g>>8, 0x78) && near(bl>>8, 0xc2) {
				blue++
			}
		}
	}
	if blue < 500 {
		t.Errorf("the screenshot has %d chart-coloured pixels: the charts are not drawn", blue)
	}
}

func near(a uint32, b int) bool { return math.Abs(float64(int(a)-b)) <= 12 }
