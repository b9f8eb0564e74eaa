package hosttest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	weirOnce sync.Once
	weirBin  string
	weirErr  error
)

// WeirBinary returns the path of the weir CLI (./cmd/weir) built from this
// checkout, for tests and benchmarks that run it as a user does: a real
// process, its startup, peak RSS or a pipe on its stdin.
//
// It runs "go build -o" into a folder that every test process of the
// checkout shares (os.TempDir()/weir-test-bin-<digest of the checkout's
// path>). go build compares the binary there with
// what it would link now (the build ID covers every source and embedded
// file, the flags and the toolchain) and relinks only when something
// changed; a binary built from other sources is never used. So the
// packages of one "make test" and the runs after it share one link (8 s
// on a loaded 2-vCPU machine) and each pays only go's check (about 0.5
// s), where every test process used to link its own copy into a temporary
// folder it never removed (74 MB each). go build replaces the binary by
// renaming, so a process running the old one is not disturbed. The check
// runs once per test process.
func WeirBinary(tb testing.TB) string {
	tb.Helper()
	root := RepoRoot(tb)
	weirOnce.Do(func() {
		weirBin = filepath.Join(weirBinaryDir(root), "weir")
		weirErr = goBuild(root, "./cmd/weir", weirBin)
	})
	if weirErr != nil {
		tb.Fatal(weirErr)
	}
	return weirBin
}

// weirBinaryDir is the folder where WeirBinary builds the weir CLI of the
// checkout at root: os.TempDir()/weir-test-bin-<digest of root>, one per
// checkout (git worktrees do not overwrite each other's binary).
func weirBinaryDir(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(os.TempDir(), "weir-test-bin-"+hex.EncodeToString(sum[:6]))
}

// goBuild runs "go build -o out pkg" in dir, which relinks out only when
// it is not what the sources, flags and toolchain give now.
func goBuild(dir, pkg, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("hosttest: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}
