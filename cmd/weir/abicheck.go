package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/sdk/abicheck"
)

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
			if o.Dir == "" {
				root, err := findSDK(sdk)
				if err != nil {
					return fmt.Errorf("abi-check: the golden frames: %w (or pass --frames)", err)
				}
				o.Dir = filepath.Join(root, "sdk", "testdata", "frames")
			}
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("abi-check: %w", err)
			}
			if err := refusePipeline(args[0], wasm); err != nil {
				return fmt.Errorf("abi-check: %w", err)
			}
			rep, err := abicheck.Check(cmd.Context(), wasm, o)
			if err != nil {
				return err
			}
			w := g.stdout
			fmt.Fprintf(w, "weir: abi-check %s against the golden frames of %s\n", args[0], o.Dir)
			for _, r := range rep.Results {
				switch {
				case r.Violation != "":
					fmt.Fprintf(w, "FAIL  %s: %s\n", r.Name, r.Violation)
				case r.Note != "":
					fmt.Fprintf(w, "ok    %s: %s\n", r.Name, r.Note)
				default:
					fmt.Fprintf(w, "ok    %s\n", r.Name)
				}
			}
			for _, n := range rep.Notes {
				fmt.Fprintf(w, "note  %s\n", n)
			}
			fmt.Fprintf(w, "%d checks, %d violations\n", len(rep.Results), rep.Violations())
			if rep.Violations() > 0 {
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
