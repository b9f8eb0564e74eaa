package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/weirhq/weir/engine"
)

// ModuleInfo describes a module: what it imports and exports, which weir
// entry points it has, and its manifest.
type ModuleInfo struct {
	// Digest is the module's sha256 in hex.
	Digest string
	// Size is the module's size in bytes.
	Size int
	// Imports are the module's imports, in module order.
	Imports []Import
	// Exports are the module's exported functions and memories, by name.
	Exports []Export
	// ABIVersion is what weir_abi_version returns; 0 when not exported.
	ABIVersion int
	// FastPath: the module exports weir_abi_version, weir_alloc and
	// weir_transform with the contract's signatures.
	FastPath bool
	// PlainBatch: the module exports weir_batch() -> i32.
	PlainBatch bool
	// Reactor: the module exports _initialize (Go reactors, WASI reactors).
	Reactor bool
	// Manifest is what weir_manifest returns; nil when not exported.
	Manifest *Manifest
	// Entry is the mode "auto" chooses: "fast", "batch", "record" (an
	// export named "transform"), or "" when none applies.
	Entry string
}

// Import is one import of a module.
type Import struct {
	// Module and Name identify the import, e.g. "extism:host/env" "alloc".
	Module, Name string
	// Type is "func(i64) -> i64", "func()", "memory(1)", "memory(1, 16)"...
	Type string
}

// Export is one export of a module.
type Export struct {
	// Name is the export name.
	Name string
	// Type is formatted like Import.Type.
	Type string
}

// Manifest is a module's weir_manifest.
type Manifest struct {
	// ABI is the weir ABI version the module was built for.
	ABI int `json:"abi"`
	// SDK names the SDK and its version, e.g. "go/0.1.0".
	SDK string `json:"sdk,omitempty"`
	// Paths are the JSON paths whose values the module wants as views.
	Paths []string `json:"paths"`
}

// Inspect describes a module without running its transform: it compiles
// it, and instantiates it once (with the host's imports, calling
// _initialize) to read weir_abi_version and weir_manifest. When the module
// compiles but cannot be instantiated, Inspect returns the static
// description and the error.
func Inspect(ctx context.Context, wasm []byte) (*ModuleInfo, error) {
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// wazero's check: no rewrite for a module that runs only its init,
	// and the info describes the module's own imports.
	c, err := compileModule(ctx, wasm, digest, engine.MaxMemoryPages, preemptWazero, nil, logger, engine.DefaultTimeout)
	if err != nil {
		return nil, fmt.Errorf("host: inspect: %w", err)
	}
	defer c.close(ctx)
	if err := c.prepare(ctx, engine.DefaultTimeout); err != nil {
		return c.info, fmt.Errorf("host: inspect: %w", err)
	}
	return c.info, nil
}

// describe lists a compiled module's imports and exports and its entry
// points.
func describe(cm wazero.CompiledModule, digest string, size int) *ModuleInfo {
	info := &ModuleInfo{Digest: digest, Size: size}
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		info.Imports = append(info.Imports, Import{Module: mod, Name: name, Type: funcType(d)})
	}
	for _, d := range cm.ImportedMemories() {
		mod, name, _ := d.Import()
		info.Imports = append(info.Imports, Import{Module: mod, Name: name, Type: memType(d)})
	}
	fns := cm.ExportedFunctions()
	for name, d := range fns {
		info.Exports = append(info.Exports, Export{Name: name, Type: funcType(d)})
	}
	for name, d := range cm.ExportedMemories() {
		info.Exports = append(info.Exports, Export{Name: name, Type: memType(d)})
	}
	sort.Slice(info.Exports, func(i, j int) bool { return info.Exports[i].Name < info.Exports[j].Name })
	has := func(name, typ string) bool {
		d, ok := fns[name]
		return ok && funcType(d) == typ
	}
	info.FastPath = has(exportABIVersion, "func() -> i32") && has(exportAlloc, "func(i32) -> i32") && has(exportTransform, "func(i32, i32) -> i64")
	info.PlainBatch = has(exportBatch, "func() -> i32")
	_, info.Reactor = fns[exportInitialize]
	info.Entry = info.autoEntry()
	return info
}

// hasRecordExport reports whether name is exported as func() -> i32 or
// func() (an Extism plugin function).
func (info *ModuleInfo) hasRecordExport(name string) bool {
	for _, e := range info.Exports {
		if e.Name == name {
			return e.Type == "func() -> i32" || e.Type == "func()"
		}
	}
	return false
}

// autoEntry is the mode "auto" picks.
func (info *ModuleInfo) autoEntry() string {
	switch {
	case info.FastPath:
		return engine.EntryFast
	case info.PlainBatch:
		return engine.EntryBatch
	case info.hasRecordExport(engine.DefaultFunction):
		return engine.EntryRecord
	}
	return ""
}

// funcType formats a function type: "func(i32, i32) -> i64".
func funcType(d api.FunctionDefinition) string {
	var b strings.Builder
	b.WriteString("func(")
	for i, t := range d.ParamTypes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(api.ValueTypeName(t))
	}
	b.WriteString(")")
	if rs := d.ResultTypes(); len(rs) > 0 {
		b.WriteString(" -> ")
		for i, t := range rs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(api.ValueTypeName(t))
		}
	}
	return b.String()
}

// memType formats a memory type: "memory(1)" or "memory(1, 16)" (pages).
func memType(d api.MemoryDefinition) string {
	if max, ok := d.Max(); ok {
		return fmt.Sprintf("memory(%d, %d)", d.Min(), max)
	}
	return fmt.Sprintf("memory(%d)", d.Min())
}
