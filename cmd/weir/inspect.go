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
		Long: `Inspect compiles a module and instantiates it once (running _initialize,
not its transform) to print its sha256 digest, size, weir ABI version,
entry points (fast path, plain batch, record mode), views, imports and
exports. A module that compiles but cannot be linked or initialized is
still described, followed by the error (exit status 2).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			wasm, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			info, ierr := host.Inspect(cmd.Context(), wasm)
			if info == nil {
				return fmt.Errorf("inspect %s: %w", name, ierr)
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(toJSONInfo(name, info, ierr)); err != nil {
					return err
				}
			} else {
				printInfo(g, name, info)
			}
			if ierr != nil {
				return fmt.Errorf("inspect %s: %w", name, ierr)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// jsonInfo is the --json document: host.ModuleInfo with stable
// snake_case keys.
type jsonInfo struct {
	Module     string         `json:"module"`
	Size       int            `json:"size"`
	Digest     string         `json:"digest"`
	ABIVersion int            `json:"abi_version"`
	FastPath   bool           `json:"fast_path"`
	PlainBatch bool           `json:"plain_batch"`
	Reactor    bool           `json:"reactor"`
	Entry      string         `json:"entry"`
	Manifest   *host.Manifest `json:"manifest"`
	Imports    []jsonImport   `json:"imports"`
	Exports    []jsonExport   `json:"exports"`
	// Error is why the module could not be instantiated (linked or
	// initialized); empty when it could.
	Error string `json:"error,omitempty"`
}

type jsonImport struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Type   string `json:"type"`
}

type jsonExport struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func toJSONInfo(name string, info *host.ModuleInfo, err error) *jsonInfo {
	j := &jsonInfo{
		Module:     name,
		Size:       info.Size,
		Digest:     "sha256:" + info.Digest,
		ABIVersion: info.ABIVersion,
		FastPath:   info.FastPath,
		PlainBatch: info.PlainBatch,
		Reactor:    info.Reactor,
		Entry:      info.Entry,
		Manifest:   info.Manifest,
		Imports:    []jsonImport{},
		Exports:    []jsonExport{},
	}
	for _, im := range info.Imports {
		j.Imports = append(j.Imports, jsonImport{Module: im.Module, Name: im.Name, Type: im.Type})
	}
	for _, ex := range info.Exports {
		j.Exports = append(j.Exports, jsonExport{Name: ex.Name, Type: ex.Type})
	}
	if err != nil {
		j.Error = err.Error()
	}
	return j
}

// yesNo renders b, with why after "yes".
func yesNo(b bool, why string) string {
	if !b {
		return "no"
	}
	if why == "" {
		return "yes"
	}
	return "yes (" + why + ")"
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
	fmt.Fprintf(w, "fast path:    %s\n", yesNo(info.FastPath, ""))
	fmt.Fprintf(w, "plain batch:  %s\n", yesNo(info.PlainBatch, "weir_batch, runs on any Extism host"))
	fmt.Fprintf(w, "reactor:      %s\n", yesNo(info.Reactor, "_initialize runs once per instance"))
	entry := info.Entry
	if entry == "" {
		entry = "none (no weir_transform, weir_batch or transform export)"
	}
	fmt.Fprintf(w, "entry (auto): %s\n", entry)
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
