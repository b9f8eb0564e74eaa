package wasmrewrite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/wasmrewrite"
)

const flagName = "weir:preempt/fuel"

// opts names the fuel check "fuel" "check", which instantiate provides.
var opts = wasmrewrite.Options{ImportModule: "fuel", ImportName: "check", Export: flagName, Fuel: 3}

// checker is the test's fuel check: it counts its calls and refills the
// fuel, or exits once stop is set.
type checker struct {
	calls int
	stop  bool
}

func (c *checker) check(ctx context.Context, mod api.Module) {
	c.calls++
	if c.stop {
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	}
	mod.ExportedGlobal(flagName).(api.MutableGlobal).Set(uint64(opts.Fuel))
}

func readWAT(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(hosttest.WAT(t, filepath.Join("testdata", name+".wat")))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// instantiate compiles and instantiates wasm with the imports
// features.wat needs.
func instantiate(t *testing.T, wasm []byte, c *checker) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	if _, err := rt.NewHostModuleBuilder("fuel").NewFunctionBuilder().WithFunc(c.check).Export("check").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	env := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x uint32) uint32 { return x * 100 }).Export("f")
	if _, err := env.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	// wazero host modules cannot export globals: a Wasm module "env2"
	// exports g = 5.
	if _, err := rt.InstantiateWithConfig(ctx, globalModule, wazero.NewModuleConfig().WithName("env2")); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("m"))
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// TestFeatures: the instrumented features module computes what the
// original does, has one check per loop, and its loops trap once the flag
// is set.
func TestFeatures(t *testing.T) {
	orig := readWAT(t, "features")
	res, err := wasmrewrite.Instrument(orig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loops != 4 {
		t.Errorf("%d loops instrumented, want 4", res.Loops)
	}
	if res.Global != 2 || res.Func != 1 { // one imported, one defined; one imported function
		t.Errorf("fuel is global %d (want 2), the check function %d (want 1)", res.Global, res.Func)
	}
	ctx := context.Background()
	calls := []struct {
		fn   string
		args []uint64
	}{
		{"sum", []uint64{10}}, {"sum", []uint64{1}},
		{"mix", []uint64{0}}, {"mix", []uint64{1}}, {"mix", []uint64{2}}, {"mix", []uint64{7}},
		{"mem", nil}, {"nested", []uint64{4}},
	}
	var c checker
	a, b := instantiate(t, orig, &checker{}), instantiate(t, res.Wasm, &c)
	for _, c := range calls {
		want, err := a.ExportedFunction(c.fn).Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("original %s%v: %v", c.fn, c.args, err)
		}
		got, err := b.ExportedFunction(c.fn).Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("rewritten %s%v: %v", c.fn, c.args, err)
		}
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Errorf("%s%v = %v, original %v", c.fn, c.args, got, want)
		}
	}
	if c.calls == 0 {
		t.Error("the fuel check was never called")
	}
	c.stop = true
	for _, fn := range []string{"spin", "sum", "nested"} {
		f := b.ExportedFunction(fn)
		args := make([]uint64, len(f.Definition().ParamTypes()))
		for i := range args {
			args[i] = 1000 // more iterations than the fuel
		}
		_, err := f.Call(ctx, args...)
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
			t.Errorf("%s once the check stops: err %v, want its exit error", fn, err)
		}
	}
	if _, err := b.ExportedFunction("mix").Call(ctx, 1); err != nil {
		t.Errorf("mix has no loop and must run once the check stops: %v", err)
	}
}

// globalModule is a hand-encoded module exporting the immutable i32
// global g = 5.
var globalModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x05, 0x0b, // global (i32) = 5
	0x07, 0x05, 0x01, 0x01, 'g', 0x03, 0x00, // export "g" global 0
}

// TestMinimal: a module with no global or export section gets both, in
// the right order.
func TestMinimal(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	res, err := wasmrewrite.Instrument(wasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.NewHostModuleBuilder("fuel").NewFunctionBuilder().WithFunc(func() {}).Export("check").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, res.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	if mod.ExportedGlobal(flagName) == nil {
		t.Fatal("the flag is not exported")
	}
}

// TestRefused: what the rewriter cannot handle is an ErrUnsupported, never
// a wrong module.
func TestRefused(t *testing.T) {
	spin := readWAT(t, "features")
	for _, tc := range []struct {
		name string
		wasm []byte
		flag string
		want string
	}{
		{"not wasm", []byte("hello, world"), flagName, "not a WebAssembly binary"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), flagName, "binary version"},
		{"truncated", spin[:len(spin)-3], flagName, "section"},
		{"name taken", spin, "sum", `already exports "sum"`},
		{"import taken", spin, flagName, `already imports from "env"`},
		{"unknown section", []byte("\x00asm\x01\x00\x00\x00\x20\x00"), flagName, "unknown section id 32"},
		{"unknown opcode", codeModule(0x00, 0x06, 0x0B), flagName, "opcode 0x06 is not supported"},
		{"no final end", codeModule(0x00, 0x01), flagName, "ends before its final end"},
		{"bytes after end", codeModule(0x00, 0x0B, 0x01), flagName, "after the function's final end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmrewrite.Instrument(tc.wasm, wasmrewrite.Options{ImportModule: importModule(tc.name), ImportName: "check", Export: tc.flag})
			if !errors.Is(err, wasmrewrite.ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrUnsupported mentioning %q", err, tc.want)
			}
		})
	}
}

// codeModule is a module with one func() and the given body (locals
// included).
func codeModule(body ...byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00) // type () -> ()
	m = append(m, 0x03, 0x02, 0x01, 0x00)             // func 0: type 0
	code := append([]byte{0x01, byte(len(body))}, body...)
	m = append(m, 0x0A, byte(len(code)))
	return append(m, code...)
}

// TestRepoModules: every module the repository builds (Go, AssemblyScript)
// is instrumented and still compiles in wazero.
func TestRepoModules(t *testing.T) {
	root := hosttest.RepoRoot(t)
	// Each builder takes the subtest's t: a missing toolchain skips (or,
	// in CI, fails) that subtest, not its parent from inside a child.
	modules := map[string]func(t *testing.T) string{
		"go/cloudtrail-ecs": func(t *testing.T) string { return hosttest.GoModule(t, "modules/cloudtrail-ecs") },
		"go/ecs-enrich":     func(t *testing.T) string { return hosttest.GoModule(t, "modules/ecs-enrich") },
		"go/passthrough":    func(t *testing.T) string { return hosttest.GoModule(t, "modules/passthrough") },
		"go/gopdk-upper":    func(t *testing.T) string { return hosttest.GoModule(t, "host/testdata/gopdk-upper") },
		"as/cloudtrail-ecs-as": func(t *testing.T) string {
			return hosttest.AssemblyScript(t, filepath.Join(root, "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub")
		},
		"as/passthrough-as": func(t *testing.T) string {
			return hosttest.AssemblyScript(t, filepath.Join(root, "modules", "passthrough-as", "passthrough-as.ts"), "--runtime", "stub")
		},
	}
	ctx := context.Background()
	for name, build := range modules {
		t.Run(name, func(t *testing.T) {
			wasm, err := os.ReadFile(build(t))
			if err != nil {
				t.Fatal(err)
			}
			res, err := wasmrewrite.Instrument(wasm, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Loops == 0 || res.Functions == 0 {
				t.Fatalf("%d loops in %d functions instrumented", res.Loops, res.Functions)
			}
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			if _, err := rt.CompileModule(ctx, res.Wasm); err != nil {
				t.Fatalf("the rewritten module does not compile: %v", err)
			}
			t.Logf("%d bytes -> %d, %d loops in %d functions", len(wasm), len(res.Wasm), res.Loops, res.Functions)
		})
	}
}

// FuzzInstrument: any input either is refused with ErrUnsupported or
// rewrites; when wazero accepts the input, it accepts the rewrite too.
func FuzzInstrument(f *testing.F) {
	f.Add(readWAT(f, "features"))
	f.Add(codeModule(0x00, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, wasm []byte) {
		res, err := wasmrewrite.Instrument(wasm, opts)
		if err != nil {
			if !errors.Is(err, wasmrewrite.ErrUnsupported) {
				t.Fatalf("error without ErrUnsupported: %v", err)
			}
			return
		}
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			return // the input is invalid; so may the output be
		}
		if _, err := rt.CompileModule(ctx, res.Wasm); err != nil {
			t.Fatalf("wazero compiles the input but not its rewrite: %v", err)
		}
	})
}

func importModule(test string) string {
	if test == "import taken" {
		return "env"
	}
	return "fuel"
}

// BenchmarkInstrument rewrites the Go reference module (cloudtrail-ecs,
// ~3 MB): the cost a load pays before compiling (or hitting the
// compilation cache).
func BenchmarkInstrument(b *testing.B) {
	wasm, err := os.ReadFile(hosttest.GoModule(b, "modules/cloudtrail-ecs"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := wasmrewrite.Instrument(wasm, opts); err != nil {
			b.Fatal(err)
		}
	}
}
