package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// referenceRecords returns the records of the three CloudTrail corpora
// (stratus-red-team, panther's log members, otrf) and the example's
// consolelogin.json, as weir run frames them.
func referenceRecords(t *testing.T) []engine.Record {
	t.Helper()
	dir := filepath.Join(hosttest.SharedDir(t), "testdata", "cloudtrail")
	files := []string{filepath.Join(hosttest.RepoRoot(t), "examples", "cloudtrail-ecs", "data", "consolelogin.json")}
	for _, pat := range []string{"stratus-red-team/*.json", "otrf/*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		if len(m) == 0 {
			t.Fatalf("no corpus files %s in %s", pat, dir)
		}
		files = append(files, m...)
	}
	var recs []engine.Record
	for _, f := range files {
		recs = append(recs, hosttest.DecodeFile(t, f)...)
	}
	panther, _ := filepath.Glob(filepath.Join(dir, "panther", "*.jsonl"))
	if len(panther) == 0 {
		t.Fatalf("no panther corpus in %s", dir)
	}
	for _, f := range panther {
		for _, r := range hosttest.DecodeFile(t, f) {
			var c struct {
				Log json.RawMessage `json:"log"`
			}
			if err := json.Unmarshal(r.Data, &c); err != nil || len(c.Log) == 0 {
				t.Fatalf("%s %s: no log member: %v", f, r.Meta.SequenceNumber, err)
			}
			r.Data = c.Log
			recs = append(recs, r)
		}
	}
	return recs
}

// runBatch builds the pipeline at path as weir run does and runs recs
// through it in one batch.
func runBatch(t *testing.T, path string, recs []engine.Record) *engine.BatchResult {
	t.Helper()
	ctx := context.Background()
	g := &globals{logLevel: "warn", cacheDir: cacheDir, stdout: io.Discard, stderr: io.Discard}
	cfg, err := loadConfig(g, path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := buildPipeline(ctx, g, cfg, path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close(ctx)
	res, err := l.pipe.Run(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestReferenceBuiltins: examples/cloudtrail-ecs/pipeline-builtins.yaml
// (the reference job in Substation's vocabulary) gives byte-identical
// documents to the Go module on every record of the three corpora and on
// hosttest.WidenedRecords (every categorized eventName, identity types,
// related.user deduplication).
func TestReferenceBuiltins(t *testing.T) {
	recs := append(referenceRecords(t), hosttest.WidenedRecords(slices.Sorted(maps.Keys(baseline.Categories)))...)
	if len(recs) < 870 {
		t.Fatalf("only %d records", len(recs))
	}
	want := runBatch(t, ctPipeline(t), recs)
	got := runBatch(t, filepath.Join(hosttest.RepoRoot(t), "examples", "cloudtrail-ecs", "pipeline-builtins.yaml"), recs)
	same := 0
	for i := range recs {
		w, g := want.Records[i], got.Records[i]
		// Records that are not CloudTrail events fail in both.
		const notCT = "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName"
		if w.Err != nil && g.Err != nil && strings.Contains(w.Err.Error(), notCT) && strings.Contains(g.Err.Error(), notCT) {
			same++
			continue
		}
		if w.Err != nil || g.Err != nil || len(w.Outputs) != 1 || len(g.Outputs) != 1 {
			t.Errorf("record %d (%s %s): module %v (%d outputs), built-ins %v (%d outputs)", i, recs[i].Meta.Source, recs[i].Meta.SequenceNumber, w.Err, len(w.Outputs), g.Err, len(g.Outputs))
			continue
		}
		if string(w.Outputs[0].Data) != string(g.Outputs[0].Data) {
			t.Errorf("record %d (%s %s):\nbuilt-ins %s\nmodule    %s", i, recs[i].Meta.Source, recs[i].Meta.SequenceNumber, g.Outputs[0].Data, w.Outputs[0].Data)
			continue
		}
		same++
	}
	t.Logf("%d/%d records byte-identical (or failed alike: not CloudTrail)", same, len(recs))
}

// TestMixedPipeline runs, through the weir binary, a pipeline where
// built-in stages and a Wasm module mix: built-ins filter the records
// (dropping Describe/List/Get calls), the Go module normalizes, and
// built-ins label the document and route failures to their own output
// (meta_switch inserting "meta route"). The expected outputs come from the
// module alone, run in-process on the records the filter keeps.
func TestMixedPipeline(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(hosttest.SharedDir(t), "testdata", "cloudtrail", "stratus-red-team", "*.json"))
	if len(files) == 0 {
		t.Fatal("no stratus-red-team corpus")
	}
	y := `version: 1
stages:
  - name: filter
    transforms:
      - type: meta_switch
        settings:
          cases:
            - condition: {type: string_match, settings: {object: {source_key: eventName}, pattern: '^(Describe|List|Get)'}}
              transforms: [{type: utility_drop}]
  - name: normalize
    module: ` + ctModule(t) + `
  - name: route
    transforms:
      - {type: object_insert, settings: {object: {target_key: labels.pipeline}, value: mixed}}
      - type: meta_switch
        settings:
          cases:
            - condition: {type: string_equal_to, settings: {object: {source_key: event.outcome}, value: failure}}
              transforms:
                - {type: object_insert, settings: {object: {target_key: meta route}, value: failures}}
outputs:
  default: {type: file, path: ok.ndjson}
  failures: {type: file, path: failures.ndjson}
`
	p := writeFile(t, dir, "mixed.yaml", []byte(y))
	r := weirExec(t, "", nil, append([]string{"run", "-p", p}, files...)...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}

	// Expected: the records the filter keeps, normalized by the module,
	// labelled, split by outcome.
	var recs []engine.Record
	dropped := 0
	for _, f := range files {
		rs := hosttest.DecodeFile(t, f)
		for _, rec := range rs {
			var ct struct{ EventName string }
			_ = json.Unmarshal(rec.Data, &ct)
			if n := ct.EventName; strings.HasPrefix(n, "Get") || strings.HasPrefix(n, "List") || strings.HasPrefix(n, "Describe") {
				dropped++
				continue
			}
			recs = append(recs, rec)
		}
	}
	res := runBatch(t, ctPipeline(t), recs)
	var wantOK, wantFailed string
	for i, rr := range res.Records {
		if rr.Err != nil || len(rr.Outputs) != 1 {
			t.Fatalf("module on record %d: %v", i, rr.Err)
		}
		d := rr.Outputs[0].Data
		line := string(d[:len(d)-1]) + `,"labels":{"pipeline":"mixed"}}` + "\n"
		var doc struct{ Event struct{ Outcome string } }
		if err := json.Unmarshal(d, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Event.Outcome == "failure" {
			wantFailed += line
		} else {
			wantOK += line
		}
	}
	if dropped == 0 || wantFailed == "" || wantOK == "" {
		t.Fatalf("corpus does not exercise the pipeline: %d dropped, failures %d bytes, ok %d bytes", dropped, len(wantFailed), len(wantOK))
	}
	for name, want := range map[string]string{"ok.ndjson": wantOK, "failures.ndjson": wantFailed} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s: %d bytes, want %d:\n%.600s\nwant:\n%.600s", name, len(got), len(want), got, want)
		}
	}
	t.Logf("%d records dropped by the filter, %d normalized", dropped, len(recs))
}
