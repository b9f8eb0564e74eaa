package author_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/abicheck"
	"github.com/weirhq/weir/sdk/author"
)

// toolchain skips (or fails in CI) when a language's toolchain is missing.
func toolchain(t *testing.T, lang string) {
	t.Helper()
	switch lang {
	case "go":
		hosttest.RequireTool(t, "go", "https://go.dev/dl")
	case "assemblyscript":
		hosttest.RequireTool(t, "npm", "scripts/ensure-tools.sh node")
	case "rust":
		hosttest.RustToolchain(t)
	case "c":
		hosttest.CToolchain(t)
	}
}

// TestNewBuildTest runs New, Build, Test and ABICheck for every language:
// the generated project must build and pass its own test as written, a
// wrong expectation must fail with a diff, and the module must pass the
// ABI's golden frames. (cmd/weir's TestAuthorCommands runs the same steps
// through the weir binary, with "weir run module.wasm".)
func TestNewBuildTest(t *testing.T) {
	root := hosttest.RepoRoot(t)
	for _, lang := range author.Languages {
		t.Run(lang, func(t *testing.T) {
			toolchain(t, lang)
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			name := "tag-" + lang[:min(2, len(lang))]
			dir := filepath.Join(t.TempDir(), name)
			var out strings.Builder
			if err := author.New(&out, lang, name, author.NewOptions{Dir: dir, SDK: root}); err != nil {
				t.Fatalf("New: %v", err)
			}
			if !strings.Contains(out.String(), "weir build") {
				t.Errorf("New does not say what to do next:\n%s", out.String())
			}
			if b, err := os.ReadFile(filepath.Join(dir, author.SDKFile)); err != nil || strings.TrimSpace(string(b)) != root {
				t.Errorf("%s: %q, %v; want %s", author.SDKFile, b, err, root)
			}
			var log strings.Builder
			if lang == "assemblyscript" {
				// The author's step: the SDK by path, asc from npm.
				_, err := author.Build(ctx, dir, author.BuildOptions{Log: &log})
				var missing *author.MissingToolError
				if !errors.As(err, &missing) || !strings.Contains(missing.Install, "npm install") {
					t.Errorf("Build before npm install: want a MissingToolError naming npm install, got %v", err)
				}
				cmd := exec.Command("npm", "install", "--no-audit", "--no-fund")
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("npm install: %v\n%s", err, out)
				}
			}
			wasm, err := author.Build(ctx, dir, author.BuildOptions{Log: &log})
			if err != nil {
				t.Fatalf("Build: %v\n%s", err, log.String())
			}
			if want := filepath.Join(dir, name+".wasm"); wasm != want {
				t.Errorf("Build wrote %s, want %s", wasm, want)
			}
			if fi, err := os.Stat(wasm); err != nil || fi.Size() == 0 {
				t.Fatalf("Build wrote no %s: %v", wasm, err)
			}
			if !strings.Contains(log.String(), "weir: ") {
				t.Errorf("Build logged no toolchain command:\n%s", log.String())
			}
			out.Reset()
			failed, err := author.Test(ctx, &out, wasm, filepath.Join(dir, "cases.yaml"), author.TestOptions{})
			if err != nil || failed != 0 || !strings.Contains(out.String(), "4 passed, 0 failed") {
				t.Errorf("Test: %d failed, %v\n%s", failed, err, out.String())
			}

			// A wrong expectation fails, with a diff.
			bad := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(bad, []byte("- input: '{\"a\":1}'\n  expect: ['{\"a\":1,\"weir_tag\":\"read\"}']\n- input: '{\"readOnly\":true}'\n  fails: true\n- input: '{\"readOnly\":true}'\n  dropped: true\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			failed, err = author.Test(ctx, &out, wasm, bad, author.TestOptions{})
			r := out.String()
			if err != nil || failed != 2 || !strings.Contains(r, "1 passed, 2 failed") || !strings.Contains(r, `+ got:  {"a":1,"weir_tag":"write"}`) ||
				!strings.Contains(r, "first difference at byte 19") || !strings.Contains(r, "want: failed\n     got: dropped") {
				t.Errorf("Test with wrong cases: want 2 failed, 1 passed, 2 failed and diffs; got %d, %v\n%s", failed, err, r)
			}

			out.Reset()
			violations, err := author.ABICheck(ctx, &out, wasm, abicheck.Options{}, root)
			if err != nil || violations != 0 || !strings.Contains(out.String(), ", 0 violations") {
				t.Errorf("ABICheck: %d violations, %v\n%s", violations, err, out.String())
			}
		})
	}
}

// TestBuildNamesMissingToolchain: without the toolchain on PATH, Build
// says which is missing and the command that installs it; New refuses an
// unknown language and Build a folder without a project.
func TestBuildNamesMissingToolchain(t *testing.T) {
	root := hosttest.RepoRoot(t)
	work := t.TempDir()
	for _, p := range []struct{ lang, name string }{{"go", "m"}, {"assemblyscript", "a"}} {
		if err := author.New(new(strings.Builder), p.lang, p.name, author.NewOptions{Dir: filepath.Join(work, p.name), SDK: root}); err != nil {
			t.Fatalf("New %s: %v", p.lang, err)
		}
	}
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	for _, tc := range []struct{ dir, want string }{
		{"m", "the Go toolchain (go"},
		{"m", "apt-get install golang-go"},
		{"a", "apt-get install nodejs npm"},
	} {
		_, err := author.Build(context.Background(), filepath.Join(work, tc.dir), author.BuildOptions{})
		var missing *author.MissingToolError
		if !errors.As(err, &missing) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build %s without toolchains: want a MissingToolError with %q, got %v", tc.dir, tc.want, err)
		}
	}
	_, err := author.Build(context.Background(), empty, author.BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "weir new go|rust|c|assemblyscript NAME") {
		t.Errorf("Build of an empty folder: %v", err)
	}
	err = author.New(new(strings.Builder), "cobol", "x", author.NewOptions{Dir: filepath.Join(work, "x"), SDK: root})
	if err == nil || !strings.Contains(err.Error(), `unknown language "cobol"`) {
		t.Errorf("New cobol: %v", err)
	}
}

// TestABICheck runs ABICheck: the reference passthrough modules (Go and
// AssemblyScript SDKs) answer the golden input frames with exactly the
// expected frames; a module that breaks the ABI gets every violation
// reported and counted.
func TestABICheck(t *testing.T) {
	ctx := context.Background()
	root := hosttest.RepoRoot(t)
	expect := filepath.Join(root, "sdk", "testdata", "frames", "expected", "passthrough")
	check := func(wasm string, o abicheck.Options) (int, string) {
		t.Helper()
		var out strings.Builder
		n, err := author.ABICheck(ctx, &out, wasm, o, root)
		if err != nil {
			t.Fatalf("ABICheck %s: %v", wasm, err)
		}
		return n, out.String()
	}
	for _, wasm := range []string{
		hosttest.GoModule(t, "modules/passthrough"),
		hosttest.AssemblyScript(t, filepath.Join(root, "modules", "passthrough-as", "passthrough-as.ts"), "--runtime", "stub"),
	} {
		n, out := check(wasm, abicheck.Options{Expect: expect})
		if n != 0 || !strings.Contains(out, "19 checks, 0 violations") || strings.Contains(out, "FAIL") {
			t.Errorf("ABICheck %s: %d violations\n%s", wasm, n, out)
		}
	}
	// The Go SDK's kitchen-sink module emits other bytes than passthrough:
	// Expect must notice.
	n, out := check(hosttest.GoModule(t, "sdk/go/weir/testdata/kitchensink"), abicheck.Options{Expect: expect})
	if n == 0 || !strings.Contains(out, "FAIL  answer/input-two-records: the output frame differs") {
		t.Errorf("ABICheck with Expect of another module: want violations and a difference, got %d\n%s", n, out)
	}
	n, out = check(hosttest.WAT(t, filepath.Join(root, "sdk", "abicheck", "testdata", "abi-broken.wat")), abicheck.Options{})
	for _, want := range []string{
		"FAIL  answer/input-two-records: not a valid output frame for 2 records",
		"FAIL  reject/corrupt-bad-magic: a corrupt frame must be answered with an error frame; got an output frame",
		"ok    answer/input-empty",
		"violations",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ABICheck of a broken module: no %q in\n%s", want, out)
		}
	}
	if n == 0 {
		t.Errorf("ABICheck of a broken module: 0 violations")
	}
	// A pipeline configuration is not a module.
	_, err := author.ABICheck(ctx, new(strings.Builder), filepath.Join(root, "examples", "cloudtrail-ecs", "pipeline.yaml"), abicheck.Options{}, root)
	if err == nil || !strings.Contains(err.Error(), "is a pipeline configuration, not a module") {
		t.Errorf("ABICheck of a pipeline: %v", err)
	}
}

// TestLoadCases: a cases file is a list; unknown keys, an empty list and
// two outcomes in one case are errors naming the file (and the case).
func TestLoadCases(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want string
		n                int
	}{
		{"ok", "- input: '{}'\n  expect: []\n- name: d\n  input: x\n  dropped: true\n- input: y\n  error: boom\n", "", 3},
		{"empty", "[]\n", "lists no cases", 0},
		{"unknown key", "- input: '{}'\n  expected: []\n", `unknown field "expected"`, 0},
		{"two outcomes", "- input: '{}'\n- name: both\n  input: x\n  dropped: true\n  fails: true\n", `case 1 "both": use only one of expect, dropped, fails`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			cases, err := author.LoadCases(p)
			if tc.want == "" {
				if err != nil || len(cases) != tc.n {
					t.Fatalf("%d cases, %v; want %d", len(cases), err, tc.n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %v; want one naming %s with %q", err, p, tc.want)
			}
		})
	}
}
