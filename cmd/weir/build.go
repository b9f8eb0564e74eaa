package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// sdkFile is the file "weir new" writes in a project with the weir
// checkout it builds against (read by "weir build" for Rust and C).
const sdkFile = ".weir-sdk"

func newBuildCmd(g *globals) *cobra.Command {
	var sdk string
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build a module project (Go, Rust, C, AssemblyScript) into NAME.wasm",
		Long: `Build builds the module project in DIR (default: the current folder) with
its language's toolchain and the flags weir modules need, into DIR/NAME.wasm.
The language comes from the folder: go.mod (Go), package.json or a .ts file
(AssemblyScript), a .rs file (Rust), a .c file (C).

  Go              GOOS=wasip1 GOARCH=wasm go build -mod=mod -buildmode=c-shared -trimpath
  AssemblyScript  node_modules/.bin/asc NAME.ts --runtime stub -O3 --use abort=NAME/myAbort
  Rust            Debian's /usr/bin/rustc, wasm32-unknown-unknown, bulk memory, the SDK as an rlib
  C               clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory with sdk/c/weir.c

When a toolchain is missing, build says which and the command that
installs it. Rust and C projects build against the weir checkout named by
--sdk, $WEIR_SDK, the project's .weir-sdk file (written by "weir new"), or
the checkout around the folder or the weir binary.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			out, err := buildProject(cmd.Context(), g, dir, sdk)
			if err != nil {
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return fmt.Errorf("build: %w", err)
			}
			fmt.Fprintf(g.stdout, "weir: built %s (%d bytes)\n", out, fi.Size())
			return nil
		},
	}
	cmd.Flags().StringVar(&sdk, "sdk", "", "the weir checkout to build against (Rust, C)")
	return cmd
}

// missingTool is a toolchain that is not installed, with its install
// command.
type missingTool struct {
	what, install string
}

func (m *missingTool) Error() string {
	return fmt.Sprintf("build: %s is not installed; install it with:\n  %s", m.what, m.install)
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

// buildProject builds the project in dir and returns the .wasm path.
func buildProject(ctx context.Context, g *globals, dir, sdk string) (string, error) {
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
		return buildGo(ctx, g, abs)
	case "assemblyscript":
		return buildAS(ctx, g, abs)
	}
	if sdk == "" && os.Getenv("WEIR_SDK") == "" {
		if b, err := os.ReadFile(filepath.Join(abs, sdkFile)); err == nil {
			sdk = strings.TrimSpace(string(b))
		}
	}
	root, err := findSDK(sdk)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	if lang == "rust" {
		return buildRust(ctx, g, abs, root)
	}
	return buildC(ctx, g, abs, root)
}

// runTool runs a build command in dir, its output going to stderr.
func runTool(ctx context.Context, g *globals, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = g.stderr
	cmd.Stderr = g.stderr
	fmt.Fprintf(g.stderr, "weir: %s%s %s\n", strings.Join(append(env, ""), " "), name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build: %s: %w", filepath.Base(name), err)
	}
	return nil
}

func buildGo(ctx context.Context, g *globals, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", &missingTool{"the Go toolchain (go, 1.24 or later for wasip1 exports)", "apt-get install golang-go   (or a newer Go from https://go.dev/dl)"}
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
	err = runTool(ctx, g, dir, []string{"GOOS=wasip1", "GOARCH=wasm"}, goBin, "build", "-mod=mod", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	return out, err
}

func buildAS(ctx context.Context, g *globals, dir string) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", &missingTool{"Node.js (node, npm)", "apt-get install nodejs npm"}
	}
	asc := filepath.Join(dir, "node_modules", ".bin", "asc")
	if _, err := os.Stat(asc); err != nil {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			return "", &missingTool{"the AssemblyScript compiler (asc) in " + dir, "cd " + dir + " && npm install"}
		}
		return "", &missingTool{"the AssemblyScript compiler (asc) in " + dir, "cd " + dir + " && npm install assemblyscript@0.28.20"}
	}
	src, err := mainSource(dir, ".ts")
	if err != nil {
		return "", err
	}
	stem := strings.TrimSuffix(src, ".ts")
	out := filepath.Join(dir, stem+".wasm")
	err = runTool(ctx, g, dir, nil, asc, src, "--outFile", out, "--runtime", "stub", "-O3", "--use", "abort="+stem+"/myAbort")
	return out, err
}

// rustc is Debian's rustc, whose wasm32 standard library apt installs
// (a rustup rustc on PATH usually lacks it).
const rustc = "/usr/bin/rustc"

func buildRust(ctx context.Context, g *globals, dir, root string) (string, error) {
	install := "apt-get install rustc libstd-rust-dev-wasm32"
	if _, err := os.Stat(rustc); err != nil {
		return "", &missingTool{"Debian's rustc (" + rustc + ")", install}
	}
	if _, err := os.Stat("/usr/lib/rustlib/wasm32-unknown-unknown/lib"); err != nil {
		return "", &missingTool{"the Rust standard library for wasm32 (libstd-rust-dev-wasm32)", install}
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
	if err := runTool(ctx, g, dir, nil, rustc, append(flags, "--crate-type", "rlib", "--crate-name", "weir", "-o", rlib, lib)...); err != nil {
		return "", err
	}
	out := filepath.Join(dir, strings.TrimSuffix(src, ".rs")+".wasm")
	err = runTool(ctx, g, dir, nil, rustc, append(flags, "--crate-type", "cdylib", "-C", "lto=yes", "-C", "strip=symbols", "--extern", "weir="+rlib, "-o", out, src)...)
	return out, err
}

func buildC(ctx context.Context, g *globals, dir, root string) (string, error) {
	install := "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"
	clang, err := exec.LookPath("clang")
	if err != nil {
		return "", &missingTool{"clang", install}
	}
	if _, err := exec.LookPath("wasm-ld"); err != nil {
		return "", &missingTool{"the WebAssembly linker (wasm-ld, package lld)", install}
	}
	if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
		return "", &missingTool{"wasi-libc", install}
	}
	if m, _ := filepath.Glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(m) == 0 {
		return "", &missingTool{"the wasm32 compiler runtime (libclang-rt-dev-wasm32)", install}
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
	err = runTool(ctx, g, dir, nil, clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-mbulk-memory", "-Wall", "-Werror", "-Wl,--strip-all",
		"-I", sdkc, "-o", out, src, filepath.Join(sdkc, "weir.c"))
	return out, err
}
