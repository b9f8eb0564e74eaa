package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReference runs the reference job end to end: the ConsoleLogin
// record of the talk becomes its ECS document, enrichment fields aside.
func TestReference(t *testing.T) {
	t.Parallel()
	input := filepath.Join(sharedDir(t), "reference", "consolelogin.input.json")
	want := referenceExpected(t)
	r := weir(t, nil, "run", "-p", ctPipeline(t), input)
	noFailures(t, r)
	lines := r.lines()
	if len(lines) != 1 {
		t.Fatalf("want one output line, got %d:\n%s", len(lines), r.stdout)
	}
	got := parseDoc(t, lines[0])
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("document differs\ngot:  %s\nwant: %s", g, w)
	}
	raw, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	if orig := got.str("event.original"); orig != string(bytes.TrimSpace(raw)) {
		t.Errorf("event.original is not the record as received")
	}
}

// corpusRecord is one input record of a corpus, as the test reads it.
type corpusRecord struct {
	raw []byte
	ct  map[string]any // the CloudTrail record (nil when not an object)
}

// readArrays reads JSON array files.
func readArrays(t *testing.T, files []string) []corpusRecord {
	t.Helper()
	var out []corpusRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range elems {
			out = append(out, corpusRecord{raw: e, ct: object(e)})
		}
	}
	return out
}

// readLines reads NDJSON files, skipping blank lines.
func readLines(t *testing.T, files []string) []corpusRecord {
	t.Helper()
	var out []corpusRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) > 0 {
				line = bytes.Clone(line)
				out = append(out, corpusRecord{raw: line, ct: object(line)})
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func object(b []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return files
}

// TestCorpora runs the three public CloudTrail corpora: every record
// gives exactly one valid JSON document, in input order, with no failure.
func TestCorpora(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sharedDir(t), "testdata", "cloudtrail")
	pipe := ctPipeline(t)
	for _, tc := range []struct {
		name    string
		files   []string
		read    func(*testing.T, []string) []corpusRecord
		records int
		// wrapped: the CloudTrail record is under "log" (panther's
		// test-case wrapper): not a CloudTrail event, every record fails.
		wrapped bool
	}{
		{name: "stratus-red-team", files: glob(t, filepath.Join(dir, "stratus-red-team", "*.json")), read: readArrays, records: 310},
		{name: "panther", files: glob(t, filepath.Join(dir, "panther", "*.jsonl")), read: readLines, records: 461, wrapped: true},
		{name: "otrf", files: glob(t, filepath.Join(dir, "otrf", "*.json")), read: readLines, records: 103},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := tc.read(t, tc.files)
			if len(recs) != tc.records {
				t.Fatalf("the corpus has %d records, want %d", len(recs), tc.records)
			}
			r := weir(t, nil, append([]string{"run", "-p", pipe}, tc.files...)...)
			if tc.wrapped {
				// The module fails what is not a CloudTrail event
				// instead of writing an almost empty document.
				if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "not a CloudTrail event: no eventTime and no eventName\n") != len(recs) {
					t.Fatalf("want exit 1, no output and %d failures naming the record, got %v", len(recs), r)
				}
				if !strings.Contains(r.stderr, "weir: record 460 ("+tc.files[0]+", seq 461) failed: ") {
					t.Errorf("the failures do not name the records:\n%.500s", r.stderr)
				}
				return
			}
			noFailures(t, r)
			lines := r.lines()
			if len(lines) != len(recs) {
				t.Fatalf("%d output lines for %d records", len(lines), len(recs))
			}
			invalidIPs := 0
			for i, line := range lines {
				d := parseDoc(t, line)
				rec := recs[i]
				if got := d.str("event.original"); got != string(rec.raw) {
					t.Fatalf("line %d: event.original is not record %d (order lost?)\n got %.120q\nwant %.120q", i, i, got, rec.raw)
				}
				checkHash(t, d)
				if d.str("cloud.provider") != "aws" {
					t.Errorf("line %d: cloud.provider %q", i, d.str("cloud.provider"))
				}
				if tc.wrapped {
					if _, ok := d.get("source.ip"); ok {
						t.Errorf("line %d: source.ip from a wrapped record", i)
					}
					continue
				}
				ip, _ := rec.ct["sourceIPAddress"].(string)
				if _, err := netip.ParseAddr(ip); err != nil {
					invalidIPs++
					if v, ok := d.get("source.ip"); ok {
						t.Errorf("line %d: invalid sourceIPAddress %q gave source.ip %v", i, ip, v)
					}
				} else if got := d.str("source.ip"); got != ip {
					t.Errorf("line %d: source.ip %q, want %q", i, got, ip)
				}
				if got, want := d.str("event.outcome"), wantOutcome(rec.ct); got != want {
					t.Errorf("line %d: event.outcome %q, want %q", i, got, want)
				}
				if got, want := d.str("event.action"), rec.ct["eventName"]; got != want {
					t.Errorf("line %d: event.action %q, want %q", i, got, want)
				}
			}
			if tc.name == "stratus-red-team" && invalidIPs == 0 {
				t.Errorf("no invalid sourceIPAddress in stratus-red-team (the corpus has about 107)")
			}
			t.Logf("%d records, %d invalid source IPs", len(recs), invalidIPs)
		})
	}
}

// wantOutcome is event.outcome as the reference defines it: failure when
// errorCode or errorMessage is set, else responseElements.ConsoleLogin
// lower-cased, else success.
func wantOutcome(ct map[string]any) string {
	for _, k := range []string{"errorCode", "errorMessage"} {
		if s, _ := ct[k].(string); s != "" {
			return "failure"
		}
	}
	if re, ok := ct["responseElements"].(map[string]any); ok {
		if s, _ := re["ConsoleLogin"].(string); s != "" {
			return strings.ToLower(s)
		}
	}
	return "success"
}

// TestOutcome checks event.outcome on constructed records and on a real
// stratus record with an errorCode.
func TestOutcome(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile(filepath.Join(sharedDir(t), "reference", "consolelogin.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	withField := func(k string, v any) string {
		m := object(base)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	var stratusFailure string
	for _, rec := range readArrays(t, glob(t, filepath.Join(sharedDir(t), "testdata", "cloudtrail", "stratus-red-team", "*.json"))) {
		if s, _ := rec.ct["errorCode"].(string); s != "" {
			stratusFailure = string(rec.raw)
			break
		}
	}
	if stratusFailure == "" {
		t.Fatal("no stratus record with an errorCode")
	}
	pipe := ctPipeline(t)
	for _, tc := range []struct {
		name, record, want string
	}{
		{"reference", string(bytes.TrimSpace(base)), "success"},
		{"errorCode", withField("errorCode", "AccessDenied"), "failure"},
		{"errorMessage", withField("errorMessage", "User is not authorized"), "failure"},
		{"console login failure", withField("responseElements", map[string]any{"ConsoleLogin": "Failure"}), "failure"},
		{"no response", withField("responseElements", nil), "success"},
		{"empty errorCode", withField("errorCode", ""), "success"},
		{"stratus errorCode", stratusFailure, "failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := weir(t, strings.NewReader(tc.record+"\n"), "run", "-p", pipe)
			noFailures(t, r)
			lines := r.lines()
			if len(lines) != 1 {
				t.Fatalf("%d lines", len(lines))
			}
			if got := parseDoc(t, lines[0]).str("event.outcome"); got != tc.want {
				t.Errorf("event.outcome %q, want %q", got, tc.want)
			}
		})
	}
}
