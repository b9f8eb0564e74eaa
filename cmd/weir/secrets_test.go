package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
)

// TestSecretNeverWritten runs the real weir binary on a pipeline whose
// stage config and output endpoint come from Secrets Manager: the module
// writes its config value into its error (a dead letter), and the output,
// whose endpoint URL holds the second secret, fails to deliver. Neither
// value may appear in stderr (slog at debug and the errors), in the dead
// letters or in weir validate's output; the references do.
func TestSecretNeverWritten(t *testing.T) {
	const (
		token    = "hec-token-0d1e2a3d-never-log-me"
		vpcePath = "vpce-0abc-secret-path-zz91"
	)
	sm := hosttest.SecretsManager(t)
	closed := hosttest.FreePort(t) // nothing listens: delivery fails
	sm.Set("splunk", `{"token":"`+token+`"}`)
	sm.Set("endpoint", fmt.Sprintf("http://127.0.0.1:%d/%s", closed, vpcePath))
	dir := t.TempDir()
	module := hosttest.WAT(t, hostTestdata(t, "record.wat"))
	cfg := writeFile(t, dir, "pipeline.yaml", []byte(fmt.Sprintf(`version: 1
secrets: {endpoint: %q}
stages:
  - name: leaky
    module: %s
    entry: record
    config: {greeting: "${secret:splunk:token}"}
    on_error: dead_letter
    dead_letter: dlq
outputs:
  default: {type: sqs, queue_url: "http://127.0.0.1:%d/123456789012/q", endpoint: "${secret:endpoint}", max_attempts: 1}
  dlq: {type: file, path: dead.ndjson}
`, sm.URL, module, closed)))
	input := writeFile(t, dir, "in.txt", []byte("!e\nhello\n"))
	bin := hosttest.WeirBinary(t)
	exe := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), hosttest.AWSEnv()...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	stdout, stderr, err := exe("--log-level", "debug", "run", "-p", cfg, "--format", "lines", "--summary", "--batch-size", "1", input)
	if err == nil {
		t.Fatalf("run succeeded with an unreachable output:\n%s", stderr)
	}
	dead, rerr := os.ReadFile(filepath.Join(dir, "dead.ndjson"))
	if rerr != nil {
		t.Fatalf("no dead letter: %v\nstderr:\n%s", rerr, stderr)
	}
	if sm.Calls() == 0 {
		t.Fatal("Secrets Manager was never called")
	}
	if !strings.Contains(string(dead), "${secret:splunk:token}") {
		t.Errorf("the dead letter does not name the reference in place of the value:\n%s\nstderr:\n%s", dead, stderr)
	}
	if !strings.Contains(stderr, "${secret:endpoint}") {
		t.Errorf("the delivery error does not name the endpoint reference:\n%s", stderr)
	}
	vout, verr, err := exe("validate", "-p", cfg)
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, verr)
	}
	if !strings.Contains(vout, "reference ${secret:splunk:token}") || !strings.Contains(vout, "reference ${secret:endpoint}") {
		t.Errorf("validate does not list the references:\n%s", vout)
	}
	for name, text := range map[string]string{"run stdout": stdout, "run stderr": stderr, "dead letters": string(dead), "validate stdout": vout, "validate stderr": verr} {
		for _, v := range []string{token, vpcePath} {
			if strings.Contains(text, v) {
				t.Errorf("%s holds a secret value %q:\n%s", name, v, text)
			}
		}
	}
}
