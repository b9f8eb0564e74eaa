package author

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// SDKFile is the file New writes in a project with the path of the weir
// checkout it builds against (read by Build for Rust and C, and by
// FindSDK in the project's folder).
const SDKFile = ".weir-sdk"

// MissingToolError is Build's error when a toolchain is not installed.
type MissingToolError struct {
	// What names the tool ("clang", "Node.js (node, npm)").
	What string
	// Install is the command that installs it.
	Install string
}

// Error says what is missing and how to install it.
func (m *MissingToolError) Error() string {
	return fmt.Sprintf("build: %s is not installed; install it with:\n  %s", m.What, m.Install)
}

// detectLanguage names the language of the project in dir.
func detectLanguage(dir string) (string, error) {
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case has("go.mod"):
		return "go", nil
	case has("package.json") || len(sources(dir, ".ts")) > 0:
		return "assemblyscript", nil
	case len(sources(dir, ".rs")) > 0:
		return "rust", nil
	case len(sources(dir, ".c")) > 0:
		return "c", nil
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return "", fmt.Errorf("build: %s holds no module project (go.mod, package.json, *.ts, *.rs or *.c); start one with: weir new go|rust|c|assemblyscript NAME", dir)
}

// sources lists the files of dir with the extension, sorted.
func sources(dir, ext string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	var out []string
	for _, f := range m {
		if !strings.HasSuffix(f, ".d.ts") {
			out = append(out, filepath.Base(f))
		}
	}
	sort.Strings(out)
	return out
}

// mainSource picks the module's source file: NAME+ext for the folder's
// name, else the only file with the extension.
func mainSource(dir, ext string) (string, error) {
	srcs := sources(dir, ext)
	abs, _ := filepath.Abs(dir)
	if contains(srcs, filepath.Base(abs)+ext) {
		return filepath.Base(abs) + ext, nil
	}
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	return "", fmt.Errorf("build: %s has %d %s files (%s): name the module's file after the folder (%s%s)", dir, len(srcs), ext, strings.Join(srcs, ", "), filepath.Base(abs), ext)
}

// BuildOptions are the choices of Build beyond the folder.
type BuildOptions struct {
	// SDK is the weir checkout Rust and C projects build against
	// (default: $WEIR_SDK, the project's SDKFile, or FindSDK's search).
	SDK string
	// Log receives each toolchain command ("weir: " and the command line)
	// and the toolchain's output; nil discards them.
	Log io.Writer
}

// Build builds the module project in dir with its language's toolchain
// and the flags weir modules need, and returns the path of the .wasm it
// wrote (dir/NAME.wasm). The language comes from the folder: go.mod (Go),
// package.json or a .ts file (AssemblyScript), a .rs file (Rust), a .c
// file (C). A missing toolchain is a *MissingToolError.
//
//	Go              GOOS=wasip1 GOARCH=wasm go build -mod=mod -buildmode=c-shared -trimpath
//	AssemblyScript  node_modules/.bin/asc NAME.ts --runtime stub -O3 --use abort=NAME/myAbort
//	Rust            Debian's /usr/bin/rustc, wasm32-unknown-unknown, bulk memory, the SDK as an rlib
//	C               clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory with sdk/c/weir.c
func Build(ctx context.Context, dir string, o BuildOptions) (string, error) {
	sdk, log := o.SDK, o.Log
	if log == nil {
		log = io.Discard
	}
	lang, err := detectLanguage(dir)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	switch lang {
	case "go":
		return buildGo(ctx, log, abs)
	case "assemblyscript":
		return buildAS(ctx, log, abs)
	}
	if sdk == "" && os.Getenv("WEIR_SDK") == "" {
		if b, err := os.ReadFile(filepath.Join(abs, SDKFile)); err == nil {
			sdk = strings.TrimSpace(string(b))
		}
	}
	root, err := FindSDK(sdk)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	if lang == "rust" {
		return buildRust(ctx, log, abs, root)
	}
	return buildC(ctx, log, abs, root)
}

// runTool runs a build command in dir, its output going to stderr.
func runTool(ctx context.Context, log io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = log
	cmd.Stderr = log
	fmt.Fprintf(log, "weir: %s%s %s\n", strings.Join(append(env, ""), " "), name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build: %s: %w", filepath.Base(name), err)
	}
	return nil
}

func buildGo(ctx context.Context, log io.Writer, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", &MissingToolError{"the Go toolchain (go, 1.24 or later for wasip1 exports)", "apt-get install golang-go   (or a newer Go from https://go.dev/dl)"}
	}
	name := filepath.Base(dir)
	if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if m, ok := strings.CutPrefix(l, "module "); ok {
				name = filepath.Base(strings.TrimSpace(m))
				break
			}
		}
	}
	out := filepath.Join(dir, name+".wasm")
	err = runTool(ctx, log, dir, []string{"GOOS=wasip1", "GOARCH=wasm"}, goBin, "build", "-mod=mod", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	return out, err
}

func buildAS(ctx context.Context, log io.Writer, dir string) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", &MissingToolError{"Node.js (node, npm)", "apt-get install nodejs npm"}
	}
	asc := filepath.Join(dir, "node_modules", ".bin", "asc")
	if _, err := os.Stat(asc); err != nil {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			return "", &MissingToolError{"the AssemblyScript compiler (asc) in " + dir, "cd " + dir + " && npm install"}
		}
		return "", &MissingToolError{"the AssemblyScript compiler (asc) in " + dir, "cd " + dir + " && npm install assemblyscript@0.28.20"}
	}
	src, err := mainSource(dir, ".ts")
	if err != nil {
		return "", err
	}
	stem := strings.TrimSuffix(src, ".ts")
	out := filepath.Join(dir, stem+".wasm")
	err = runTool(ctx, log, dir, nil, asc, src, "--outFile", out, "--runtime", "stub", "-O3", "--use", "abort="+stem+"/myAbort")
	return out, err
}

// rustc is Debian's rustc, whose wasm32 standard library apt installs
// (a rustup rustc on PATH usually lacks it).
const rustc = "/usr/bin/rustc"

func buildRust(ctx context.Context, log io.Writer, dir, root string) (string, error) {
	install := "apt-get install rustc libstd-rust-dev-wasm32"
	if _, err := os.Stat(rustc); err != nil {
		return "", &MissingToolError{"Debian's rustc (" + rustc + ")", install}
	}
	if _, err := os.Stat("/usr/lib/rustlib/wasm32-unknown-unknown/lib"); err != nil {
		return "", &MissingToolError{"the Rust standard library for wasm32 (libstd-rust-dev-wasm32)", install}
	}
	src, err := mainSource(dir, ".rs")
	if err != nil {
		return "", err
	}
	lib := filepath.Join(root, "sdk", "rust", "src", "lib.rs")
	if _, err := os.Stat(lib); err != nil {
		return "", fmt.Errorf("build: the weir checkout %s has no Rust SDK (sdk/rust/src/lib.rs)", root)
	}
	// The flags of make modules-rust (bulk memory: copies become
	// memory.copy instead of byte loops).
	flags := []string{"--edition", "2021", "-C", "opt-level=3", "-C", "panic=abort", "-C", "target-feature=+bulk-memory", "--target", "wasm32-unknown-unknown"}
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	rlib := filepath.Join(target, "libweir.rlib")
	if err := runTool(ctx, log, dir, nil, rustc, append(flags, "--crate-type", "rlib", "--crate-name", "weir", "-o", rlib, lib)...); err != nil {
		return "", err
	}
	out := filepath.Join(dir, strings.TrimSuffix(src, ".rs")+".wasm")
	err = runTool(ctx, log, dir, nil, rustc, append(flags, "--crate-type", "cdylib", "-C", "lto=yes", "-C", "strip=symbols", "--extern", "weir="+rlib, "-o", out, src)...)
	return out, err
}

func buildC(ctx context.Context, log io.Writer, dir, root string) (string, error) {
	install := "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"
	clang, err := exec.LookPath("clang")
	if err != nil {
		return "", &MissingToolError{"clang", install}
	}
	if _, err := exec.LookPath("wasm-ld"); err != nil {
		return "", &MissingToolError{"the WebAssembly linker (wasm-ld, package lld)", install}
	}
	if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
		return "", &MissingToolError{"wasi-libc", install}
	}
	if m, _ := filepath.Glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(m) == 0 {
		return "", &MissingToolError{"the wasm32 compiler runtime (libclang-rt-dev-wasm32)", install}
	}
	src, err := mainSource(dir, ".c")
	if err != nil {
		return "", err
	}
	sdkc := filepath.Join(root, "sdk", "c")
	if _, err := os.Stat(filepath.Join(sdkc, "weir.c")); err != nil {
		return "", fmt.Errorf("build: the weir checkout %s has no C SDK (sdk/c/weir.c)", root)
	}
	out := filepath.Join(dir, strings.TrimSuffix(src, ".c")+".wasm")
	// The flags of make modules-c.
	err = runTool(ctx, log, dir, nil, clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-mbulk-memory", "-Wall", "-Werror", "-Wl,--strip-all",
		"-I", sdkc, "-o", out, src, filepath.Join(sdkc, "weir.c"))
	return out, err
}
