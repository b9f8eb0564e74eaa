// Command weir runs, inspects and validates weir pipelines and modules from
// the command line.
//
//	weir run -p pipeline.yaml [file...]   transform records, NDJSON to stdout
//	weir inspect module.wasm              imports, exports, ABI, fast path
//	weir validate -p pipeline.yaml        check a config and its modules
//
// Run "weir help <command>" for the flags of each command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

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

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl}))
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "weir",
		Short:         "weir runs sandboxed WebAssembly transforms over security event logs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", os.Getenv("WEIR_CACHE_DIR"), "wazero compilation cache folder (env WEIR_CACHE_DIR); empty: in memory")
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.AddCommand(newRunCmd(g), newInspectCmd(g), newValidateCmd(g))
	return root
}

// run executes weir with args and returns the process exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintf(stderr, "weir: %v\n", err)
		return 2
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
