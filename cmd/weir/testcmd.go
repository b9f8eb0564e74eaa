package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
)

// testCase is one case of "weir test": a stage's smoke test
// (engine.SmokeTest: input, expect) with a name and the other outcomes.
type testCase struct {
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

func (c testCase) label(i int) string {
	if c.Name != "" {
		return fmt.Sprintf("%d %q", i, c.Name)
	}
	return strconv.Itoa(i)
}

// loadCases reads a cases file: a YAML (or JSON) list of test cases.
func loadCases(path string) ([]testCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	var cases []testCase
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

func newTestCmd(g *globals) *cobra.Command {
	var entry string
	var config []string
	cmd := &cobra.Command{
		Use:   "test module.wasm cases.yaml",
		Short: "Run test cases (record in, outputs / dropped / failed out) against a module",
		Long: `Test runs every case of cases.yaml through the module, as one batch, and
prints "N passed, M failed" with a diff for each failure. The exit status is
0 when every case passed, 1 when one failed, 2 for usage errors.

cases.yaml is a list; each case is a stage's smoke test (input, expect; see
"smoke:" in the pipeline reference) with a name and more outcomes:

  - name: a write event is tagged
    input: '{"eventName":"PutObject","readOnly":false}'
    expect: ['{"eventName":"PutObject","readOnly":false,"weir_tag":"write"}']
  - name: a read-only event is dropped
    input: '{"readOnly":true}'
    dropped: true
  - name: not JSON
    input: 'nope'
    fails: true
    error: invalid JSON       # part of the failure message (optional)

expect lists the exact outputs in order ([] = none); route: R requires every
output to go to route R ("" = the default output). A case with none of
expect, dropped and fails passes when the record does not fail.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := map[string]string{}
			for _, kv := range config {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("test: --config %q: want key=value", kv)
				}
				cfg[k] = v
			}
			return runTests(cmd.Context(), g, args[0], args[1], engine.StageConfig{Entry: entry, Config: cfg, Instances: 1})
		},
	}
	cmd.Flags().StringVar(&entry, "entry", "", "how to call the module: auto (default), fast, batch, record")
	cmd.Flags().StringArrayVar(&config, "config", nil, "a module config value key=value (repeatable)")
	return cmd
}

func runTests(ctx context.Context, g *globals, module, casesPath string, sc engine.StageConfig) error {
	cases, err := loadCases(casesPath)
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(module)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	if err := refusePipeline(module, wasm); err != nil {
		return fmt.Errorf("test: %w", err)
	}
	h, err := host.New(ctx, host.Options{CacheDir: g.cacheDir, Logger: g.logger()})
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	defer h.Close(ctx)
	st, err := h.LoadModule(ctx, module, wasm, sc)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	defer st.Close(ctx)
	recs := make([]engine.Record, len(cases))
	for i, c := range cases {
		recs[i] = engine.Record{Data: []byte(c.Input), Meta: engine.Metadata{Source: casesPath, SequenceNumber: strconv.Itoa(i)}}
	}
	res, err := st.Process(ctx, recs)
	if err != nil {
		return fmt.Errorf("test: the batch of %d cases failed as a whole: %w", len(cases), err)
	}
	if len(res) != len(cases) {
		return fmt.Errorf("test: %d results for %d cases", len(res), len(cases))
	}
	failed := 0
	for i, c := range cases {
		var b bytes.Buffer
		checkCase(&b, c, res[i])
		if b.Len() > 0 {
			failed++
			fmt.Fprintf(g.stdout, "--- FAIL: case %s\n%s", c.label(i), b.String())
		}
	}
	fmt.Fprintf(g.stdout, "%d passed, %d failed\n", len(cases)-failed, failed)
	if failed > 0 {
		return exitError{code: exitFailed}
	}
	return nil
}

// checkCase writes what is wrong with r for c (nothing when it passed).
func checkCase(w io.Writer, c testCase, r engine.Result) {
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
