// Package hosttest builds real guest modules for weir's tests: Go modules
// with the wasip1 toolchain, WAT with wat2wasm, AssemblyScript with asc.
// Builds happen once per test process and land in a temporary folder. The
// weir CLI (WeirBinary) is built into a folder every test process of the
// checkout shares, relinked only when its sources changed.
//
// A test that needs a tool calls RequireTool: when the tool is missing the
// test fails in CI (CI=true) and is skipped elsewhere with the install
// command, so a skipped test is never counted as passing in CI.
package hosttest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// RepoRoot returns the folder holding weir's go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("hosttest: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/weirhq/weir\n") {
			return d
		}
		if filepath.Dir(d) == d {
			tb.Fatalf("hosttest: no weir go.mod above %s", wd)
		}
	}
}

// SharedDir returns the shared test data folder, failing in CI and
// skipping elsewhere when it is missing (see Missing). It is the folder
// the environment variable WEIR_SHARED names, else the nearest "shared"
// folder next to the repository or next to one of its parents (so that a
// git worktree under wt/ finds it too).
func SharedDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("WEIR_SHARED"); d != "" {
		if _, err := os.Stat(d); err != nil {
			Missing(tb, "the shared test data folder "+d+" (WEIR_SHARED)", "set WEIR_SHARED to weir's shared/ folder")
		}
		return d
	}
	root := RepoRoot(tb)
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "shared")); err == nil && st.IsDir() {
			return filepath.Join(d, "shared")
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	Missing(tb, "the shared test data folder "+filepath.Join(root, "..", "shared"), "check out weir next to its shared/ folder")
	return ""
}

// SharedFile returns the path of a file or folder of the shared test data
// (rel is slash-separated, e.g. "reference/consolelogin.input.json"),
// failing in CI and skipping elsewhere when it is missing. It is the one
// way tests find shared data: CI is any non-empty value of CI.
func SharedFile(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(SharedDir(tb), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		Missing(tb, "the shared test data "+p, "check out weir next to its shared/ folder, or set WEIR_SHARED")
	}
	return p
}

// Missing fails the test in CI and skips it elsewhere, naming what is
// missing and how to install it.
func Missing(tb testing.TB, what, install string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is missing (CI=%s); install: %s", what, os.Getenv("CI"), install)
	}
	tb.Skipf("%s is missing; install: %s (in CI this test fails)", what, install)
}

// RequireTool returns the path of a command, or fails/skips (see Missing).
func RequireTool(tb testing.TB, name, install string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, "the command "+name, install)
	}
	return p
}

func outDir(tb testing.TB) string {
	if dir == "" {
		d, err := os.MkdirTemp("", "weir-hosttest-")
		if err != nil {
			tb.Fatalf("hosttest: %v", err)
		}
		dir = d
	}
	return dir
}

func once(tb testing.TB, key string, build func(out string)) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[key]; ok {
		return p
	}
	sum := sha256.Sum256([]byte(key))
	out := filepath.Join(outDir(tb), hex.EncodeToString(sum[:8])+".wasm")
	build(out)
	built[key] = out
	return out
}

func runBuild(tb testing.TB, cwd string, env []string, name string, args ...string) {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("hosttest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// GoModule builds the Go package at pkg (relative to the repository root,
// e.g. "modules/passthrough") as a wasip1 reactor and returns the .wasm
// path.
func GoModule(tb testing.TB, pkg string) string {
	tb.Helper()
	root := RepoRoot(tb)
	return once(tb, "go:"+pkg, func(out string) {
		runBuild(tb, root, []string{"GOOS=wasip1", "GOARCH=wasm"}, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./"+pkg)
	})
}

// WAT assembles a .wat file (path relative to the test's folder or
// absolute) with wat2wasm.
func WAT(tb testing.TB, path string) string {
	tb.Helper()
	bin := RequireTool(tb, "wat2wasm", "apt-get install wabt (or scripts/ensure-tools.sh apt)")
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	return once(tb, "wat:"+abs, func(out string) {
		runBuild(tb, filepath.Dir(abs), nil, bin, abs, "-o", out)
	})
}

// AssemblyScript compiles a .ts file with asc and the Extism AS PDK from
// tools/node (scripts/ensure-tools.sh node installs them). The file must
// define myAbort, used as the abort handler. extra flags (such as
// "--runtime", "stub") are passed to asc.
func AssemblyScript(tb testing.TB, path string, extra ...string) string {
	tb.Helper()
	root := RepoRoot(tb)
	asc := filepath.Join(root, "tools", "node", "node_modules", ".bin", "asc")
	if _, err := os.Stat(asc); err != nil {
		Missing(tb, "AssemblyScript (tools/node)", "scripts/ensure-tools.sh node")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Join(root, "tools", "node"), abs)
	if err != nil {
		tb.Fatal(err)
	}
	abort := strings.TrimSuffix(rel, ".ts") + "/myAbort"
	return once(tb, "as:"+abs+strings.Join(extra, " "), func(out string) {
		args := append([]string{rel, "--outFile", out, "--use", "abort=" + abort, "-O3"}, extra...)
		runBuild(tb, filepath.Join(root, "tools", "node"), nil, asc, args...)
	})
}

// RustToolchain returns Debian's rustc (/usr/bin/rustc, not a rustup
// toolchain on PATH) after checking it has the wasm32-unknown-unknown
// standard library, or fails/skips (see Missing).
func RustToolchain(tb testing.TB) string {
	tb.Helper()
	const rustc = "/usr/bin/rustc"
	if _, err := os.Stat(rustc); err != nil {
		Missing(tb, "Debian's rustc ("+rustc+")", "scripts/ensure-tools.sh rust")
	}
	if _, err := os.Stat("/usr/lib/rustlib/wasm32-unknown-unknown/lib"); err != nil {
		Missing(tb, "the Rust standard library for wasm32 (libstd-rust-dev-wasm32)", "scripts/ensure-tools.sh rust")
	}
	return rustc
}

// RustFlags are the flags weir builds Rust modules with (the target is
// added: wasm32-unknown-unknown, or wasm32-wasi). Bulk memory turns
// copies into memory.copy instead of byte loops: 15x less guest time per
// record for a passthrough.
var RustFlags = []string{"--edition", "2021", "-C", "opt-level=3", "-C", "panic=abort", "-C", "target-feature=+bulk-memory"}

// Rust builds a Rust module (a single .rs file, path relative to the
// test's folder or absolute) against weir's Rust SDK (sdk/rust) with
// Debian's rustc for wasm32-unknown-unknown, as `make modules-rust` does,
// and returns the .wasm path.
func Rust(tb testing.TB, path string) string {
	tb.Helper()
	return rustBuild(tb, path, "wasm32-unknown-unknown")
}

// RustWASI is Rust for the wasm32-wasi target.
func RustWASI(tb testing.TB, path string) string {
	tb.Helper()
	if _, err := os.Stat("/usr/lib/rustlib/wasm32-wasi/lib"); err != nil {
		Missing(tb, "the Rust standard library for wasm32-wasi (libstd-rust-dev-wasm32)", "scripts/ensure-tools.sh rust")
	}
	return rustBuild(tb, path, "wasm32-wasi")
}

func rustBuild(tb testing.TB, path, target string) string {
	tb.Helper()
	rustc := RustToolchain(tb)
	root := RepoRoot(tb)
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	flags := append(append([]string{}, RustFlags...), "--target", target)
	// rustc wants the SDK's rlib named lib<crate>.rlib.
	lib := filepath.Join(strings.TrimSuffix(once(tb, "rust-sdk:"+target, func(out string) {
		dir := strings.TrimSuffix(out, ".wasm")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		runBuild(tb, root, nil, rustc, append(flags, "--crate-type", "rlib", "--crate-name", "weir", "-o", filepath.Join(dir, "libweir.rlib"), "sdk/rust/src/lib.rs")...)
	}), ".wasm"), "libweir.rlib")
	return once(tb, "rust:"+target+":"+abs, func(out string) {
		runBuild(tb, filepath.Dir(abs), nil, rustc, append(flags, "--crate-type", "cdylib", "-C", "lto=yes", "-C", "strip=symbols", "--extern", "weir="+lib, "-o", out, abs)...)
	})
}

// CToolchain returns clang after checking wasm-ld, wasi-libc and the
// wasm32 compiler runtime are installed, or fails/skips (see Missing).
func CToolchain(tb testing.TB) string {
	tb.Helper()
	clang := RequireTool(tb, "clang", "scripts/ensure-tools.sh c")
	RequireTool(tb, "wasm-ld", "scripts/ensure-tools.sh c")
	if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
		Missing(tb, "wasi-libc", "scripts/ensure-tools.sh c")
	}
	if m, _ := filepath.Glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(m) == 0 {
		Missing(tb, "the wasm32 compiler runtime (libclang-rt-dev-wasm32)", "scripts/ensure-tools.sh c")
	}
	return clang
}

// CFlags are the flags weir builds C modules with (a WASI reactor; bulk
// memory as for Rust).
var CFlags = []string{"--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-mbulk-memory", "-Wall", "-Werror", "-Wl,--strip-all"}

// C builds a C module (one .c file, path relative to the test's folder or
// absolute) with weir's C SDK (sdk/c/weir.c) as `make modules-c` does,
// and returns the .wasm path.
func C(tb testing.TB, path string) string {
	tb.Helper()
	clang := CToolchain(tb)
	root := RepoRoot(tb)
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	return once(tb, "c:"+abs, func(out string) {
		args := append(append([]string{}, CFlags...), "-I", filepath.Join(root, "sdk", "c"), "-o", out, abs, filepath.Join(root, "sdk", "c", "weir.c"))
		runBuild(tb, filepath.Dir(abs), nil, clang, args...)
	})
}
