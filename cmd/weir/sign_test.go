package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignVerify: generate a key, sign a module, verify it; a tampered
// module, another key and a wrong digest fail with exit status 1.
func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "weir.key")
	r := weir(t, nil, "sign", "--generate-key", key)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ed25519:") {
		t.Fatalf("generate: %v %s", r, r.stdout)
	}
	pub := strings.TrimSpace(r.stdout)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	mod := writeFile(t, dir, "m.wasm", []byte("\x00asm\x01\x00\x00\x00"))
	if r := weir(t, nil, "sign", "-k", key, mod); r.code != 0 {
		t.Fatalf("sign: %v", r)
	}
	other := filepath.Join(dir, "other.key")
	if r := weir(t, nil, "sign", "--generate-key", other); r.code != 0 {
		t.Fatalf("generate: %v", r)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"good", []string{"--public-key", pub}, 0, ""},
		{"key file", []string{"--public-key", key + ".pub"}, 0, ""},
		{"other key", []string{"--public-key", other + ".pub"}, 1, "bad signature"},
		{"wrong digest", []string{"--public-key", pub, "--sha256", strings.Repeat("0", 64)}, 1, "digest mismatch"},
		{"no signature", []string{"--public-key", pub, "--signature", filepath.Join(dir, "none.sig")}, 1, "bad signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := weir(t, nil, append(append([]string{"verify"}, tc.args...), mod)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("got %v, want exit %d mentioning %q", r, tc.code, tc.msg)
			}
		})
	}
	if err := os.WriteFile(mod, []byte("\x00asm\x01\x00\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := weir(t, nil, "verify", "--public-key", pub, mod); r.code != 1 || !strings.Contains(r.stderr, "bad signature") {
		t.Fatalf("tampered: %v", r)
	}
	if r := weir(t, nil, "sign", "-k", key); r.code != 2 {
		t.Fatalf("usage: %v", r)
	}
}

// TestPrecompile fills a cache folder that a later run uses.
func TestPrecompile(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", []byte("version: 1\nstages:\n  - module: "+ptModule(t)+"\n    smoke: [{input: '{}'}]\n"))
	cache := filepath.Join(dir, "cache")
	r := weir(t, nil, "precompile", "-p", cfg, "-o", cache)
	if r.code != 0 || !strings.Contains(r.stdout, "1 module(s) compiled") {
		t.Fatalf("precompile: %v %s", r, r.stdout)
	}
	var files int
	_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatal("the cache folder is empty")
	}
	if r := weir(t, strings.NewReader("{\"a\":1}\n"), "--cache-dir", cache, "run", "-p", cfg); r.code != 0 || r.stdout != "{\"a\":1}\n" {
		t.Fatalf("run with the cache: %v %q", r, r.stdout)
	}
}
