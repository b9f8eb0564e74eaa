package examples_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
)

var (
	buildOnce sync.Once
	binDir    string
	weirBin   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// weirBinary builds cmd/weir once per test process.
func weirBinary(t *testing.T) string {
	t.Helper()
	root := hosttest.RepoRoot(t)
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "weir-examples-")
		if buildErr != nil {
			return
		}
		weirBin = filepath.Join(binDir, "weir")
		cmd := exec.Command("go", "build", "-o", weirBin, "./cmd/weir")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/weir: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return weirBin
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) lines() []string {
	if r.stdout == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
}

// weir runs the weir binary from the repository root, as the example's
// README does.
func weir(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, weirBinary(t), args...)
	cmd.Dir = hosttest.RepoRoot(t)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(d map[string]any, path string) (any, bool) { return hosttest.JSONGet(d, path) }

func str(d map[string]any, path string) string {
	v, _ := get(d, path)
	s, _ := v.(string)
	return s
}

func parse(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("not a JSON object: %v\n%.300s", err, b)
	}
	return d
}

// example lays out a copy of the repository's cloudtrail-ecs example in a
// temporary folder, its pipeline.yaml verbatim and the module built for
// the test where the configuration's relative module path expects it, and
// returns the copied configuration's path.
func example(t *testing.T) string {
	t.Helper()
	root := hosttest.RepoRoot(t)
	shipped := filepath.Join(root, "examples", "cloudtrail-ecs", "pipeline.yaml")
	yaml, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?m)^\s+module:\s*(\S+)\s*$`).FindAllSubmatch(yaml, -1)
	if len(refs) != 1 {
		t.Fatalf("%s: want one module line, found %d", shipped, len(refs))
	}
	ref := string(refs[0][1])
	if filepath.IsAbs(ref) || strings.Contains(ref, "://") {
		t.Fatalf("%s: module %q should be a path relative to the example", shipped, ref)
	}
	// The module the Makefile builds ("make modules").
	if got, want := filepath.Join(root, "examples", "cloudtrail-ecs", ref), filepath.Join(root, "modules", "cloudtrail-ecs", "cloudtrail-ecs.wasm"); got != want {
		t.Fatalf("%s: module %q resolves to %s, not to %s that make modules builds", shipped, ref, got, want)
	}

	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "examples", "cloudtrail-ecs", "pipeline.yaml")
	mod := filepath.Join(tmp, "examples", "cloudtrail-ecs", ref)
	wasm, err := os.ReadFile(hosttest.GoModule(t, "modules/cloudtrail-ecs"))
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range map[string][]byte{cfg: yaml, mod: wasm} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// TestCloudTrailECS runs examples/cloudtrail-ecs as its README does, on
// its bundled data.
func TestCloudTrailECS(t *testing.T) {
	cfg := example(t)
	cache := t.TempDir()
	data := filepath.Join("examples", "cloudtrail-ecs", "data")

	t.Run("validate", func(t *testing.T) {
		r := weir(t, "--cache-dir", cache, "validate", "-p", cfg)
		if r.code != 0 || !strings.Contains(r.stdout, ": ok (1 stages, 1 outputs)") || !strings.Contains(r.stdout, `stage "normalize"`) {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("consolelogin", func(t *testing.T) {
		// The enrichment stage (pipeline-enriched.yaml) adds the rest.
		want := hosttest.ReferenceNormalized(t)

		r := weir(t, "--cache-dir", cache, "run", "-p", cfg, filepath.Join(data, "consolelogin.json"))
		if r.code != 0 || r.stderr != "" || len(r.lines()) != 1 {
			t.Fatalf("exit %d, %d lines\n%s", r.code, len(r.lines()), r.stderr)
		}
		if got := parse(t, []byte(r.lines()[0])); !reflect.DeepEqual(got, want) {
			t.Fatalf("document differs:\n got %s", r.stdout)
		}
	})

	t.Run("stratus-red-team", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(hosttest.RepoRoot(t), data, "stratus-red-team", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no data: %v", err)
		}
		var inputs []json.RawMessage
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var elems []json.RawMessage
			if err := json.Unmarshal(b, &elems); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			inputs = append(inputs, elems...)
		}
		if len(inputs) != 310 {
			t.Fatalf("%d records, want 310", len(inputs))
		}
		r := weir(t, append([]string{"--cache-dir", cache, "run", "-p", cfg, "--summary"}, files...)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stderr, "weir: 310 records in, 310 out, 0 dropped, 0 failed, 0 dead-lettered in ") || strings.Contains(r.stderr, " failed: ") {
			t.Errorf("summary:\n%s", r.stderr)
		}
		lines := r.lines()
		if len(lines) != len(inputs) {
			t.Fatalf("%d lines for %d records", len(lines), len(inputs))
		}
		invalid := 0
		for i, line := range lines {
			d := parse(t, []byte(line))
			orig := str(d, "event.original")
			sum := sha256.Sum256([]byte(orig))
			if orig != string(inputs[i]) || str(d, "event.hash") != hex.EncodeToString(sum[:]) {
				t.Fatalf("line %d: event.original/event.hash do not match record %d", i, i)
			}
			in := parse(t, inputs[i])
			ip, _ := in["sourceIPAddress"].(string)
			if _, err := netip.ParseAddr(ip); err != nil {
				invalid++
				if _, ok := get(d, "source.ip"); ok {
					t.Errorf("line %d: source.ip from invalid %q", i, ip)
				}
			} else if str(d, "source.ip") != ip {
				t.Errorf("line %d: source.ip %q, want %q", i, str(d, "source.ip"), ip)
			}
			if code, _ := in["errorCode"].(string); code != "" && str(d, "event.outcome") != "failure" {
				t.Errorf("line %d: errorCode %q, event.outcome %q", i, code, str(d, "event.outcome"))
			}
		}
		if invalid == 0 {
			t.Error("no invalid source IP in the corpus")
		}
	})

	t.Run("otrf", func(t *testing.T) {
		r := weir(t, "--cache-dir", cache, "run", "-p", cfg, filepath.Join(data, "otrf", "ec2_proxy_s3_exfiltration_2020-09-14011940.json"))
		if r.code != 0 || r.stderr != "" || len(r.lines()) != 103 {
			t.Fatalf("exit %d, %d lines\n%s", r.code, len(r.lines()), r.stderr)
		}
		for i, l := range r.lines() {
			if d := parse(t, []byte(l)); str(d, "cloud.provider") != "aws" {
				t.Errorf("line %d: %s", i, l)
			}
		}
	})
}
