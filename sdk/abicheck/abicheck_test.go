package abicheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/abicheck"
)

func check(t *testing.T, wasmPath string, opts abicheck.Options) *abicheck.Report {
	t.Helper()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	opts.Dir = filepath.Join(hosttest.RepoRoot(t), "sdk", "testdata", "frames")
	rep, err := abicheck.Check(context.Background(), wasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCheck: the reference passthrough passes every check and answers
// exactly the expected frames; a module that breaks the ABI on purpose
// (testdata/abi-broken.wat: the same empty output frame for every input)
// gets a violation for every frame it answers wrongly, and only those.
func TestCheck(t *testing.T) {
	root := hosttest.RepoRoot(t)
	rep := check(t, hosttest.GoModule(t, "modules/passthrough"), abicheck.Options{Expect: filepath.Join(root, "sdk", "testdata", "frames", "expected", "passthrough")})
	if rep.Violations() != 0 || len(rep.Results) < 19 {
		t.Errorf("passthrough: %d violations in %d checks: %+v", rep.Violations(), len(rep.Results), rep.Results)
	}
	rep = check(t, hosttest.WAT(t, "testdata/abi-broken.wat"), abicheck.Options{})
	var failed []string
	for _, r := range rep.Results {
		if r.Violation != "" {
			failed = append(failed, r.Name)
		}
	}
	got := strings.Join(failed, " ")
	for _, want := range []string{"answer/input-two-records", "answer/input-views", "answer/input-1mb-record", "reject/corrupt-bad-magic", "reject/corrupt-truncated-header", "again/input-two-records"} {
		if !strings.Contains(got, want) {
			t.Errorf("no violation for %s; violations: %s", want, got)
		}
	}
	for _, ok := range []string{"answer/input-empty ", "exports", "manifest"} {
		if strings.Contains(got+" ", ok) {
			t.Errorf("a violation for %s, which the module gets right; violations: %s", ok, got)
		}
	}
}
