// Command weir runs, inspects and validates weir pipelines and modules from
// the command line.
//
//	weir run -p pipeline.yaml [file...]   transform records, NDJSON to stdout
//	weir inspect module.wasm              imports, exports, ABI, fast path
//	weir validate -p pipeline.yaml        check a config and its modules
//	weir new go|rust|c|assemblyscript NAME  a module project
//	weir build [DIR]                      build a module project
//	weir test module.wasm cases.yaml      run test cases against a module
//	weir abi-check module.wasm            the ABI's golden frames
//
// Run "weir help <command>" for the flags of each command. The exit status
// is 0 on success, 1 when records (or inputs) failed, 2 for usage and
// configuration errors, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
)

// exitError carries a process exit status out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// globals are the flags every command shares.
type globals struct {
	logLevel string
	cacheDir string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
}

// level parses --log-level.
func (g *globals) level() (slog.Level, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return 0, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", g.logLevel)
	}
	return lvl, nil
}

func (g *globals) logger() *slog.Logger {
	lvl, err := g.level()
	if err != nil {
		lvl = slog.LevelWarn // checked by the root command before any command runs
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl}))
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "weir",
		Short:         "weir runs sandboxed WebAssembly transforms over security event logs",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			_, err := g.level()
			return err
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", os.Getenv("WEIR_CACHE_DIR"), "wazero compilation cache folder (env WEIR_CACHE_DIR); empty: in memory")
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.AddCommand(newRunCmd(g), newConsumeCmd(g), newInspectCmd(g), newValidateCmd(g), newSignCmd(g), newVerifyCmd(g), newPrecompileCmd(g),
		newBenchCmd(g), newBenchChildCmd(g), newReleaseCmd(g), newImportCmd(g), newNewCmd(g), newBuildCmd(g), newTestCmd(g), newABICheckCmd(g))
	return root
}

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1   // some records (or inputs) failed
	exitUsage       = 2   // usage and configuration errors
	exitInterrupted = 130 // the context ended (Ctrl-C), as shells report SIGINT
)

// run executes weir with args and returns the process exit status: 0, 1
// when records failed, 2 for usage and configuration errors, 130 when ctx
// ended (interrupt). A nil stdin reads as empty.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	printError(g.stderr, err) // g.stderr redacts resolved secrets
	if ctx.Err() != nil {
		fmt.Fprintln(g.stderr, "weir: interrupted")
		return exitInterrupted
	}
	return exitUsage
}

// printError prints err on w as "weir: <err>"; each line of a multi-line
// error (several configuration problems joined) gets the prefix.
func printError(w io.Writer, err error) {
	for _, l := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(w, "weir: %s\n", l)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
