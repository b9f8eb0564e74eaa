package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
)

// cacheDir is the wazero compilation cache the tests of this process
// share: a module compiles once (seconds), then loads from the cache
// (milliseconds) in every later in-process run.
var cacheDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "weir-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cacheDir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

// result is what one in-process run of weir gave.
type result struct {
	code           int
	stdout, stderr string
}

// lines returns the stdout lines.
func (r result) lines() []string {
	if r.stdout == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stderr:\n%s", r.code, r.stderr)
}

// weir runs the CLI in-process with args (and the shared compilation
// cache) and stdin (nil: empty).
func weir(t testing.TB, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"--cache-dir", cacheDir}, args...), stdin, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ctModule builds modules/cloudtrail-ecs (once per process).
func ctModule(t testing.TB) string {
	t.Helper()
	return hosttest.GoModule(t, "modules/cloudtrail-ecs")
}

// ptModule builds modules/passthrough (once per process).
func ptModule(t testing.TB) string {
	t.Helper()
	return hosttest.GoModule(t, "modules/passthrough")
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pipeline writes a one-stage pipeline running module (with extra YAML
// lines appended to the stage, indented by the caller) in a new temporary
// folder, and returns the configuration's path.
func pipeline(t testing.TB, module string, stageExtra string, rest string) string {
	t.Helper()
	y := fmt.Sprintf("version: 1\nstages:\n  - name: normalize\n    module: %s\n%s%s", module, stageExtra, rest)
	return writeFile(t, t.TempDir(), "pipeline.yaml", []byte(y))
}

// ctPipeline is the reference pipeline: cloudtrail-ecs, defaults.
func ctPipeline(t testing.TB) string {
	t.Helper()
	return pipeline(t, ctModule(t), "", "")
}

// sharedDir is the shared test data folder.
func sharedDir(t testing.TB) string {
	t.Helper()
	return hosttest.SharedDir(t)
}

// doc is one ECS document.
type doc map[string]any

// parseDoc parses one output line, failing the test when it is not a JSON
// object.
func parseDoc(t testing.TB, line string) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		t.Fatalf("output line is not a JSON object: %v\n%.300s", err, line)
	}
	return d
}

// get returns the value at a dotted path of nested objects.
func (d doc) get(path string) (any, bool) { return hosttest.JSONGet(d, path) }

// str returns the string at path ("" when absent or not a string).
func (d doc) str(path string) string {
	v, _ := d.get(path)
	s, _ := v.(string)
	return s
}

// sha256Hex is the hex sha256 of s.
func sha256Hex(s []byte) string {
	sum := sha256.Sum256(s)
	return hex.EncodeToString(sum[:])
}

// checkHash checks that event.hash is the sha256 of event.original.
func checkHash(t testing.TB, d doc) {
	t.Helper()
	orig, hash := d.str("event.original"), d.str("event.hash")
	if orig == "" || hash != sha256Hex([]byte(orig)) {
		t.Errorf("event.hash %q is not the sha256 of event.original (%.80q)", hash, orig)
	}
}

// referenceExpected returns the reference document without the
// enrichment fields.
func referenceExpected(t testing.TB) doc {
	t.Helper()
	return doc(hosttest.ReferenceNormalized(t))
}

// noFailures fails the test when stderr reports anything.
func noFailures(t testing.TB, r result) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and a silent stderr, got %v", r)
	}
}
