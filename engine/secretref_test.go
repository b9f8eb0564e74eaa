package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestExpandString(t *testing.T) {
	vals := map[Ref]string{
		{Kind: RefSecret, ID: "tok"}:                                                   "T0KEN",
		{Kind: RefSecret, ID: "db", Key: "pw"}:                                         "PW",
		{Kind: RefEnv, ID: "HOST"}:                                                     "h.example",
		{Kind: RefSecret, ID: "arn:aws:secretsmanager:us-east-1:1:secret:x"}:           "ARNV",
		{Kind: RefSecret, ID: "arn:aws:secretsmanager:us-east-1:1:secret:x", Key: "k"}: "ARNK",
	}
	lookup := func(r Ref) (string, error) {
		v, ok := vals[r]
		if !ok {
			return "", errors.New("unknown " + r.String())
		}
		return v, nil
	}
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"Splunk ${secret:tok}", "Splunk T0KEN", ""},
		{"${secret:db:pw}@${env:HOST}", "PW@h.example", ""},
		{"${secret:arn:aws:secretsmanager:us-east-1:1:secret:x}", "ARNV", ""},
		{"${secret:arn:aws:secretsmanager:us-east-1:1:secret:x:k}", "ARNK", ""},
		{"$${secret:tok}", "${secret:tok}", ""},
		{"${other} and {date}", "${other} and {date}", ""},
		{"${secret:tok", "", "unterminated"},
		{"${secret:}", "", "a secret name or ARN"},
		{"${secret:db:}", "", "a secret name or ARN"},
		{"${secret:db:a:b}", "", "cannot hold ':'"},
		{"${secret:arn:aws:sm}", "", "a secret ARN is"},
		{"${env:}", "", "environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expandString(tt.in, lookup, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestConfigRefsValidateRedact(t *testing.T) {
	cfg, err := ParseConfig([]byte(`version: 1
stages:
  - name: s
    module: m.wasm
    config: {token: "Bearer ${secret:tok}", host: "${env:HOST}"}
    capabilities:
      http: {allow_hosts: ["${env:HOST}"]}
outputs:
  default: {type: sqs, queue_url: "${env:QUEUE}", endpoint: "${secret:ep}"}
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.Refs() {
		got = append(got, r.String())
	}
	if strings.Join(got, " ") != "${env:QUEUE} ${secret:ep} ${env:HOST} ${secret:tok}" {
		t.Fatalf("Refs = %v", got)
	}
	vals := map[string]string{"tok": "tok-value-1", "ep": "http://127.0.0.1:9/ep-value", "HOST": "h.example", "QUEUE": "http://127.0.0.1:9/q"}
	r, err := cfg.Resolved(context.Background(), ResolverFunc(func(_ context.Context, ref Ref) (string, error) { return vals[ref.ID], nil }))
	if err != nil {
		t.Fatal(err)
	}
	if r.Stages[0].Config["token"] != "Bearer tok-value-1" || r.Stages[0].Capabilities.HTTP.AllowHosts[0] != "h.example" || r.Outputs["default"].Endpoint != vals["ep"] {
		t.Fatalf("resolved: %+v %+v", r.Stages[0], r.Outputs["default"])
	}
	if cfg.Stages[0].Config["token"] != "Bearer ${secret:tok}" || cfg.Stages[0].Capabilities.HTTP.AllowHosts[0] != "${env:HOST}" || cfg.Outputs["default"].Endpoint != "${secret:ep}" {
		t.Fatalf("original modified: %+v %+v", cfg.Stages[0], cfg.Outputs["default"])
	}
	if got := r.Redact("failed: Bearer tok-value-1 at http://127.0.0.1:9/ep-value/x"); got != "failed: Bearer ${secret:tok} at ${secret:ep}/x" {
		t.Fatalf("Redact = %q", got)
	}
	if got := cfg.Redact("tok-value-1"); got != "tok-value-1" {
		t.Fatalf("the unresolved config redacted %q", got)
	}
	_, err = ParseConfig([]byte("version: 1\nstages: [{module: m.wasm, config: {k: \"${secret:x\"}}]\n"), "p.yaml")
	if err == nil || !strings.Contains(err.Error(), "stages[0].config.k") || !strings.Contains(err.Error(), "unterminated") {
		t.Fatalf("malformed reference: %v", err)
	}
}
