// Package abicheck checks a weir module against the golden frames of the
// module ABI (sdk/testdata/frames, sdk/ABI.md "Golden vectors"), without
// the testing package: it is the core of "weir abi-check" and of the SDK
// conformance runner (sdk/conformance).
//
// Check works on any module that exports the fast path: it feeds every
// input vector byte for byte through weir_alloc and weir_transform and
// checks that the answer is a well-formed output frame with one outcome
// per record (ops and edit outputs only where the frame has FlagHostOps,
// op lists that decode), feeds every corrupt input frame and expects an
// error frame (not a trap, not an output frame), and checks that the
// module still works afterwards. With Options.Expect, the output frames
// must also equal the expected files byte for byte (for a reference
// module whose outputs are known, such as modules/passthrough).
package abicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weirhq/weir/engine/frame"
)

// Vector is one golden frame's description in vectors.json (see
// sdk/testdata/frames/README.md). Fields no checker uses are left out.
type Vector struct {
	Name     string    `json:"name"`
	File     string    `json:"file"`
	Kind     string    `json:"kind"`
	Flags    *uint16   `json:"flags"`
	Paths    []string  `json:"paths"`
	Records  []Record  `json:"records"`
	Outcomes []Outcome `json:"outcomes"`
	Message  string    `json:"message"`
	Decoder  string    `json:"decoder"`
}

// Record is an input record's description.
type Record struct {
	Data            *string `json:"data"`
	DataLen         int     `json:"data_len"`
	DataSHA256      string  `json:"data_sha256"`
	PartitionKey    string  `json:"partition_key"`
	SequenceNumber  string  `json:"sequence_number"`
	SubSequence     uint64  `json:"sub_sequence"`
	ArrivalUnixNano int64   `json:"arrival_unix_nano"`
	Source          string  `json:"source"`
	Views           []View  `json:"views"`
}

// View is a view's description: its type name and value bytes.
type View struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Outcome is one record's outcome in an output frame.
type Outcome struct {
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Outputs []Output `json:"outputs"`
}

// Output is one output: raw with a body, or an op list (ops, edit) with
// the document it makes of Input (Applied) or the error it gives.
type Output struct {
	Kind       string  `json:"kind"`
	Route      string  `json:"route"`
	Body       *string `json:"body"`
	Ops        []Op    `json:"ops"`
	Input      string  `json:"input"`
	Applied    string  `json:"applied"`
	ApplyError string  `json:"apply_error"`
}

// Op is one operation of an op list.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
	Src   string `json:"src"`
	Int   *int64 `json:"int"`
	Algo  string `json:"algo"`
	Hex   string `json:"hex"`
}

// Load reads vectors.json and the frame files of dir.
func Load(dir string) ([]Vector, map[string][]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("abicheck: %w", err)
	}
	var f struct{ Vectors []Vector }
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("abicheck: vectors.json: %w", err)
	}
	if len(f.Vectors) == 0 {
		return nil, nil, errors.New("abicheck: vectors.json lists no vectors")
	}
	bins := map[string][]byte{}
	for _, v := range f.Vectors {
		if bins[v.File], err = os.ReadFile(filepath.Join(dir, v.File)); err != nil {
			return nil, nil, fmt.Errorf("abicheck: %w", err)
		}
	}
	return f.Vectors, bins, nil
}

// Module is a module instantiated on wazero for frame-level calls, with
// WASI. Its other imports are stubs: with Strict, calling one traps (the
// fast path must not call extism:host/env); else they return zeros.
type Module struct {
	rt                              wazero.Runtime
	mod                             api.Module
	alloc, transform, manifest, abi api.Function
	// Batch reports whether the module exports weir_batch.
	Batch bool
	// Stubbed lists the imports that were stubbed ("module.name").
	Stubbed []string
	// Called lists the stubbed imports the module called.
	Called []string
}

// Instantiate compiles and instantiates wasm. Close the module when done.
func Instantiate(ctx context.Context, wasm []byte, strict bool) (*Module, error) {
	rt := wazero.NewRuntime(ctx)
	m := &Module{rt: rt}
	if err := m.init(ctx, wasm, strict); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *Module) init(ctx context.Context, wasm []byte, strict bool) error {
	wasi_snapshot_preview1.MustInstantiate(ctx, m.rt)
	cm, err := m.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	builders := map[string]wazero.HostModuleBuilder{}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		if mod == wasi_snapshot_preview1.ModuleName {
			continue
		}
		if mod != "extism:host/env" && strict {
			return fmt.Errorf("the module imports %s.%s", mod, name)
		}
		b, ok := builders[mod]
		if !ok {
			b = m.rt.NewHostModuleBuilder(mod)
			builders[mod] = b
		}
		full := mod + "." + name
		m.Stubbed = append(m.Stubbed, full)
		nres := len(def.ResultTypes())
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			if strict {
				panic(full + " called on the fast path")
			}
			m.Called = append(m.Called, full)
			for i := range nres {
				stack[i] = 0
			}
		}), def.ParamTypes(), def.ResultTypes()).Export(name)
	}
	for _, b := range builders {
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	cfg := wazero.NewModuleConfig().WithName("module")
	if _, ok := cm.ExportedFunctions()["_initialize"]; ok {
		cfg = cfg.WithStartFunctions("_initialize")
	}
	_, m.Batch = cm.ExportedFunctions()["weir_batch"]
	mod, err := m.rt.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return fmt.Errorf("instantiate: %w", err)
	}
	m.mod = mod
	m.alloc, m.transform = mod.ExportedFunction("weir_alloc"), mod.ExportedFunction("weir_transform")
	m.manifest, m.abi = mod.ExportedFunction("weir_manifest"), mod.ExportedFunction("weir_abi_version")
	var missing []string
	for name, f := range map[string]api.Function{"weir_alloc": m.alloc, "weir_transform": m.transform, "weir_manifest": m.manifest, "weir_abi_version": m.abi} {
		if f == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the module lacks the fast path exports %v (sdk/ABI.md \"Exports\")", missing)
	}
	res, err := m.abi.Call(ctx)
	if err != nil {
		return fmt.Errorf("weir_abi_version: %w", err)
	}
	if uint32(res[0]) != uint32(frame.Version) {
		return fmt.Errorf("weir_abi_version returned %d, want %d", int32(res[0]), frame.Version)
	}
	return nil
}

// Close releases the module's runtime.
func (m *Module) Close(ctx context.Context) error { return m.rt.Close(ctx) }

// Read copies (ptr << 32) | len out of the module's memory.
func (m *Module) Read(packed uint64) ([]byte, error) {
	b, ok := m.mod.Memory().Read(uint32(packed>>32), uint32(packed))
	if !ok {
		return nil, fmt.Errorf("the result %#x points outside the module's memory", packed)
	}
	return bytes.Clone(b), nil
}

// Call runs one frame through weir_alloc and weir_transform and returns
// the frame the module answered with.
func (m *Module) Call(ctx context.Context, f []byte) ([]byte, error) {
	res, err := m.alloc.Call(ctx, uint64(len(f)))
	if err != nil {
		return nil, fmt.Errorf("weir_alloc(%d): %w", len(f), err)
	}
	ptr := uint32(res[0])
	if ptr == 0 {
		return nil, fmt.Errorf("weir_alloc(%d) returned 0", len(f))
	}
	if !m.mod.Memory().Write(ptr, f) {
		return nil, fmt.Errorf("weir_alloc(%d) returned %#x, outside the module's memory", len(f), ptr)
	}
	res, err = m.transform.Call(ctx, uint64(ptr), uint64(len(f)))
	if err != nil {
		return nil, fmt.Errorf("weir_transform: %w", err)
	}
	if res[0] == 0 {
		return nil, errors.New("weir_transform returned 0 (no frame)")
	}
	return m.Read(res[0])
}

// Manifest is a module's manifest (sdk/ABI.md "Exports").
type Manifest struct {
	ABI   int      `json:"abi"`
	SDK   string   `json:"sdk"`
	Paths []string `json:"paths"`
}

// Manifest calls weir_manifest and decodes the manifest.
func (m *Module) Manifest(ctx context.Context) (Manifest, error) {
	var man Manifest
	res, err := m.manifest.Call(ctx)
	if err != nil {
		return man, fmt.Errorf("weir_manifest: %w", err)
	}
	b, err := m.Read(res[0])
	if err != nil {
		return man, fmt.Errorf("weir_manifest: %w", err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return man, fmt.Errorf("weir_manifest: %q is not a JSON manifest: %w", b, err)
	}
	if man.ABI != int(frame.Version) {
		return man, fmt.Errorf("weir_manifest: abi %d, want %d", man.ABI, frame.Version)
	}
	return man, nil
}
