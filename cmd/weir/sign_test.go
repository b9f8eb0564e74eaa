package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
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

// TestPrecompile: precompile fills a cache folder, and a later run on it
// loads the module from there. wazero writes an entry on every miss and
// none on a hit, so: a run on the precompiled folder leaves it exactly as
// it was (no new entry, none rewritten), while a run on an empty folder
// writes the same entries (the run does use its cache folder, with the
// keys precompile stored). A run that ignored the cache, or looked up
// other keys, fails one of the two.
func TestPrecompile(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", []byte("version: 1\nstages:\n  - module: "+ptModule(t)+"\n    smoke: [{input: '{}'}]\n"))
	cache := filepath.Join(dir, "cache")
	r := weir(t, nil, "precompile", "-p", cfg, "-o", cache)
	if r.code != 0 || !strings.Contains(r.stdout, "1 module(s) compiled") {
		t.Fatalf("precompile: %v %s", r, r.stdout)
	}
	filled := cacheEntries(t, cache)
	if len(filled) == 0 {
		t.Fatal("the cache folder is empty")
	}
	if r := weir(t, strings.NewReader("{\"a\":1}\n"), "--cache-dir", cache, "run", "-p", cfg); r.code != 0 || r.stdout != "{\"a\":1}\n" {
		t.Fatalf("run with the cache: %v %q", r, r.stdout)
	}
	if after := cacheEntries(t, cache); !reflect.DeepEqual(after, filled) {
		t.Fatalf("the run wrote to the precompiled cache (a miss):\nbefore %v\nafter  %v", filled, after)
	}
	empty := filepath.Join(dir, "empty")
	if r := weir(t, strings.NewReader("{\"a\":1}\n"), "--cache-dir", empty, "run", "-p", cfg); r.code != 0 || r.stdout != "{\"a\":1}\n" {
		t.Fatalf("run with an empty cache: %v %q", r, r.stdout)
	}
	written := cacheEntries(t, empty)
	if len(written) == 0 {
		t.Fatal("a run on an empty cache folder wrote nothing to it: weir run does not use --cache-dir")
	}
	if !reflect.DeepEqual(entryNames(written), entryNames(filled)) {
		t.Fatalf("a run stores other entries than precompile:\nrun        %v\nprecompile %v", entryNames(written), entryNames(filled))
	}
}

// cacheEntries lists the files of a compilation cache folder, each with
// its size and modification time.
func cacheEntries(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[rel] = fmt.Sprintf("%d bytes, modified %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func entryNames(m map[string]string) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
