package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestRunOutputBatching: `weir run` with a file output holding batches
// of 4 per batch_key (an hour's interval) writes, in 10-record pipeline
// batches, each key's lines together, and the rest when it exits.
func TestRunOutputBatching(t *testing.T) {
	dir := t.TempDir()
	pipe := writeFile(t, dir, "pipeline.yaml", []byte(fmt.Sprintf(`version: 1
stages:
  - module: %s
outputs:
  default: {type: file, path: out.ndjson, batch_key: user, batch: {count: 4, interval: 1h}}
`, ptModule(t))))
	var in strings.Builder
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&in, `{"user":"u%d","i":%d}`+"\n", i%3, i)
	}
	r := weir(t, nil, "run", "-p", pipe, "--batch-size", "10", writeFile(t, dir, "in.ndjson", []byte(in.String())))
	if r.code != 0 {
		t.Fatal(r)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 25 {
		t.Fatalf("%d lines, want 25", len(lines))
	}
	// Runs of 4 lines of one user (the last of each user shorter).
	var runs []string
	for i := 0; i < len(lines); {
		user := lines[i][:strings.Index(lines[i], `","i"`)]
		n := 0
		for i < len(lines) && strings.HasPrefix(lines[i], user+`"`) {
			i, n = i+1, n+1
		}
		runs = append(runs, fmt.Sprint(n))
	}
	sort.Strings(runs)
	if got := strings.Join(runs, " "); got != "1 4 4 4 4 4 4" {
		t.Errorf("lines per write %q, want six full batches of 4 and the rest (u0 has 9, u1 and u2 8)", got)
	}
}
