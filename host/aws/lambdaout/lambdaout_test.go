package lambdaout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/deliver"
	"github.com/weirhq/weir/host/hosttest"
)

// startFunction builds testdata/fn and runs it under aws-lambda-rie; it
// returns the emulator's endpoint and the file the function records its
// payloads in.
func startFunction(t *testing.T) (endpoint, record string) {
	rie := hosttest.RequireTool(t, "aws-lambda-rie", "scripts/ensure-tools.sh go")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./testdata/fn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	record = filepath.Join(dir, "record.ndjson")
	port, apiPort := hosttest.FreePort(t), hosttest.FreePort(t)
	env := append(hosttest.AWSEnv(), "RECORD_FILE="+record)
	cmd := hosttest.StartProcess(t, env, rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Dir = dir
	hosttest.WaitPort(t, port, 20*time.Second)
	return functionErrorHeader(t, fmt.Sprintf("http://127.0.0.1:%d", port)), record
}

// functionErrorHeader fronts the emulator with what the Lambda service
// adds and aws-lambda-rie does not: the X-Amz-Function-Error header on
// the answer to an invocation whose function returned an error (the
// runtime's {"errorMessage", "errorType"} payload), and 202 for an Event
// invocation. It returns the proxy's URL.
func functionErrorHeader(t *testing.T, rie string) string {
	target, _ := url.Parse(rie)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Header.Get("X-Amz-Invocation-Type") == "Event" {
			resp.StatusCode = http.StatusAccepted
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		var e struct{ ErrorMessage, ErrorType string }
		if json.Unmarshal(b, &e) == nil && e.ErrorMessage != "" && e.ErrorType != "" {
			resp.Header.Set("X-Amz-Function-Error", "Unhandled")
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// invocations reads the payloads the function accepted.
func invocations(t *testing.T, record string) [][]json.RawMessage {
	t.Helper()
	f, err := os.Open(record)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls [][]json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var batch []json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &batch); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, batch)
	}
	return calls
}

// TestLambdaOutput invokes a real function under aws-lambda-rie with the
// real SDK client: 9 MB of outputs go in two RequestResponse invocations
// (6 MB payload limit), a function error is retried and the batch
// delivered once; a function that always fails is an error naming the
// outputs after max_attempts; Event invocations split at 1 MiB.
func TestLambdaOutput(t *testing.T) {
	hosttest.SetAWSEnv(t)
	endpoint, record := startFunction(t)
	ctx := context.Background()
	outs := make([]engine.Output, 3000)
	for i := range outs {
		tag := "ok"
		if i == 10 {
			tag = "fail-once"
		}
		outs[i] = engine.Output{Data: fmt.Appendf(nil, `{"i":%d,"tag":%q,"pad":%q}`, i, tag, strings.Repeat("p", 3000))}
	}
	s, err := Open(ctx, "fn", engine.OutputConfig{Type: engine.OutputLambda, Function: "function", Endpoint: endpoint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	calls := invocations(t, record)
	seen := make([]int, len(outs))
	var sizes []int
	for _, c := range calls {
		sizes = append(sizes, len(c))
		for _, d := range c {
			var v struct{ I int }
			if err := json.Unmarshal(d, &v); err != nil {
				t.Fatal(err)
			}
			seen[v.I]++
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("output %d delivered %d times (invocations of %v)", i, n, sizes)
		}
	}
	if len(calls) != 2 {
		t.Errorf("%d invocations (%v), want 2 (6 MB payloads)", len(calls), sizes)
	}

	always := []engine.Output{{Data: []byte(`{"tag":"fail-always"}`)}, {Data: []byte(`{"i":1}`)}}
	err = New(s.(*Sink).client, "function", "", 2).Write(ctx, always)
	var de *deliver.Error
	if !errors.As(err, &de) || fmt.Sprint(de.OutputIndexes()) != "[0 1]" || !strings.Contains(err.Error(), "refused this batch") {
		t.Errorf("function error: %v", err)
	}
	if err := s.Write(ctx, []engine.Output{{Data: []byte("not json")}}); err == nil || !strings.Contains(err.Error(), "output 0: not valid JSON") {
		t.Errorf("non-JSON output: %v", err)
	}

	before := len(invocations(t, record))
	ev := New(s.(*Sink).client, "function", "Event", 0)
	if err := ev.Write(ctx, outs[:500]); err != nil { // 1.5 MB
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(invocations(t, record)) < before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(invocations(t, record)) - before; n != 2 {
		t.Errorf("%d Event invocations for 1.5 MB, want 2", n)
	}
}
