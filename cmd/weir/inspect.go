package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/host"
)

func newInspectCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect module.wasm",
		Short: "Print a module's digest, imports, exports, ABI version and call path",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			info, err := host.Inspect(cmd.Context(), wasm)
			if err != nil {
				return fmt.Errorf("inspect %s: %w", args[0], err)
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			printInfo(g, args[0], info)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printInfo(g *globals, name string, info *host.ModuleInfo) {
	w := g.stdout
	fmt.Fprintf(w, "module:       %s\n", name)
	fmt.Fprintf(w, "size:         %d bytes\n", info.Size)
	fmt.Fprintf(w, "digest:       sha256:%s\n", info.Digest)
	abi := "none (not a weir module)"
	if info.ABIVersion > 0 {
		abi = fmt.Sprintf("weir frame v%d", info.ABIVersion)
	}
	fmt.Fprintf(w, "abi:          %s\n", abi)
	fmt.Fprintf(w, "fast path:    %s\n", yesNo(info.FastPath))
	fmt.Fprintf(w, "plain batch:  %s (weir_batch, runs on any Extism host)\n", yesNo(info.PlainBatch))
	fmt.Fprintf(w, "reactor:      %s (_initialize runs once per instance)\n", yesNo(info.Reactor))
	fmt.Fprintf(w, "entry (auto): %s\n", info.Entry)
	if info.Manifest != nil && len(info.Manifest.Paths) > 0 {
		fmt.Fprintf(w, "views:        %s\n", strings.Join(info.Manifest.Paths, ", "))
	}
	fmt.Fprintf(w, "imports (%d):\n", len(info.Imports))
	for _, im := range info.Imports {
		fmt.Fprintf(w, "  %s.%s  %s\n", im.Module, im.Name, im.Type)
	}
	fmt.Fprintf(w, "exports (%d):\n", len(info.Exports))
	for _, ex := range info.Exports {
		fmt.Fprintf(w, "  %s  %s\n", ex.Name, ex.Type)
	}
}
