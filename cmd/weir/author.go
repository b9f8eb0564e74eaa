package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/sdk/abicheck"
	"github.com/weirhq/weir/sdk/author"
)

// The module author's commands: new, build, test and abi-check. Their work
// is package sdk/author; here are their flags, help and exit statuses.

func newNewCmd(g *globals) *cobra.Command {
	var sdk, dir string
	cmd := &cobra.Command{
		Use:   "new go|rust|c|assemblyscript NAME",
		Short: "Write a module project that builds and passes its own test",
		Long: `New writes a module project for the language into the folder NAME (or
--dir): the module's source (a tag-and-drop transform: read-only events
dropped, the others tagged, edited in place), its build files, cases.yaml
(test cases for "weir test") and a README. Then:

  cd NAME && weir build && weir test NAME.wasm cases.yaml

The project builds against the weir SDK of a weir checkout, found with
--sdk, else $WEIR_SDK, else the checkout holding the current folder or the
weir binary. Go projects get a go.mod with a replace directive to it,
AssemblyScript projects a package.json that installs it by path (npm
install), Rust and C projects the SDK's path in their build.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return author.New(g.stdout, args[0], args[1], author.NewOptions{Dir: dir, SDK: sdk})
		},
	}
	cmd.Flags().StringVar(&sdk, "sdk", "", "the weir checkout to build against (default: $WEIR_SDK, or the checkout around the current folder or the weir binary)")
	cmd.Flags().StringVar(&dir, "dir", "", "the folder to write (default: NAME); must not exist or be empty")
	return cmd
}

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
			out, err := author.Build(cmd.Context(), dir, author.BuildOptions{SDK: sdk, Log: g.stderr})
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

func newTestCmd(g *globals) *cobra.Command {
	var entry string
	var config []string
	cmd := &cobra.Command{
		Use:   "test module.wasm cases.yaml",
		Short: "Run test cases (record in, outputs / dropped / failed out) against a module",
		Long: `Test runs every case of cases.yaml through the module, as one batch, and
prints "N passed, M failed" with a diff for each failure. The exit status is
0 when every case passed, 1 when one failed, 2 for usage errors.

cases.yaml is a list; each case is a stage's smoke test (input, expect; see
"smoke:" in the pipeline reference) with a name and more outcomes:

  - name: a write event is tagged
    input: '{"eventName":"PutObject","readOnly":false}'
    expect: ['{"eventName":"PutObject","readOnly":false,"weir_tag":"write"}']
  - name: a read-only event is dropped
    input: '{"readOnly":true}'
    dropped: true
  - name: not JSON
    input: 'nope'
    fails: true
    error: invalid JSON       # part of the failure message (optional)

expect lists the exact outputs in order ([] = none); route: R requires every
output to go to route R ("" = the default output). A case with none of
expect, dropped and fails passes when the record does not fail.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := map[string]string{}
			for _, kv := range config {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("test: --config %q: want key=value", kv)
				}
				cfg[k] = v
			}
			failed, err := author.Test(cmd.Context(), g.stdout, args[0], args[1], author.TestOptions{
				Stage:    engine.StageConfig{Entry: entry, Config: cfg, Instances: 1},
				CacheDir: g.cacheDir,
				Logger:   g.logger(),
			})
			if err != nil {
				return err
			}
			if failed > 0 {
				return exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&entry, "entry", "", "how to call the module: auto (default), fast, batch, record")
	cmd.Flags().StringArrayVar(&config, "config", nil, "a module config value key=value (repeatable)")
	return cmd
}

func newABICheckCmd(g *globals) *cobra.Command {
	var o abicheck.Options
	var sdk string
	cmd := &cobra.Command{
		Use:   "abi-check module.wasm",
		Short: "Run the ABI's golden frames against a module and report every violation",
		Long: `abi-check runs the golden vectors of the module ABI (sdk/testdata/frames,
sdk/ABI.md "Golden vectors") through a module's fast path, frame by frame:

  - the exports (weir_abi_version = 1, weir_alloc, weir_transform,
    weir_manifest) and a JSON manifest with abi 1;
  - every input frame must be answered with a well-formed output frame with
    one outcome per record; op lists (ops, edit outputs) only where the
    frame has FlagHostOps, and op lists that decode;
  - every corrupt input frame must be answered with an error frame (not a
    trap, not an output frame), and the module must work afterwards.

With --expect DIR the output frames must also equal DIR/<vector>.out.bin
byte for byte (sdk/testdata/frames/expected/passthrough holds them for
modules/passthrough, the reference module); --update writes them.

It prints one line per check and "N checks, M violations"; the exit status
is 1 when there is a violation. Imports other than WASI are stubbed
(returning zeros) and named. The SDKs' own conformance tests
(sdk/conformance) go further: they drive a conformance module to write
every output vector byte for byte.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			violations, err := author.ABICheck(cmd.Context(), g.stdout, args[0], o, sdk)
			if err != nil {
				return err
			}
			if violations > 0 {
				return exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Dir, "frames", "", "the golden frames folder (default: sdk/testdata/frames of the weir checkout)")
	cmd.Flags().StringVar(&o.Expect, "expect", "", "a folder of expected output frames (<vector>.out.bin) to compare byte for byte")
	cmd.Flags().BoolVar(&o.Update, "update", false, "write the module's output frames into --expect instead of comparing")
	cmd.Flags().StringVar(&sdk, "sdk", "", "the weir checkout whose golden frames to use")
	return cmd
}
