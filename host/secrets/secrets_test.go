package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/secrets"
)

const splunkToken = "hec-7f3a9c1e-token-value"

func TestResolve(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sm := hosttest.SecretsManager(t)
	sm.Set("splunk", splunkToken)
	sm.Set("siem", `{"user":"svc-weir","password":"p4ss-w0rd-value","port":8088}`)
	env := map[string]string{"SIEM_HOST": "siem.example.com"}
	st := secrets.New(secrets.Options{Endpoint: sm.URL, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	ctx := context.Background()
	tests := []struct {
		ref     engine.Ref
		want    string
		wantErr string
	}{
		{engine.Ref{Kind: "secret", ID: "splunk"}, splunkToken, ""},
		{engine.Ref{Kind: "secret", ID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk"}, splunkToken, ""},
		{engine.Ref{Kind: "secret", ID: "siem", Key: "password"}, "p4ss-w0rd-value", ""},
		{engine.Ref{Kind: "secret", ID: "siem", Key: "port"}, "8088", ""},
		{engine.Ref{Kind: "secret", ID: "siem", Key: "absent"}, "", `key "absent" is not in the secret's JSON object`},
		{engine.Ref{Kind: "secret", ID: "splunk", Key: "user"}, "", "not a JSON object"},
		{engine.Ref{Kind: "secret", ID: "nope"}, "", "ResourceNotFoundException"},
		{engine.Ref{Kind: "env", ID: "SIEM_HOST"}, "siem.example.com", ""},
		{engine.Ref{Kind: "env", ID: "UNSET"}, "", "UNSET is unset"},
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			got, err := st.Resolve(ctx, tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), splunkToken) || strings.Contains(err.Error(), "p4ss") {
					t.Fatalf("error holds a secret value: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestCacheAndRefresh: a secret is fetched once per refresh interval; a
// refresh that fails keeps the last value and logs the reference, not
// the value; a refresh that succeeds picks up the new value.
func TestCacheAndRefresh(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sm := hosttest.SecretsManager(t)
	sm.Set("tok", splunkToken)
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	st := secrets.New(secrets.Options{
		Endpoint: sm.URL, Refresh: time.Minute,
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	ctx := context.Background()
	ref := engine.Ref{Kind: "secret", ID: "tok"}
	get := func() string {
		t.Helper()
		v, err := st.Resolve(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for range 3 {
		if v := get(); v != splunkToken {
			t.Fatalf("got %q", v)
		}
	}
	if c := sm.Calls(); c != 1 {
		t.Fatalf("%d calls within the refresh interval, want 1 (cached)", c)
	}
	now = now.Add(2 * time.Minute)
	sm.Fail(true)
	if v := get(); v != splunkToken {
		t.Fatalf("failed refresh: got %q, want the last value", v)
	}
	if err := st.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "${secret:tok}") {
		t.Fatalf("Refresh err = %v", err)
	}
	if !strings.Contains(logs.String(), "secret refresh failed") || !strings.Contains(logs.String(), "${secret:tok}") {
		t.Fatalf("refresh failure not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), splunkToken) {
		t.Fatalf("log holds the value: %s", logs.String())
	}
	sm.Fail(false)
	sm.Set("tok", "rotated-token-value")
	if err := st.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if v := get(); v != "rotated-token-value" {
		t.Fatalf("after refresh got %q", v)
	}
}

// TestStartRefreshes: the background loop fetches again on its interval.
func TestStartRefreshes(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sm := hosttest.SecretsManager(t)
	sm.Set("tok", "v1-value")
	st := secrets.New(secrets.Options{Endpoint: sm.URL, Refresh: 20 * time.Millisecond})
	ctx := context.Background()
	if _, err := st.Resolve(ctx, engine.Ref{Kind: "secret", ID: "tok"}); err != nil {
		t.Fatal(err)
	}
	st.Start(ctx)
	defer st.Close()
	deadline := time.Now().Add(10 * time.Second)
	for sm.Calls() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls after 10s of a 20ms refresh loop", sm.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAssumeRole: with AssumeRoleARN the secret is read with the role's
// credentials, obtained from the STS server.
func TestAssumeRole(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sts := hosttest.STS(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	sm := hosttest.SecretsManager(t)
	sm.Set("tok", splunkToken)
	const role = "arn:aws:iam::210987654321:role/weir-secrets"
	st := secrets.New(secrets.Options{Endpoint: sm.URL, AssumeRoleARN: role})
	if _, err := st.Resolve(context.Background(), engine.Ref{Kind: "secret", ID: "tok"}); err != nil {
		t.Fatal(err)
	}
	if got := sts.Assumed(); len(got) != 1 || got[0] != role {
		t.Fatalf("assumed %v", got)
	}
	if keys := sm.AccessKeys(); len(keys) != 1 || keys[0] != hosttest.RoleKey(role) {
		t.Fatalf("secrets manager called with %v, want the role's key %s", keys, hosttest.RoleKey(role))
	}
}

// TestConfigResolved drives engine.Config.Resolved with a Store.
func TestConfigResolved(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sm := hosttest.SecretsManager(t)
	sm.Set("splunk", splunkToken)
	cfg, err := engine.ParseConfig([]byte(`version: 1
stages:
  - module: m.wasm
    config:
      token: "${secret:splunk}"
outputs:
  default:
    type: sqs
    queue_url: "${env:QUEUE_URL}"
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUEUE_URL", "http://127.0.0.1:1/q")
	st := secrets.New(secrets.Options{Endpoint: sm.URL})
	r, err := cfg.Resolved(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stages[0].Config["token"] != splunkToken || r.Outputs["default"].QueueURL != "http://127.0.0.1:1/q" {
		t.Fatalf("resolved %+v %+v", r.Stages[0].Config, r.Outputs["default"])
	}
	if cfg.Stages[0].Config["token"] != "${secret:splunk}" {
		t.Fatalf("original changed: %q", cfg.Stages[0].Config["token"])
	}
	sm.Set("other", "x")
	_, err = (&engine.Config{}).Resolved(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := engine.ParseConfig([]byte("version: 1\nstages: [{module: m.wasm, config: {k: \"${secret:missing}\"}}]\n"), "p.yaml")
	if _, err := bad.Resolved(context.Background(), st); err == nil || !errors.Is(err, engine.ErrInvalidConfig) || !strings.Contains(err.Error(), "${secret:missing}") {
		t.Fatalf("missing secret: %v", err)
	}
}
