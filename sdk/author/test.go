package author

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
)

// Case is one test case of a cases file: a stage's smoke test
// (engine.SmokeTest: input, expect) with a name and the other outcomes.
// A case with none of Expect, Dropped and Fails passes when the record
// does not fail.
type Case struct {
	// Name labels the case in the report (default: its index).
	Name string `yaml:"name"`
	// Input is the record's data.
	Input string `yaml:"input"`
	// Expect lists the exact outputs (data, in order); an empty list
	// means "dropped or no output". Absent (and without dropped or
	// fails), the record must only not fail: as in a smoke: list.
	Expect *[]string `yaml:"expect"`
	// Dropped: the record must be dropped.
	Dropped bool `yaml:"dropped"`
	// Fails: the record must fail; Error, when set, must be part of the
	// failure's message (Error alone implies Fails).
	Fails bool   `yaml:"fails"`
	Error string `yaml:"error"`
	// Route, when set, is the route every output must go to.
	Route *string `yaml:"route"`
}

func (c Case) label(i int) string {
	if c.Name != "" {
		return fmt.Sprintf("%d %q", i, c.Name)
	}
	return strconv.Itoa(i)
}

// LoadCases reads a cases file: a YAML (or JSON) list of test cases, at
// most one of expect, dropped and fails each. Unknown keys are errors.
func LoadCases(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	var cases []Case
	if err := yaml.UnmarshalWithOptions(b, &cases, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("test: %s: %s", path, yaml.FormatError(err, false, true))
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("test: %s lists no cases (a YAML list of {input, expect | dropped | fails})", path)
	}
	for i, c := range cases {
		n := 0
		for _, set := range []bool{c.Expect != nil, c.Dropped, c.Fails || c.Error != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			return nil, fmt.Errorf("test: %s: case %s: use only one of expect, dropped, fails", path, c.label(i))
		}
	}
	return cases, nil
}

// TestOptions are the choices of Test beyond the module and the cases.
type TestOptions struct {
	// Stage configures the module's stage (Entry, Config); Instances
	// defaults to 1.
	Stage engine.StageConfig
	// CacheDir is the wazero compilation cache folder ("": in memory).
	CacheDir string
	// Logger receives the host's log lines (nil: discarded).
	Logger *slog.Logger
}

// Test runs every case of the cases file casesPath through the module
// (module.wasm), as one batch, and writes to w a "--- FAIL: case N" block
// with a diff for each failed case and "N passed, M failed". It returns
// the number of failed cases; the error is for what kept the cases from
// running (an unreadable file, a module that does not load, a batch that
// failed as a whole).
func Test(ctx context.Context, w io.Writer, module, casesPath string, o TestOptions) (failed int, err error) {
	sc := o.Stage
	if sc.Instances == 0 {
		sc.Instances = 1
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cases, err := LoadCases(casesPath)
	if err != nil {
		return 0, err
	}
	wasm, err := os.ReadFile(module)
	if err != nil {
		return 0, fmt.Errorf("test: %w", err)
	}
	if err := refusePipeline(module, wasm); err != nil {
		return 0, fmt.Errorf("test: %w", err)
	}
	h, err := host.New(ctx, host.Options{CacheDir: o.CacheDir, Logger: logger})
	if err != nil {
		return 0, fmt.Errorf("test: %w", err)
	}
	defer h.Close(ctx)
	st, err := h.LoadModule(ctx, module, wasm, sc)
	if err != nil {
		return 0, fmt.Errorf("test: %w", err)
	}
	defer st.Close(ctx)
	recs := make([]engine.Record, len(cases))
	for i, c := range cases {
		recs[i] = engine.Record{Data: []byte(c.Input), Meta: engine.Metadata{Source: casesPath, SequenceNumber: strconv.Itoa(i)}}
	}
	res, err := st.Process(ctx, recs)
	if err != nil {
		return 0, fmt.Errorf("test: the batch of %d cases failed as a whole: %w", len(cases), err)
	}
	if len(res) != len(cases) {
		return 0, fmt.Errorf("test: %d results for %d cases", len(res), len(cases))
	}
	for i, c := range cases {
		var b bytes.Buffer
		checkCase(&b, c, res[i])
		if b.Len() > 0 {
			failed++
			fmt.Fprintf(w, "--- FAIL: case %s\n%s", c.label(i), b.String())
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(cases)-failed, failed)
	return failed, nil
}

// checkCase writes what is wrong with r for c (nothing when it passed).
func checkCase(w io.Writer, c Case, r engine.Result) {
	got := describeResult(r)
	switch {
	case c.Fails || c.Error != "":
		if r.Status != engine.StatusFailed {
			fmt.Fprintf(w, "    want: failed\n     got: %s\n", got)
		} else if c.Error != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), c.Error)) {
			fmt.Fprintf(w, "    want: failed with an error containing %q\n     got: %s\n", c.Error, got)
		}
		return
	case c.Dropped:
		if r.Status != engine.StatusDropped {
			fmt.Fprintf(w, "    want: dropped\n     got: %s\n", got)
		}
		return
	}
	if r.Status == engine.StatusFailed {
		fmt.Fprintf(w, "    want: ok\n     got: %s\n", got)
		return
	}
	if c.Route != nil {
		for k, o := range r.Outputs {
			if o.Route != *c.Route {
				fmt.Fprintf(w, "    output %d: route %q, want %q\n", k, o.Route, *c.Route)
			}
		}
	}
	if c.Expect == nil {
		return
	}
	want := *c.Expect
	if len(want) == 0 {
		if r.Status == engine.StatusOK && len(r.Outputs) > 0 {
			fmt.Fprintf(w, "    want: no output\n     got: %s\n", got)
		}
		return
	}
	if r.Status != engine.StatusOK {
		fmt.Fprintf(w, "    want: %d outputs\n     got: %s\n", len(want), got)
		return
	}
	if len(r.Outputs) != len(want) {
		fmt.Fprintf(w, "    want: %d outputs\n     got: %s\n", len(want), got)
	}
	for k := range min(len(want), len(r.Outputs)) {
		if g := string(r.Outputs[k].Data); g != want[k] {
			fmt.Fprintf(w, "    output %d differs:\n%s", k, diffLine(want[k], g))
		}
	}
}

// describeResult renders a result in one line.
func describeResult(r engine.Result) string {
	switch r.Status {
	case engine.StatusDropped:
		return "dropped"
	case engine.StatusFailed:
		msg := "failed"
		if r.Err != nil {
			msg += ": " + r.Err.Error()
		}
		return msg
	}
	var parts []string
	for _, o := range r.Outputs {
		s := strconv.Quote(string(o.Data))
		if o.Route != "" {
			s = o.Route + " <- " + s
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("ok, %d outputs [%s]", len(r.Outputs), strings.Join(parts, ", "))
}

// diffLine shows want and got with a marker under the first difference
// (long values cut around it).
func diffLine(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	start := max(0, i-60)
	cut := func(s string) string {
		end := min(len(s), i+60)
		if start > len(s) {
			return ""
		}
		out := s[start:end]
		if start > 0 {
			out = "…" + out
		}
		if end < len(s) {
			out += "…"
		}
		return out
	}
	pad := i - start
	if start > 0 {
		pad++ // the ellipsis
	}
	return fmt.Sprintf("      - want: %s\n      + got:  %s\n              %s^ first difference at byte %d\n", cut(want), cut(got), strings.Repeat(" ", pad), i)
}

// refusePipeline refuses a pipeline configuration where a module is due.
func refusePipeline(path string, b []byte) error {
	if len(b) >= 4 && string(b[:4]) == "\x00asm" {
		return nil
	}
	if strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".json") {
		return errors.New(path + " is a pipeline configuration, not a module: test a module.wasm (its stages' smoke: lists run when the pipeline loads)")
	}
	return errors.New(path + " is not a WebAssembly module (no \\0asm header)")
}
