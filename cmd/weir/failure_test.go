package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// badBatch is four NDJSON records, the third (index 2, line 3) not JSON.
var badBatch = []string{
	`{"eventName":"A","eventID":"0"}`,
	`{"eventName":"B","eventID":"1"}`,
	`not json {`,
	`{"eventName":"D","eventID":"3"}`,
}

// TestRecordFailure runs a batch whose record 2 is not JSON under each
// error policy: the other records come out in order, and the failure is
// reported (fail), counted (drop) or dead-lettered.
func TestRecordFailure(t *testing.T) {
	module := ctModule(t)
	input := strings.Join(badBatch, "\n") + "\n"
	failLine := regexp.MustCompile(`(?m)^weir: record 2 \(bad\.ndjson, seq 3\) failed: stage "normalize" \(module \S+ sha256:[0-9a-f]{12}\): invalid JSON at byte offset \d+: .+$`)
	for _, tc := range []struct {
		name     string
		stage    string // YAML lines of the stage
		outputs  string // YAML outputs section
		code     int
		failures int // "failed:" lines on stderr
		dead     int // dead-letter entries
		summary  string
	}{
		{name: "fail", code: 1, failures: 1,
			summary: "weir: 4 records in, 3 out, 0 dropped, 1 failed, 0 dead-lettered in "},
		{name: "drop", stage: "    on_error: drop\n", code: 0,
			summary: "weir: 4 records in, 3 out, 1 dropped, 0 failed, 0 dead-lettered in "},
		{name: "dead_letter", stage: "    on_error: dead_letter\n    dead_letter: dlq\n",
			outputs: "outputs:\n  dlq: {type: file, path: dead-letters.ndjson}\n", code: 0, dead: 1,
			summary: "weir: 4 records in, 3 out, 0 dropped, 0 failed, 1 dead-lettered in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pipeline(t, module, tc.stage, tc.outputs)
			dir := filepath.Dir(cfg)
			writeFile(t, dir, "bad.ndjson", []byte(input))
			// Run from the input's folder so that the source is
			// "bad.ndjson".
			t.Chdir(dir)
			for _, batch := range []string{"1000", "1", "3"} {
				_ = os.Remove(filepath.Join(dir, "dead-letters.ndjson"))
				r := weir(t, nil, "run", "-p", cfg, "--summary", "--batch-size", batch, "bad.ndjson")
				if r.code != tc.code {
					t.Fatalf("batch %s: %v", batch, r)
				}
				lines := r.lines()
				if len(lines) != 3 {
					t.Fatalf("batch %s: %d output lines, want 3:\n%s", batch, len(lines), r.stdout)
				}
				for i, want := range []int{0, 1, 3} {
					if got := parseDoc(t, lines[i]).str("event.original"); got != badBatch[want] {
						t.Errorf("batch %s: output %d is %q, want record %d", batch, i, got, want)
					}
				}
				if n := strings.Count(r.stderr, " failed: "); n != tc.failures {
					t.Errorf("batch %s: %d failure lines, want %d:\n%s", batch, n, tc.failures, r.stderr)
				}
				if tc.failures > 0 && !failLine.MatchString(r.stderr) {
					t.Errorf("batch %s: stderr does not report record 2 (line 3) as invalid JSON:\n%s", batch, r.stderr)
				}
				if !strings.Contains(r.stderr, tc.summary) {
					t.Errorf("batch %s: summary %q missing:\n%s", batch, tc.summary, r.stderr)
				}
				if !strings.Contains(r.stderr, `weir:   stage "normalize": 4 in, 3 out`) {
					t.Errorf("batch %s: no per-stage summary:\n%s", batch, r.stderr)
				}
				dl, err := os.ReadFile(filepath.Join(dir, "dead-letters.ndjson"))
				if tc.dead == 0 {
					if err == nil {
						t.Errorf("batch %s: a dead-letter file was written", batch)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				entries := strings.Split(strings.TrimSpace(string(dl)), "\n")
				if len(entries) != tc.dead {
					t.Fatalf("batch %s: %d dead-letter entries, want %d:\n%s", batch, len(entries), tc.dead, dl)
				}
				var e struct {
					Error, Stage, Module, Digest, Record string
					Index                                int
					SequenceNumber                       string `json:"sequence_number"`
				}
				if err := json.Unmarshal([]byte(entries[0]), &e); err != nil {
					t.Fatal(err)
				}
				// The entry's index is the record's position in its
				// batch (engine.DeadLetterEntry): 2 only when the batch
				// starts at record 0.
				wantIndex := map[string]int{"1000": 2, "1": 0, "3": 2}[batch]
				if e.Index != wantIndex || e.SequenceNumber != "3" || e.Record != badBatch[2] || e.Stage != "normalize" ||
					!strings.Contains(e.Error, "invalid JSON") || len(e.Digest) != 64 {
					t.Errorf("batch %s: dead-letter entry %s", batch, entries[0])
				}
			}
		})
	}
}

// TestSummary checks the --summary counts over a corpus, and that there is
// no summary without the flag.
func TestSummary(t *testing.T) {
	t.Parallel()
	files := glob(t, filepath.Join(sharedDir(t), "testdata", "cloudtrail", "stratus-red-team", "*.json"))
	pipe := ctPipeline(t)
	r := weir(t, nil, append([]string{"run", "-p", pipe, "--summary"}, files...)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	re := regexp.MustCompile(`^weir: 310 records in, 310 out, 0 dropped, 0 failed, 0 dead-lettered in \S+ \(\d+ records/s\); modules loaded in \S+\n` +
		`weir:   stage "normalize": 310 in, 310 out, 0 dropped, 0 failed, 0 dead-lettered, \S+\n$`)
	if !re.MatchString(r.stderr) {
		t.Errorf("summary:\n%s", r.stderr)
	}
	r = weir(t, nil, append([]string{"run", "-p", pipe}, files...)...)
	noFailures(t, r)
}
