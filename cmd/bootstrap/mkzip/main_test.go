package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCache: -cache ships the folder's files under cache/ (where the
// bootstrap looks by default), leaving out wazero's unfinished temporary
// files; without it the package has no cache/.
func TestCache(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bootstrap", "#!/bin/sh\n")
	write("m.wasm", "\x00asm\x01\x00\x00\x00")
	write("pipeline.yaml", "version: 1\nstages:\n  - name: m\n    module: m.wasm\noutputs:\n  default: {type: stdout}\n")
	write("cache/wazero-v1.12.0-amd64-linux/abc", "code")
	write("cache/wazero-v1.12.0-amd64-linux/def.123.tmp", "half")
	write("cache/weir-rewrite-v3-x/d.wasm", "rewritten")

	for _, tc := range []struct {
		cache string
		want  []string
	}{
		{"", []string{"bootstrap", "modules/m.wasm", "pipeline.yaml"}},
		{filepath.Join(dir, "cache"), []string{"bootstrap", "cache/wazero-v1.12.0-amd64-linux/abc", "cache/weir-rewrite-v3-x/d.wasm", "modules/m.wasm", "pipeline.yaml"}},
	} {
		out := filepath.Join(t.TempDir(), "f.zip")
		if err := run(out, filepath.Join(dir, "bootstrap"), filepath.Join(dir, "pipeline.yaml"), tc.cache); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.OpenReader(out)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		zr.Close()
		slices.Sort(names)
		if !slices.Equal(names, tc.want) {
			t.Errorf("-cache %q: %v, want %v", tc.cache, names, tc.want)
		}
	}
}
