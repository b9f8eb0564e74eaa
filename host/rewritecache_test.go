package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestRewriteCache: with a cache folder, the first load keeps the
// rewritten module there and later loads (new processes: new Hosts) take
// it from there instead of rewriting. Proved by planting another module's
// rewrite under the digest: the next load runs the planted module. A
// cached rewrite that does not compile is dropped and redone.
func TestRewriteCache(t *testing.T) {
	ctx := context.Background()
	rec, pass := wat(t, "record"), wat(t, "passthrough")
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	loadInfo := func(t *testing.T) *ModuleInfo {
		t.Helper()
		h, err := New(ctx, Options{CacheDir: dir, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		st := load(t, h, "m", rec, engine.StageConfig{Instances: 1})
		defer st.Close(ctx)
		if st.cm.preempt != preemptFlag {
			t.Fatalf("preempt %s, want the fuel rewrite", st.cm.preempt)
		}
		return st.cm.info
	}
	digest := digestOf(rec)
	path := newRewriteCache(dir).path(digest)

	if got := loadInfo(t).Entry; got != engine.EntryRecord {
		t.Fatalf("record.wat: entry %q, want record", got)
	}
	want, err := instrument(ctx, rec, digest, logger)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("the cache folder's rewrite of record.wat (%v) is not the rewriter's output", err)
	}

	planted, err := instrument(ctx, pass, digestOf(pass), logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, planted, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loadInfo(t).Entry; got != engine.EntryFast {
		t.Fatalf("with passthrough's rewrite planted: entry %q, want fast (the cache was not read)", got)
	}

	damaged := append([]byte("\x00asm\x01\x00\x00\x00"), "not a module"...)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loadInfo(t).Entry; got != engine.EntryRecord {
		t.Fatalf("with a damaged rewrite: entry %q, want record", got)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, want) {
		t.Fatal("the damaged rewrite was not replaced")
	}
}

// TestWazeroCacheName: wazeroCacheName names the file wazero's
// compilation cache writes, for both deadline mechanisms (the rewritten
// module; the original under wazero's own check). The shared cache
// depends on it.
func TestWazeroCacheName(t *testing.T) {
	ctx := context.Background()
	rec := wat(t, "record")
	for _, wazeroPreempt := range []bool{false, true} {
		dir := t.TempDir()
		h, err := New(ctx, Options{CacheDir: dir, WazeroPreempt: wazeroPreempt, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		st := load(t, h, "m", rec, engine.StageConfig{Instances: 1})
		code := rec
		if !wazeroPreempt {
			if code, err = os.ReadFile(newRewriteCache(dir).path(digestOf(rec))); err != nil {
				t.Fatal(err)
			}
		}
		name := wazeroCacheName(code, wazeroPreempt)
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			files, _ := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
			t.Errorf("wazero preempt %v: %s not in the cache folder (%v); wazero wrote %v", wazeroPreempt, name, err, files)
		}
		_ = st.Close(ctx)
		_ = h.Close(ctx)
	}
}

// digestOf is a module's sha256 in hex, as Host.load computes it.
func digestOf(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return hex.EncodeToString(sum[:])
}
