package hosttest

import (
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

// WeirBinary builds the weir CLI (./cmd/weir) once per test process and
// returns its path, for tests and benchmarks that run it as a user does:
// a real process, its startup, peak RSS or a pipe on its stdin.
func WeirBinary(tb testing.TB) string {
	tb.Helper()
	root := RepoRoot(tb)
	weirOnce.Do(func() {
		dir, err := os.MkdirTemp("", "weir-test-bin-")
		if err != nil {
			weirErr = err
			return
		}
		weirBin = filepath.Join(dir, "weir")
		cmd := exec.Command("go", "build", "-o", weirBin, "./cmd/weir")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			weirErr = fmt.Errorf("go build ./cmd/weir: %v\n%s", err, out)
		}
	})
	if weirErr != nil {
		tb.Fatal(weirErr)
	}
	return weirBin
}
