package engine

import (
	"strings"
	"testing"
)

// TestConfigSources: module references, signatures, poll intervals and
// the sources block are validated with messages that name the field.
func TestConfigSources(t *testing.T) {
	const key = "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{"good", "version: 1\nsources: {appconfig: api, https_allow: [m.example.com]}\nstages:\n  - module: s3://b/k.wasm?versionId=3\n    public_key: " + key + "\n    poll: 30s\n    max_module_bytes: 1000\n    smoke: [{input: '{}', expect: ['{}']}]\n  - module: https://m.example.com/x.wasm\n  - module: appconfig://a/e/p\n", ""},
		{"unknown field", "version: 1\nstages:\n  - module: m.wasm\n    polling: 3s\n", `unknown field "polling"`},
		{"bad appconfig ref", "version: 1\nstages:\n  - module: appconfig://a/e\n", "stages[0].module: want appconfig://application/environment/profile"},
		{"bad s3 ref", "version: 1\nstages:\n  - module: s3://bucket\n", "stages[0].module: want s3://bucket/key"},
		{"bad s3 query", "version: 1\nstages:\n  - module: s3://b/k?v=1\n", `unknown query parameter "v"`},
		{"https not allowed", "version: 1\nstages:\n  - module: https://evil.example.com/m.wasm\n", "not in sources.https_allow"},
		{"bad key", "version: 1\nstages:\n  - module: m.wasm\n    public_key: abc\n", "stages[0].public_key"},
		{"signature without key", "version: 1\nstages:\n  - module: m.wasm\n    signature: m.sig\n", "only used with public_key"},
		{"negative poll", "version: 1\nstages:\n  - module: m.wasm\n    poll: -1s\n", "stages[0].poll"},
		{"bad mode", "version: 1\nsources: {appconfig: sdk}\nstages:\n  - module: m.wasm\n", "sources.appconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.yaml), "p.yaml")
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Stages[0].Poll != Duration(30e9) || len(cfg.Stages[0].Smoke) != 1 || cfg.Sources.AppConfig != AppConfigAPI {
					t.Fatalf("decoded %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}
