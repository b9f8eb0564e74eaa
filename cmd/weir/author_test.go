package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

// The author commands (new, build, test, abi-check) are package sdk/author,
// tested there in every language; these tests run them through the real
// weir binary, as an author does (in a project folder), for their flags,
// output and exit statuses, and "weir run module.wasm" on what they built.

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

// TestAuthorCommands runs weir new, build, test, run and abi-check on a Go
// project as the author's guide (sdk/README.md) does: the generated project
// builds and passes its own test (exit 0), a wrong expectation exits 1
// with a diff, the module runs bare and passes the ABI's golden frames.
func TestAuthorCommands(t *testing.T) {
	hosttest.RequireTool(t, "go", "https://go.dev/dl")
	root := hosttest.RepoRoot(t)
	work := t.TempDir()
	r := must(t, sh(t, work, nil, "new", "go", "tag-go", "--sdk", root), "weir new")
	if !strings.Contains(r.stdout, "weir: wrote a go module project in tag-go (SDK: "+root+")") || !strings.Contains(r.stdout, "  weir build\n  weir test tag-go.wasm cases.yaml\n") {
		t.Errorf("weir new does not say what it wrote and what to do next:\n%s", r.stdout)
	}
	dir := filepath.Join(work, "tag-go")
	r = must(t, sh(t, dir, nil, "build"), "weir build")
	if !strings.Contains(r.stdout, "weir: built "+filepath.Join(dir, "tag-go.wasm")+" (") || !strings.Contains(r.stderr, "weir: GOOS=wasip1 GOARCH=wasm ") {
		t.Errorf("weir build: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	wasm := "tag-go.wasm"
	r = must(t, sh(t, dir, nil, "test", wasm, "cases.yaml"), "weir test")
	if r.stdout != "4 passed, 0 failed\n" {
		t.Errorf("weir test: %s", r.stdout)
	}

	// A wrong expectation fails with exit 1 and a diff.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- input: '{\"a\":1}'\n  expect: ['{\"a\":1,\"weir_tag\":\"read\"}']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = sh(t, dir, nil, "test", wasm, "bad.yaml")
	if r.code != 1 || !strings.Contains(r.stdout, "0 passed, 1 failed") || !strings.Contains(r.stdout, `+ got:  {"a":1,"weir_tag":"write"}`) {
		t.Errorf("weir test with a wrong case: want exit 1, 0 passed, 1 failed and a diff; got %v\n%s", r, r.stdout)
	}
	r = sh(t, dir, nil, "test", "--config", "nokey", wasm, "cases.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, `weir: test: --config "nokey": want key=value`) {
		t.Errorf("weir test --config nokey: want exit 2, got %v", r)
	}

	// The bare module runs as a one-stage pipeline.
	in := filepath.Join(dir, "in.ndjson")
	if err := os.WriteFile(in, []byte("{\"x\":1}\n{\"readOnly\":true}\n{\"y\":\"é\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = must(t, sh(t, dir, nil, "run", wasm, in), "weir run module.wasm")
	if want := "{\"x\":1,\"weir_tag\":\"write\"}\n{\"y\":\"é\",\"weir_tag\":\"write\"}\n"; r.stdout != want {
		t.Errorf("weir run %s: got %q, want %q", wasm, r.stdout, want)
	}
	r = sh(t, dir, nil, "run", "-p", wasm, in)
	if r.code != 2 || !strings.Contains(r.stderr, "is a module, not a pipeline") || !strings.Contains(r.stderr, "weir run "+wasm) {
		t.Errorf("weir run -p %s: want exit 2 and the bare form, got %v", wasm, r)
	}
	r = must(t, sh(t, dir, nil, "abi-check", wasm), "weir abi-check")
	if !strings.Contains(r.stdout, "weir: abi-check "+wasm+" against the golden frames of "+filepath.Join(root, "sdk", "testdata", "frames")+"\n") || !strings.Contains(r.stdout, ", 0 violations") {
		t.Errorf("abi-check: %s", r.stdout)
	}
	r = sh(t, dir, nil, "test", "cases.yaml", "cases.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "weir: test: cases.yaml is a pipeline configuration, not a module") {
		t.Errorf("weir test cases.yaml cases.yaml: want exit 2, got %v", r)
	}
}

// TestAuthorCommandErrors: the author commands' errors exit 2 with the
// message on stderr (a missing toolchain names its install command); a
// module that breaks the ABI makes abi-check exit 1.
func TestAuthorCommandErrors(t *testing.T) {
	root := hosttest.RepoRoot(t)
	work := t.TempDir()
	must(t, sh(t, work, nil, "new", "assemblyscript", "a", "--sdk", root), "weir new")
	empty := t.TempDir()
	for _, tc := range []struct {
		dir  string
		env  []string
		args []string
		want string
	}{
		{filepath.Join(work, "a"), []string{"PATH=" + empty}, []string{"build"}, "weir: build: Node.js (node, npm) is not installed; install it with:\nweir:   apt-get install nodejs npm\n"},
		{filepath.Join(work, "a"), nil, []string{"build"}, "npm install"},
		{empty, nil, []string{"build"}, "weir new go|rust|c|assemblyscript NAME"},
		{work, nil, []string{"new", "cobol", "x", "--sdk", root}, `weir: new: unknown language "cobol"`},
		{work, nil, []string{"new", "go", "a", "--sdk", root}, "weir: new: a exists and is not empty"},
		{work, nil, []string{"new", "go", "x", "--sdk", empty}, "is not a weir checkout"},
	} {
		r := sh(t, tc.dir, tc.env, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("weir %v in %s: want exit 2 and %q, got %v", tc.args, tc.dir, tc.want, r)
		}
	}
	bad := hosttest.WAT(t, filepath.Join(root, "sdk", "abicheck", "testdata", "abi-broken.wat"))
	r := sh(t, root, nil, "abi-check", bad)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  answer/input-two-records: not a valid output frame for 2 records") || !strings.Contains(r.stdout, "violations") {
		t.Errorf("abi-check of a broken module: want exit 1 and the violations, got %v\n%s", r, r.stdout)
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
