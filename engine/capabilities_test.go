package engine

import (
	"strings"
	"testing"
)

func TestCapabilitiesValidation(t *testing.T) {
	tests := []struct {
		name, caps string
		want       string // substring of the error; "" = valid
	}{
		{"none", ``, ""},
		{"full", `
      dns: {resolver: "127.0.0.1:53", timeout: 2s, cache_ttl: 5m}
      http: {allow_hosts: [api.example.com, "*.example.org", 192.0.2.1], max_body_bytes: 1024}
      dynamodb: {tables: [users], endpoint: "http://127.0.0.1:8000"}
      tables: {accounts: {file: a.json, key: id}}
      cache: {backend: dynamodb, table: cache}
      mmdb: {asn: asn.mmdb}`, ""},
		{"dns without resolver", `
      dns: {timeout: 1s}`, "set resolver"},
		{"dns both", `
      dns: {resolver: "1.1.1.1", static: a.json}`, "not both"},
		{"dns bad resolver", `
      dns: {resolver: "1.1.1.1:x"}`, "host:port"},
		{"http without hosts", `
      http: {timeout: 1s}`, "allow_hosts: required"},
		{"http url as host", `
      http: {allow_hosts: ["https://x"]}`, "is not a host"},
		{"http hosts with ports and any", `
      http: {allow_hosts: ["api.example.com:8443", "[2001:db8::1]:443", "*"]}`, ""},
		{"http wildcard over an address", `
      http: {allow_hosts: ["*.0.0.1"]}`, "never IP addresses"},
		{"http wildcard inside a name", `
      http: {allow_hosts: ["api.*.com"]}`, "whole first label"},
		{"http bad port", `
      http: {allow_hosts: ["api.example.com:99999"]}`, "port"},
		{"http allow_metadata", `
      http: {allow_hosts: [api.example.com], allow_metadata: true}`, "always refused"},
		{"dynamodb without tables", `
      dynamodb: {region: us-east-1}`, "dynamodb.tables: required"},
		{"table without key", `
      tables: {t: {file: t.json}}`, "tables.t.key: required"},
		{"table in both", `
      tables: {users: {file: u.json, key: id}}
      dynamodb: {tables: [users]}`, "also listed"},
		{"cache backend", `
      cache: {backend: redis}`, "memory or dynamodb"},
		{"cache table", `
      cache: {backend: dynamodb}`, "cache.table: required"},
		{"mmdb https", `
      mmdb: {asn: "https://example.com/asn.mmdb"}`, "only paths, file:// and s3://"},
		{"unknown key", `
      dns: {resolver: "1.1.1.1", nope: 1}`, "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := "version: 1\nstages:\n  - module: m.wasm\n"
			if tc.caps != "" {
				cfg += "    capabilities:" + tc.caps + "\n"
			}
			_, err := ParseConfig([]byte(cfg), "p.yaml")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCapabilitiesWithBaseDir(t *testing.T) {
	c := Capabilities{
		DNS:    &DNSCapability{Static: "ptr.json"},
		Tables: map[string]TableFile{"u": {File: "file://u.json", Key: "k"}},
		MMDB:   map[string]string{"asn": "/abs/asn.mmdb"},
	}
	got := c.WithBaseDir("/cfg")
	if got.DNS.Static != "/cfg/ptr.json" || got.Tables["u"].File != "/cfg/u.json" || got.MMDB["asn"] != "/abs/asn.mmdb" {
		t.Fatalf("got %+v %+v %+v", got.DNS, got.Tables, got.MMDB)
	}
	if c.DNS.Static != "ptr.json" {
		t.Fatal("WithBaseDir modified its receiver")
	}
	if !(Capabilities{}).Empty() || c.Empty() {
		t.Fatal("Empty")
	}
}
