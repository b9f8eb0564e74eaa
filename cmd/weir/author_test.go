package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

// The author commands (new, build, test, run module.wasm, abi-check) are
// tested through the real weir binary, as an author runs them.

// sh runs the weir binary in dir with args and extra environment.
func sh(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hosttest.WeirBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "WEIR_CACHE_DIR="+cacheDir), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return exited(t, args, err, stdout.String(), stderr.String())
}

// must fails the test unless r exited 0.
func must(t *testing.T, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: %v\nstdout: %s", what, r, r.stdout)
	}
	return r
}

// toolchain skips (or fails in CI) when a language's toolchain is missing.
func toolchain(t *testing.T, lang string) {
	t.Helper()
	switch lang {
	case "go":
		hosttest.RequireTool(t, "go", "https://go.dev/dl")
	case "assemblyscript":
		hosttest.RequireTool(t, "npm", "scripts/ensure-tools.sh node")
	case "rust":
		if _, err := os.Stat("/usr/lib/rustlib/wasm32-unknown-unknown/lib"); err != nil {
			hosttest.Missing(t, "Debian's rustc with libstd-rust-dev-wasm32", "scripts/ensure-tools.sh rust")
		}
	case "c":
		hosttest.RequireTool(t, "clang", "scripts/ensure-tools.sh c")
		if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
			hosttest.Missing(t, "wasi-libc", "scripts/ensure-tools.sh c")
		}
	}
}

// TestNewBuildTest runs weir new, build, test, run and abi-check for every
// language: the generated project must build and pass its own test as
// written, a wrong expectation must fail with a diff, and the module must
// run bare and pass the ABI's golden frames.
func TestNewBuildTest(t *testing.T) {
	root := hosttest.RepoRoot(t)
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			toolchain(t, lang)
			t.Parallel()
			work := t.TempDir()
			name := "tag-" + lang[:min(2, len(lang))]
			r := must(t, sh(t, work, nil, "new", lang, name, "--sdk", root), "weir new")
			if !strings.Contains(r.stdout, "weir build") {
				t.Errorf("weir new does not say what to do next:\n%s", r.stdout)
			}
			dir := filepath.Join(work, name)
			if lang == "assemblyscript" {
				// The author's step: the SDK by path, asc from npm.
				r := sh(t, dir, nil, "build")
				if r.code != 2 || !strings.Contains(r.stderr, "npm install") {
					t.Errorf("build before npm install: want exit 2 naming npm install, got %v", r)
				}
				cmd := exec.Command("npm", "install", "--no-audit", "--no-fund")
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("npm install: %v\n%s", err, out)
				}
			}
			must(t, sh(t, dir, nil, "build"), "weir build")
			wasm := name + ".wasm"
			if fi, err := os.Stat(filepath.Join(dir, wasm)); err != nil || fi.Size() == 0 {
				t.Fatalf("weir build wrote no %s: %v", wasm, err)
			}
			r = must(t, sh(t, dir, nil, "test", wasm, "cases.yaml"), "weir test")
			if !strings.Contains(r.stdout, "4 passed, 0 failed") {
				t.Errorf("weir test: %s", r.stdout)
			}

			// A wrong expectation fails, with a diff.
			bad := filepath.Join(dir, "bad.yaml")
			os.WriteFile(bad, []byte("- input: '{\"a\":1}'\n  expect: ['{\"a\":1,\"weir_tag\":\"read\"}']\n- input: '{\"readOnly\":true}'\n  fails: true\n- input: '{\"readOnly\":true}'\n  dropped: true\n"), 0o644)
			r = sh(t, dir, nil, "test", wasm, "bad.yaml")
			if r.code != 1 || !strings.Contains(r.stdout, "1 passed, 2 failed") || !strings.Contains(r.stdout, `+ got:  {"a":1,"weir_tag":"write"}`) ||
				!strings.Contains(r.stdout, "first difference at byte 19") || !strings.Contains(r.stdout, "want: failed\n     got: dropped") {
				t.Errorf("weir test with wrong cases: want exit 1, 1 passed, 2 failed and diffs; got %v\n%s", r, r.stdout)
			}

			// The bare module runs as a one-stage pipeline.
			in := filepath.Join(dir, "in.ndjson")
			os.WriteFile(in, []byte("{\"x\":1}\n{\"readOnly\":true}\n{\"y\":\"é\"}\n"), 0o644)
			r = must(t, sh(t, dir, nil, "run", wasm, in), "weir run module.wasm")
			if want := "{\"x\":1,\"weir_tag\":\"write\"}\n{\"y\":\"é\",\"weir_tag\":\"write\"}\n"; r.stdout != want {
				t.Errorf("weir run %s: got %q, want %q", wasm, r.stdout, want)
			}
			r = sh(t, dir, nil, "run", "-p", wasm, in)
			if r.code != 2 || !strings.Contains(r.stderr, "is a module, not a pipeline") || !strings.Contains(r.stderr, "weir run "+wasm) {
				t.Errorf("weir run -p %s: want exit 2 and the bare form, got %v", wasm, r)
			}
			r = must(t, sh(t, dir, nil, "abi-check", wasm), "weir abi-check")
			if !strings.Contains(r.stdout, ", 0 violations") {
				t.Errorf("abi-check: %s", r.stdout)
			}
		})
	}
}

// TestBuildNamesMissingToolchain: without the toolchain on PATH, weir
// build says which is missing and the command that installs it.
func TestBuildNamesMissingToolchain(t *testing.T) {
	root := hosttest.RepoRoot(t)
	work := t.TempDir()
	must(t, sh(t, work, nil, "new", "go", "m", "--sdk", root), "weir new")
	must(t, sh(t, work, nil, "new", "assemblyscript", "a", "--sdk", root), "weir new")
	empty := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{"m", "the Go toolchain (go"},
		{"m", "apt-get install golang-go"},
		{"a", "apt-get install nodejs npm"},
	} {
		r := sh(t, filepath.Join(work, tc.dir), []string{"PATH=" + empty}, "build")
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("build %s without toolchains: want exit 2 and %q, got %v", tc.dir, tc.want, r)
		}
	}
	r := sh(t, empty, nil, "build")
	if r.code != 2 || !strings.Contains(r.stderr, "weir new go|rust|c|assemblyscript NAME") {
		t.Errorf("build of an empty folder: %v", r)
	}
	r = sh(t, work, nil, "new", "cobol", "x", "--sdk", root)
	if r.code != 2 || !strings.Contains(r.stderr, `unknown language "cobol"`) {
		t.Errorf("new cobol: %v", r)
	}
}

// TestABICheck runs weir abi-check: the reference passthrough modules (Go
// and AssemblyScript SDKs) answer the golden input frames with exactly
// the expected frames; a module that breaks the ABI gets every violation
// reported and exit status 1.
func TestABICheck(t *testing.T) {
	root := hosttest.RepoRoot(t)
	expect := filepath.Join(root, "sdk", "testdata", "frames", "expected", "passthrough")
	for _, wasm := range []string{
		hosttest.GoModule(t, "modules/passthrough"),
		hosttest.AssemblyScript(t, filepath.Join(root, "modules", "passthrough-as", "passthrough-as.ts"), "--runtime", "stub"),
	} {
		r := must(t, sh(t, root, nil, "abi-check", "--expect", expect, wasm), "abi-check "+wasm)
		if !strings.Contains(r.stdout, "19 checks, 0 violations") || strings.Contains(r.stdout, "FAIL") {
			t.Errorf("abi-check %s:\n%s", wasm, r.stdout)
		}
	}
	// The Go SDK's kitchen-sink module emits other bytes than passthrough:
	// --expect must notice.
	r := sh(t, root, nil, "abi-check", "--expect", expect, hosttest.GoModule(t, "sdk/go/weir/testdata/kitchensink"))
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  answer/input-two-records: the output frame differs") {
		t.Errorf("abi-check --expect of another module: want exit 1 and a difference, got %v\n%s", r, r.stdout)
	}
	bad := hosttest.WAT(t, filepath.Join(root, "sdk", "abicheck", "testdata", "abi-broken.wat"))
	r = sh(t, root, nil, "abi-check", bad)
	for _, want := range []string{
		"FAIL  answer/input-two-records: not a valid output frame for 2 records",
		"FAIL  reject/corrupt-bad-magic: a corrupt frame must be answered with an error frame; got an output frame",
		"ok    answer/input-empty",
		"violations",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("abi-check of a broken module: no %q in\n%s", want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("abi-check of a broken module: exit %d, want 1", r.code)
	}
}

// exited is the result of a weir process run with args that returned
// err: its exit code and output. An error other than a non-zero exit
// fails the test.
func exited(t testing.TB, args []string, err error, stdout, stderr string) result {
	t.Helper()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("weir %v: %v", args, err)
	}
	return result{code: code, stdout: stdout, stderr: stderr}
}
