package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// TestReadOnlyCacheDir: a shipped cache in a read-only folder is mirrored
// to the temporary folder, and modules load from it without compiling
// into the read-only folder.
func TestReadOnlyCacheDir(t *testing.T) {
	ctx := context.Background()
	wasm, err := os.ReadFile(hosttest.WAT(t, "testdata/record.wat"))
	if err != nil {
		t.Fatal(err)
	}
	shipped := t.TempDir()
	h, err := New(ctx, Options{CacheDir: shipped})
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.LoadModule(ctx, "rec", wasm, engine.StageConfig{Entry: engine.EntryRecord, Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close(ctx)
	_ = h.Close(ctx)

	// Root ignores permissions: make the folder read-only in both ways.
	if err := os.Chmod(shipped, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(shipped, 0o755) })
	orig := writableDir
	writableDir = func(dir string) bool { return dir != shipped && orig(dir) }
	t.Cleanup(func() { writableDir = orig })

	dir, err := usableCacheDir(shipped)
	if err != nil {
		t.Fatal(err)
	}
	if dir == shipped || !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("cache dir %s, want a mirror under %s", dir, os.TempDir())
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var files int
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatal("the mirror is empty")
	}
	h, err = New(ctx, Options{CacheDir: shipped})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	st, err = h.LoadModule(ctx, "rec", wasm, engine.StageConfig{Entry: engine.EntryRecord, Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close(ctx)
}
