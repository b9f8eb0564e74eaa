package secrets_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/secrets"
	"github.com/weirhq/weir/host/sinks"
)

// hecServer is a loopback Splunk HEC intake that records the token of
// every request it receives.
type hecServer struct {
	mu     sync.Mutex
	tokens []string
	srv    *httptest.Server
}

func newHEC(t *testing.T) *hecServer {
	h := &hecServer{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.tokens = append(h.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Splunk "))
		h.mu.Unlock()
		fmt.Fprint(w, `{"text":"Success","code":0}`)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hecServer) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.tokens...)
}

// TestOpenSinksRotation: an output whose settings hold a secret is
// reopened with the secret's new value once the store has fetched it; an
// output without references keeps its sink; the new value is redacted.
func TestOpenSinksRotation(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sinks.Register()
	sm := hosttest.SecretsManager(t)
	sm.Set("hec", "token-one-aaaa")
	hec := newHEC(t)
	cfg, err := engine.ParseConfig([]byte(`version: 1
stages: [{module: m.wasm}]
outputs:
  default: {type: discard}
  splunk:
    type: http
    preset: splunk_hec
    url: "`+hec.srv.URL+`"
    allow_hosts: ["127.0.0.1"]
    allow_private: true
    token: "${secret:hec}"
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	st := secrets.New(secrets.Options{Endpoint: sm.URL, Refresh: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	resolved, err := cfg.Resolved(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	var redacts []*engine.Config
	outs, err := secrets.OpenSinks(ctx, cfg, resolved, st, secrets.SinkOptions{OnResolve: func(c *engine.Config) { redacts = append(redacts, c) }})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.CloseSinks(ctx, outs)
	discard := outs["default"]

	write := func(doc string) {
		t.Helper()
		if err := outs["splunk"].Write(ctx, []engine.Output{{Data: []byte(doc)}}); err != nil {
			t.Fatal(err)
		}
		if err := engine.FlushSinks(ctx, outs); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"n":1}`)
	gen := st.Generation()
	// A refresh that returns the same value is no rotation.
	if err := st.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Generation() != gen {
		t.Fatalf("generation moved on an unchanged value: %d -> %d", gen, st.Generation())
	}
	write(`{"n":2}`)
	sm.Set("hec", "token-two-bbbb")
	if err := st.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Generation() == gen {
		t.Fatal("generation did not move when the secret changed")
	}
	write(`{"n":3}`)
	write(`{"n":4}`)

	want := []string{"token-one-aaaa", "token-one-aaaa", "token-two-bbbb", "token-two-bbbb"}
	if got := hec.seen(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("tokens sent = %v, want %v", got, want)
	}
	if outs["default"] != discard {
		t.Fatal("an output without references was reopened")
	}
	if len(redacts) != 1 || redacts[0].Redact("x token-two-bbbb x") != "x ${secret:hec} x" {
		t.Fatalf("the rotated configuration was not handed to redaction: %d configs", len(redacts))
	}
	if strings.Contains(logs.String(), "token-") {
		t.Fatalf("a log line holds a secret value:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "outputs reopened") {
		t.Fatalf("no log of the rotation:\n%s", logs.String())
	}
}
