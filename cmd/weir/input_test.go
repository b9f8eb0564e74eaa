package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// TestInputs runs the same records in every input layout weir reads and
// expects the same output, byte for byte, as from plain NDJSON.
func TestInputs(t *testing.T) {
	t.Parallel()
	recs := readArrays(t, glob(t, filepath.Join(sharedDir(t), "testdata", "cloudtrail", "stratus-red-team", "*.json")))
	var raws [][]byte
	for _, r := range recs[:25] {
		var c bytes.Buffer
		if err := json.Compact(&c, r.raw); err != nil {
			t.Fatal(err)
		}
		raws = append(raws, c.Bytes()) // one line each, for NDJSON
	}
	ndjson := append(bytes.Join(raws, []byte("\n")), '\n')
	array := append(append([]byte("[\n"), bytes.Join(raws, []byte(",\n"))...), "\n]\n"...)
	cloudtrail := append(append([]byte(`{"Records": [`), bytes.Join(raws, []byte(","))...), "]}"...)

	pipe := ctPipeline(t)
	dir := t.TempDir()
	want := weir(t, nil, "run", "-p", pipe, writeFile(t, dir, "plain.ndjson", ndjson))
	noFailures(t, want)
	if n := len(want.lines()); n != len(raws) {
		t.Fatalf("%d lines for %d records", n, len(raws))
	}

	for _, tc := range []struct {
		name  string
		stdin []byte   // nil: no stdin
		file  []byte   // written to a file named in args (after args)
		args  []string // extra arguments
		empty bool     // no output expected
	}{
		{name: "gzip ndjson", file: gzipped(t, ndjson)},
		{name: "zstd ndjson", file: zstded(t, ndjson)},
		{name: "gzip array", file: gzipped(t, array)},
		{name: "zstd cloudtrail", file: zstded(t, cloudtrail)},
		{name: "array", file: array},
		{name: "array --format json", file: array, args: []string{"--format", "json"}},
		{name: "cloudtrail", file: cloudtrail},
		{name: "cloudtrail --format cloudtrail", file: cloudtrail, args: []string{"--format", "cloudtrail"}},
		{name: "crlf ndjson", file: bytes.ReplaceAll(ndjson, []byte("\n"), []byte("\r\n\r\n"))},
		{name: "stdin -", stdin: ndjson, args: []string{"-"}},
		{name: "stdin no args", stdin: ndjson},
		{name: "stdin gzip", stdin: gzipped(t, ndjson)},
		{name: "batch size 1", file: ndjson, args: []string{"--batch-size", "1"}},
		{name: "batch size 7", file: ndjson, args: []string{"--batch-size", "7"}},
		{name: "empty file", file: []byte{}, empty: true},
		{name: "blank file", file: []byte("\n  \n\t\n"), empty: true},
		{name: "empty array", file: []byte("[]"), empty: true},
		{name: "empty gzip", file: gzipped(t, nil), empty: true},
		{name: "empty stdin", stdin: []byte{}, empty: true},
		{name: "no stdin", empty: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-p", pipe}, tc.args...)
			if tc.file != nil {
				args = append(args, writeFile(t, t.TempDir(), "input", tc.file))
			}
			var stdin io.Reader
			if tc.stdin != nil {
				stdin = bytes.NewReader(tc.stdin)
			}
			r := weir(t, stdin, args...)
			if tc.empty {
				// An empty input is a warning (exit 0), not silence.
				if r.code != 0 || r.stdout != "" || !strings.HasPrefix(r.stderr, "weir: warning: input ") ||
					!strings.HasSuffix(r.stderr, " is empty (no records)\n") || strings.Count(r.stderr, "\n") != 1 {
					t.Fatalf("want exit 0, no output and one warning, got %v\nstdout: %s", r, r.stdout)
				}
				return
			}
			noFailures(t, r)
			if r.stdout != want.stdout {
				t.Fatalf("output differs from plain NDJSON's:\n%.500s", r.stdout)
			}
		})
	}

	t.Run("several files and stdin", func(t *testing.T) {
		half := len(raws) / 2
		a := writeFile(t, dir, "a.json", append(append([]byte("["), bytes.Join(raws[:half], []byte(","))...), ']'))
		rest := append(bytes.Join(raws[half:], []byte("\n")), '\n')
		for _, batch := range []string{"1000", "1", "4"} {
			r := weir(t, bytes.NewReader(rest), "run", "-p", pipe, "--batch-size", batch, a, "-")
			noFailures(t, r)
			if r.stdout != want.stdout {
				t.Fatalf("batch %s: output differs from one NDJSON file's", batch)
			}
		}
	})

	t.Run("corpus batch sizes", func(t *testing.T) {
		files := glob(t, filepath.Join(sharedDir(t), "testdata", "cloudtrail", "stratus-red-team", "*.json"))
		base := weir(t, nil, append([]string{"run", "-p", pipe}, files...)...)
		noFailures(t, base)
		for _, batch := range []string{"1", "7", "309", "310", "311"} {
			r := weir(t, nil, append([]string{"run", "-p", pipe, "--batch-size", batch}, files...)...)
			noFailures(t, r)
			if r.stdout != base.stdout {
				t.Errorf("--batch-size %s: output differs from the default's", batch)
			}
		}
	})
}

// TestLargeRecord sends a 10 MB record through the passthrough module.
func TestLargeRecord(t *testing.T) {
	t.Parallel()
	big, err := json.Marshal(map[string]any{"id": 1, "blob": strings.Repeat("x0Y1", 10<<20/4)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pipe := pipeline(t, ptModule(t), "", "")
	r := weir(t, nil, "run", "-p", pipe, writeFile(t, dir, "big.json", big))
	noFailures(t, r)
	if r.stdout != string(big)+"\n" {
		t.Fatalf("output (%d bytes) differs from the %d-byte input", len(r.stdout), len(big))
	}
	// In a batch with small records around it.
	in := "{\"a\":1}\n" + string(big) + "\n{\"b\":2}\n"
	r = weir(t, strings.NewReader(in), "run", "-p", pipe)
	noFailures(t, r)
	if r.stdout != in {
		t.Fatal("output differs from the input")
	}
}

// TestNonUTF8 sends records with bytes that are not UTF-8 inside JSON
// strings: a module either fails the record with a clear error or writes
// valid output; weir never crashes.
func TestNonUTF8(t *testing.T) {
	t.Parallel()
	records := "{\"eventName\":\"A\\u00e9\xff\xfe\",\"sourceIPAddress\":\"10.0.0.1\"}\n" +
		"{\"eventName\":\"ok\"}\n" +
		"{\"eventName\":\"B\",\"userAgent\":\"\xc3\x28 \xed\xa0\x80 \xf0\x28\x8c\xbc\"}\n"
	t.Run("cloudtrail-ecs", func(t *testing.T) {
		r := weir(t, strings.NewReader(records), "run", "-p", ctPipeline(t))
		if r.code != 0 && r.code != 1 {
			t.Fatal(r)
		}
		lines := r.lines()
		failed := strings.Count(r.stderr, " failed: ")
		if len(lines)+failed != 3 {
			t.Fatalf("%d outputs and %d failures for 3 records: %v", len(lines), failed, r)
		}
		for _, l := range lines {
			if !json.Valid([]byte(l)) || !utf8.ValidString(l) {
				t.Errorf("output is not valid UTF-8 JSON: %q", l)
			}
		}
		// Records 0 and 2 are not UTF-8: weir does not write U+FFFD into
		// event.original (its hash is of the raw bytes); they fail,
		// naming the first invalid byte.
		for _, want := range []string{
			"weir: record 0 (stdin, seq 1) failed: ", "the input record is not valid UTF-8 (first invalid byte 0xff at byte offset 21)",
			"weir: record 2 (stdin, seq 3) failed: ", "the input record is not valid UTF-8 (first invalid byte 0xc3 at byte offset 30)",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if r.code != 1 || len(lines) != 1 {
			t.Errorf("want exit 1 and one output, got %d: %v", len(lines), r)
		}
	})
	t.Run("passthrough", func(t *testing.T) {
		// The passthrough module copies bytes: they come out unchanged.
		r := weir(t, strings.NewReader(records), "run", "-p", pipeline(t, ptModule(t), "", ""))
		noFailures(t, r)
		if r.stdout != records {
			t.Fatalf("output %q, want the input", r.stdout)
		}
	})
}
