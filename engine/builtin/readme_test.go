package builtin_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

var update = flag.Bool("update", false, "rewrite the README's built-in mapping table from the catalog")

const (
	mappingBegin = "<!-- builtin-mapping:begin -->\n"
	mappingEnd   = "<!-- builtin-mapping:end -->\n"
)

// mappingTable renders the README's mapping table: every Substation
// v2.8.0 transform and condition type with its state in weir, from the
// catalog and the registered factories.
func mappingTable() string {
	var b strings.Builder
	row := func(name string, s builtin.Status, reason string) {
		switch s {
		case builtin.Refused:
			fmt.Fprintf(&b, "| `%s` | refused: %s |\n", name, strings.ReplaceAll(reason, "|", `\|`))
		default:
			fmt.Fprintf(&b, "| `%s` | %s |\n", name, s)
		}
	}
	b.WriteString("| transform | in weir |\n|---|---|\n")
	for _, name := range builtin.TransformTypes() {
		s, reason, _ := builtin.TransformStatus(name)
		row(name, s, reason)
	}
	b.WriteString("\n| condition | in weir |\n|---|---|\n")
	for _, name := range builtin.ConditionTypes() {
		s, reason, _ := builtin.ConditionStatus(name)
		row(name, s, reason)
	}
	return b.String()
}

func readme(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// TestREADMEMapping fails when the README's mapping table differs from
// the catalog: a type added, implemented or refused without the README
// saying so. Run with -update to rewrite it.
func TestREADMEMapping(t *testing.T) {
	path, doc := readme(t)
	i := bytes.Index(doc, []byte(mappingBegin))
	j := bytes.Index(doc, []byte(mappingEnd))
	if i < 0 || j < i {
		t.Fatalf("%s: no %q ... %q block", path, strings.TrimSpace(mappingBegin), strings.TrimSpace(mappingEnd))
	}
	want := mappingTable()
	got := string(doc[i+len(mappingBegin) : j])
	if got == want {
		return
	}
	if *update {
		out := append(append(append([]byte{}, doc[:i+len(mappingBegin)]...), want...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: mapping table rewritten", path)
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for k := 0; k < len(gl) || k < len(wl); k++ {
		var g, w string
		if k < len(gl) {
			g = gl[k]
		}
		if k < len(wl) {
			w = wl[k]
		}
		if g != w {
			t.Fatalf("%s: the built-in mapping table is stale (first difference, line %d of the table):\n README:  %s\n catalog: %s\nregenerate: go test ./engine/builtin -run TestREADMEMapping -update", path, k+1, g, w)
		}
	}
}

// TestREADMEExample checks that the README's mixed pipeline parses and
// that its built-in stages compile.
func TestREADMEExample(t *testing.T) {
	_, doc := readme(t)
	i := bytes.Index(doc, []byte("```yaml\nversion: 1\nname: cloudtrail-mixed\n"))
	if i < 0 {
		t.Fatal("README: the cloudtrail-mixed example is missing")
	}
	y := doc[i+len("```yaml\n"):]
	y = y[:bytes.Index(y, []byte("```\n"))]
	cfg, err := engine.ParseConfig(y, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, sc := range cfg.Stages {
		if len(sc.Transforms) == 0 {
			continue
		}
		st, err := builtin.NewStage(sc.RawTransforms())
		if err != nil {
			t.Fatalf("stage %q: %v", sc.Name, err)
		}
		if w := st.Warnings(); len(w) > 0 {
			t.Errorf("stage %q: warnings %q", sc.Name, w)
		}
		if sc.Name == "filter" {
			res, err := st.Process(context.Background(), []engine.Record{{Data: []byte(`{"eventName":"ConsoleLogin"}`)}, {Data: []byte(`{"eventName":"GetObject"}`)}})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Status != engine.StatusOK || res[1].Status != engine.StatusDropped {
				t.Errorf("filter stage: %+v", res)
			}
		}
		built++
	}
	if built != 2 {
		t.Errorf("%d built-in stages, want 2", built)
	}
}
