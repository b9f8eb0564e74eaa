package hosttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoBuildFresh: what WeirBinary relies on. goBuild into the same path
// relinks when a source changes (the new binary runs the new code) and
// leaves an up-to-date binary alone (the same file).
func TestGoBuildFresh(t *testing.T) {
	RequireTool(t, "go", "https://go.dev/dl")
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/fresh\n\ngo 1.24\n")
	write("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(msg) }\n")
	out := filepath.Join(t.TempDir(), "bin", "fresh")
	runs := func() string {
		t.Helper()
		b, err := exec.Command(out).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	inode := func() os.FileInfo {
		t.Helper()
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	var first os.FileInfo
	for i, msg := range []string{"one", "two"} {
		write("msg.go", "package main\n\nconst msg = \""+msg+"\"\n")
		if err := goBuild(dir, ".", out); err != nil {
			t.Fatal(err)
		}
		if got := runs(); got != msg {
			t.Fatalf("build %d runs %q, want %q: a stale binary", i, got, msg)
		}
		if i == 0 {
			first = inode()
		} else if os.SameFile(first, inode()) {
			t.Fatal("a relinked binary is the same file: the check below would prove nothing")
		}
	}
	before := inode()
	if err := goBuild(dir, ".", out); err != nil {
		t.Fatal(err)
	}
	// go build touches an up-to-date target (its mtime) but does not
	// replace it: a relink writes a new file (renamed or copied in).
	if after := inode(); !os.SameFile(before, after) {
		t.Errorf("an up-to-date binary was relinked (a new file)")
	}
	if got := runs(); got != "two" {
		t.Errorf("runs %q, want two", got)
	}
}
