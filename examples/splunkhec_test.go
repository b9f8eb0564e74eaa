package examples_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

// hec is a loopback Splunk HTTP Event Collector: it checks the request
// shape (POST /services/collector/event, "Authorization: Splunk <token>",
// gzip, concatenated {"event": ...} envelopes, 1 MiB per request), answers
// the first request "503 Server is busy", and keeps the events it accepts.
type hec struct {
	t      *testing.T
	token  string
	mu     sync.Mutex
	calls  int
	events []json.RawMessage
}

func (h *hec) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	refuse := func(status int, format string, args ...any) {
		h.t.Errorf("HEC: "+format, args...)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"text":%q,"code":6}`, fmt.Sprintf(format, args...))
	}
	if r.Method != http.MethodPost || r.URL.Path != "/services/collector/event" {
		refuse(404, "%s %s", r.Method, r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Splunk "+h.token {
		w.WriteHeader(401)
		io.WriteString(w, `{"text":"Invalid authorization","code":3}`)
		h.t.Errorf("HEC: Authorization header %q", r.Header.Get("Authorization"))
		return
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		refuse(400, "body not gzip")
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		refuse(400, "gzip: %v", err)
		return
	}
	raw, err := io.ReadAll(zr)
	if err != nil || len(raw) > 1<<20 {
		refuse(413, "body of %d bytes (%v)", len(raw), err)
		return
	}
	if h.calls == 1 {
		w.WriteHeader(503)
		io.WriteString(w, `{"text":"Server is busy","code":9}`)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var events []json.RawMessage
	for dec.More() {
		var env struct{ Event json.RawMessage }
		if err := dec.Decode(&env); err != nil || env.Event == nil {
			refuse(400, "envelope %d: %v", len(events), err)
			return
		}
		events = append(events, env.Event)
	}
	h.events = append(h.events, events...)
	io.WriteString(w, `{"text":"Success","code":0}`)
}

// TestSplunkHECExample runs examples/splunk-hec/pipeline.yaml, pointed at
// a loopback HEC and with its token in a loopback Secrets Manager, on the
// reference record and the Stratus Red Team records: every document
// arrives once, the reference one as the reference job makes it, after a
// 503 retried; the token is in no output of weir.
func TestSplunkHECExample(t *testing.T) {
	const token = "0d1e2a3d-hec-token-never-printed"
	root := hosttest.RepoRoot(t)
	sm := hosttest.SecretsManager(t)
	sm.Set("weir/splunk-hec-token", token)
	h := &hec{t: t, token: token}
	srv := httptest.NewServer(h)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// The shipped file, its collector swapped for the loopback one (a
	// private address: allow_private) and Secrets Manager pointed at the
	// loopback one.
	shipped, err := os.ReadFile(filepath.Join(root, "examples", "splunk-hec", "pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(string(shipped), "https://splunk.example.com:8088", srv.URL)
	yaml = strings.ReplaceAll(yaml, "[splunk.example.com:8088]", "["+host+"]\n    allow_private: true")
	yaml = strings.Replace(yaml, "version: 1\n", fmt.Sprintf("version: 1\nsecrets: {endpoint: %q}\n", sm.URL), 1)
	if yaml == string(shipped) || !strings.Contains(yaml, "${secret:weir/splunk-hec-token}") {
		t.Fatal("the example's url, allow_hosts or token line changed: update this test")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "examples", "splunk-hec", "pipeline.yaml")
	ref := regexp.MustCompile(`(?m)^\s+module:\s*(\S+)\s*$`).FindStringSubmatch(yaml)
	wasm, err := os.ReadFile(hosttest.GoModule(t, "modules/cloudtrail-ecs"))
	if err != nil || ref == nil {
		t.Fatal(err, ref)
	}
	for p, b := range map[string][]byte{cfg: []byte(yaml), filepath.Join(filepath.Dir(cfg), ref[1]): wasm} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, "examples", "cloudtrail-ecs", "data", "stratus-red-team", "*.json"))
	args := append([]string{"--cache-dir", t.TempDir(), "--log-level", "debug", "run", "-p", cfg, "--summary",
		filepath.Join(root, "examples", "cloudtrail-ecs", "data", "consolelogin.json")}, files...)
	for _, kv := range hosttest.AWSEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	r := weir(t, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Errorf("the token appears in weir's output")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) != 311 || h.calls < 2 {
		t.Fatalf("%d events in %d requests, want 311 after a 503", len(h.events), h.calls)
	}
	if got := parse(t, h.events[0]); !reflect.DeepEqual(got, hosttest.ReferenceNormalized(t)) {
		t.Errorf("the reference document differs:\n%s", h.events[0])
	}
	seen := map[string]int{}
	for _, e := range h.events {
		seen[str(parse(t, e), "event.hash")]++
	}
	if len(seen) != 311 {
		t.Errorf("%d distinct documents of 311", len(seen))
	}
}
