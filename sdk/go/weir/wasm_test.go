//go:build !wasip1

package weir_test

// End-to-end tests of modules built with this SDK: each is compiled to
// wasip1 with `go build`, then run on wazero through the fast path (the way
// weir's host calls it) and on the official Extism Go host through
// weir_batch, and the results compared. Set WEIR_SKIP_WASM=1 to skip them.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/conformance"
)

var (
	buildDir  string
	buildMu   sync.Mutex
	built     = map[string][]byte{}
	wasmCache = wazero.NewCompilationCache()
	repoRoot  = filepath.Join("..", "..", "..")
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weir-sdk-wasm-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildModule compiles a package of this repository (a path relative to
// the repository root) to a wasip1 module, once per test run.
func buildModule(t testing.TB, pkg string) []byte {
	t.Helper()
	if os.Getenv("WEIR_SKIP_WASM") != "" && os.Getenv("CI") == "" {
		t.Skip("WEIR_SKIP_WASM is set (ignored in CI)")
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[pkg]; ok {
		return b
	}
	out := filepath.Join(buildDir, strings.ReplaceAll(pkg, "/", "_")+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built[pkg] = b
	return b
}

// instance is a module instantiated on plain wazero, called the way weir's
// host calls it.
type instance struct {
	mod                             api.Module
	alloc, transform, manifest, abi api.Function
	stdout                          bytes.Buffer
}

// newInstance instantiates bin on its own wazero runtime, with WASI, trap
// stubs for extism:host/env, and this test's reference implementation of
// weir:host/v1 when the module imports it.
func newInstance(t testing.TB, bin []byte) *instance {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(wasmCache))
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	cm, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	env := r.NewHostModuleBuilder("extism:host/env")
	needEnv := false
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case "extism:host/env":
			needEnv = true
			env.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
				panic("extism:host/env." + name + " called on the fast path")
			}), def.ParamTypes(), def.ResultTypes()).Export(name)
		case "weir:host/v1":
		case "wasi_snapshot_preview1":
		default:
			t.Fatalf("unexpected import %s.%s", mod, name)
		}
	}
	if needEnv {
		if _, err := env.Instantiate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	instantiateIntrinsics(t, r)
	in := &instance{}
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("guest").
		WithStartFunctions("_initialize").WithStdout(&in.stdout).WithStderr(os.Stderr).WithSysWalltime())
	if err != nil {
		t.Fatal(err)
	}
	in.mod = mod
	in.alloc = mod.ExportedFunction("weir_alloc")
	in.transform = mod.ExportedFunction("weir_transform")
	in.manifest = mod.ExportedFunction("weir_manifest")
	in.abi = mod.ExportedFunction("weir_abi_version")
	return in
}

func (in *instance) read(t testing.TB, packed uint64) []byte {
	t.Helper()
	b, ok := in.mod.Memory().Read(uint32(packed>>32), uint32(packed))
	if !ok {
		t.Fatalf("result (%#x) out of memory", packed)
	}
	return bytes.Clone(b)
}

// call runs one batch through weir_alloc + weir_transform.
func (in *instance) call(t testing.TB, f []byte) []byte {
	t.Helper()
	ctx := context.Background()
	res, err := in.alloc.Call(ctx, uint64(len(f)))
	if err != nil || res[0] == 0 {
		t.Fatalf("weir_alloc: %v %v", res, err)
	}
	ptr := uint32(res[0])
	if !in.mod.Memory().Write(ptr, f) {
		t.Fatal("weir_alloc returned memory out of range")
	}
	res, err = in.transform.Call(ctx, uint64(ptr), uint64(len(f)))
	if err != nil {
		t.Fatalf("weir_transform: %v", err)
	}
	return in.read(t, res[0])
}

// plugin loads bin on extism/go-sdk, an official Extism host.
func plugin(t testing.TB, bin []byte, config map[string]string) *extism.Plugin {
	t.Helper()
	p, err := extism.NewPlugin(context.Background(),
		extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: bin}}, Config: config},
		extism.PluginConfig{EnableWasi: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func callBatch(t testing.TB, p *extism.Plugin, f []byte) []byte {
	t.Helper()
	rc, out, err := p.Call("weir_batch", f)
	if err != nil || rc != 0 {
		t.Fatalf("weir_batch: rc %d, %v", rc, err)
	}
	return out
}

// ---------------------------------------------------------------------------
// The module's import and export lists.

func importsExports(t testing.TB, bin []byte) (imports, exports []string) {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(wasmCache))
	defer r.Close(ctx)
	cm, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		imports = append(imports, mod+"."+name)
	}
	for name := range cm.ExportedFunctions() {
		exports = append(exports, name)
	}
	for name := range cm.ExportedMemories() {
		exports = append(exports, name+" (memory)")
	}
	sort.Strings(imports)
	sort.Strings(exports)
	return imports, exports
}

func TestWasmImportsExports(t *testing.T) {
	wantExports := []string{"_initialize", "memory (memory)", "weir_abi_version", "weir_alloc", "weir_batch", "weir_manifest", "weir_transform"}
	for _, tc := range []struct {
		pkg       string
		intrinsic bool
	}{
		{"modules/passthrough", false},
		{"modules/cloudtrail-ecs", false},
		{"sdk/go/weir/testdata/kitchensink", false},
		{"sdk/go/weir/intrinsic/testdata/intrinsicmod", true},
	} {
		imports, exports := importsExports(t, buildModule(t, tc.pkg))
		if !reflect.DeepEqual(exports, wantExports) {
			t.Errorf("%s exports %q, want %q", tc.pkg, exports, wantExports)
		}
		var env, weir []string
		for _, imp := range imports {
			switch mod, name, _ := strings.Cut(imp, "."); mod {
			case "extism:host/env":
				env = append(env, name)
			case "weir:host/v1":
				weir = append(weir, name)
			case "wasi_snapshot_preview1":
			default:
				t.Errorf("%s imports %s", tc.pkg, imp)
			}
		}
		if tc.intrinsic != (len(weir) > 0) {
			t.Errorf("%s imports weir:host/v1 %q", tc.pkg, weir)
		}
		t.Logf("%s (%d bytes): extism:host/env %s; weir:host/v1 %s", tc.pkg, len(buildModule(t, tc.pkg)), strings.Join(env, ","), strings.Join(weir, ","))
	}
}

// ---------------------------------------------------------------------------
// The golden frames (sdk/testdata/frames) through the Go SDK's conformance
// module: input frames decoded, output frames written byte for byte, op
// lists applied in the guest to the hand-written documents, corrupt frames
// answered with error frames.

func TestWasmGoldenFrames(t *testing.T) {
	bin := buildModule(t, "sdk/go/weir/testdata/conformance")
	conformance.Run(t, bin, conformance.Options{Edit: true, ApplyOps: true, RawOps: true})
}

// ---------------------------------------------------------------------------
// kitchensink: every SDK feature, on both hosts.

func kitchensinkRecords() [][]byte {
	var recs [][]byte
	for _, r := range []string{
		`{"do":"emit","x":1}`, `{"do":"two"}`, `{"do":"drop"}`, `{"do":"fail"}`, `{"do":"panic"}`,
		`{"do":"index","n":3}`, `{"do":"doc","t":"2023-05-16T21:47:25Z","secret":1}`,
		`{"do":"edit","secret":"pw","keep":[1,{"a":null}],"x":{"old":true}}`, `{"do":"meta"}`,
		`{"do":"get","deep":{"a":[0,2.5e1]}}`, `{"do":"badjson"}`, `{"do":"nothing"}`, `{"do":"what"}`,
	} {
		recs = append(recs, []byte(r))
	}
	return recs
}

// hostFrame builds an input frame the way weir's host does for a module
// that declares paths: views of each path from a native parse.
func hostFrame(t testing.TB, records [][]byte, flags uint16, paths []string) []byte {
	t.Helper()
	w := frame.NewInput(nil, flags, paths)
	var p fastjson.Parser
	for i, r := range records {
		w.AddRecord(r, "pk", fmt.Sprint(i), uint64(i), 1684273645000000000+int64(i), "src")
		if flags&frame.FlagViews != 0 {
			v, err := p.ParseBytes(r)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			for _, path := range paths {
				w.AddValue(v.Get(frame.SplitPath(path)...))
			}
		}
	}
	return w.Finish()
}

// results decodes an output frame, applying op lists to their records as
// the host does, into one line per record.
func results(t testing.TB, out []byte, records [][]byte) []string {
	t.Helper()
	or, err := frame.ReadOutput(out, len(records))
	if err != nil {
		t.Fatalf("output frame: %v", err)
	}
	var a frame.Applier
	var rec frame.OutRecord
	var lines []string
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			t.Fatal(err)
		}
		switch rec.Status {
		case frame.StatusDropped:
			lines = append(lines, "dropped")
		case frame.StatusFailed:
			lines = append(lines, "failed: "+string(rec.Message))
		default:
			line := "ok"
			for _, o := range rec.Outputs {
				body := o.Body
				if o.Kind != frame.OutputRaw {
					if body, err = a.Apply(nil, o.Kind, o.Body, records[i], nil); err != nil {
						body = []byte("apply error: " + err.Error())
					}
				}
				line += fmt.Sprintf(" [%s] %s", o.Route, body)
			}
			lines = append(lines, line)
		}
	}
	return lines
}

func manifestPaths(t testing.TB, in *instance) []string {
	t.Helper()
	res, err := in.manifest.Call(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ABI   int
		SDK   string
		Paths []string
	}
	if err := json.Unmarshal(in.read(t, res[0]), &m); err != nil || m.ABI != 1 || !strings.HasPrefix(m.SDK, "go/") {
		t.Fatalf("manifest %+v: %v", m, err)
	}
	return m.Paths
}

func TestWasmKitchensink(t *testing.T) {
	bin := buildModule(t, "sdk/go/weir/testdata/kitchensink")
	in := newInstance(t, bin)
	if res, err := in.abi.Call(context.Background()); err != nil || res[0] != 1 {
		t.Fatalf("weir_abi_version: %v %v", res, err)
	}
	paths := manifestPaths(t, in)
	if strings.Join(paths, ",") != "do,n" {
		t.Fatalf("paths %q", paths)
	}
	recs := kitchensinkRecords()
	sha := sha256.Sum256(recs[6])
	md := md5.Sum(recs[6])
	want := []string{
		`ok [] {"do":"emit","x":1}`,
		`ok [a] 1 [b] 2`,
		`dropped`,
		`failed: nope`,
		`failed: panic: boom`,
		`failed: panic: runtime error: index out of range [3] with length 0`,
		`ok [docs] {"@timestamp":"2023-05-16T21:47:25Z","s":"é\"\n","n":-7,"j":{"a":[1,2]},"orig":` +
			string(frame.AppendString(nil, recs[6])) + `,"h":{"sha256":"` + hex.EncodeToString(sha[:]) + `","md5":"` + hex.EncodeToString(md[:]) + `"}}`,
		`ok [] {"do":"edit","keep":[1,{"a":null}],"x":{"old":true,"y":"z"}}`,
		`ok [] {"pk":"pk","seq":"8","sub":8,"at":"2023-05-16T21:47:25.000000008Z","src":"src","i":8}`,
		`ok [] number 2.5e1 25 missing`,
		`failed: op at byte 0: set "x": invalid JSON value: byte offset 1: unexpected end of the document`,
		`ok`,
		`failed: unknown do "what"`,
	}
	// The fast path, with views and host-applied ops (the badjson record's
	// bad op list is found by the host, here the test's Applier).
	fast := results(t, in.call(t, hostFrame(t, recs, frame.FlagViews|frame.FlagHostOps, paths)), recs)
	wantFast := append([]string(nil), want...)
	wantFast[10] = "ok [] apply error: " + strings.TrimPrefix(want[10], "failed: ")
	compareLines(t, "fast path", fast, wantFast)
	if !strings.Contains(in.stdout.String(), "meta") {
		t.Errorf("WASI stdout %q", in.stdout.String())
	}

	// Again, to check buffer reuse, with a larger batch.
	big := append(append([][]byte{}, recs...), recs...)
	fast2 := results(t, in.call(t, hostFrame(t, big, frame.FlagViews|frame.FlagHostOps, paths)), big)
	if len(fast2) != 2*len(recs) || fast2[len(recs)] != fast[0] {
		t.Fatalf("second batch: %q", fast2)
	}

	// A corrupt frame gives an error frame, not a trap.
	_, err := frame.ReadOutput(in.call(t, []byte("WEIR\x01\x01\x00\x00")), 0)
	if be := (*frame.BatchError)(nil); !asBatchError(err, &be) || !strings.Contains(be.Message, "reading the input frame") {
		t.Fatalf("corrupt frame: %v", err)
	}

	// The official Extism host, plain weir_batch: no views, guest-applied ops.
	p := plugin(t, bin, map[string]string{"greeting": "hi"})
	var logs []string
	p.SetLogger(func(l extism.LogLevel, msg string) { logs = append(logs, l.String()+": "+msg) })
	extism.SetLogLevel(extism.LogLevelInfo)
	plain := results(t, callBatch(t, p, hostFrame(t, recs, 0, nil)), recs)
	compareLines(t, "extism weir_batch", plain, want)

	// config and log need Extism's kernel: plain host only.
	more := [][]byte{[]byte(`{"do":"config"}`), []byte(`{"do":"log"}`)}
	got := results(t, callBatch(t, p, hostFrame(t, more, 0, nil)), more)
	compareLines(t, "config/log", got, []string{"ok [] hi true", "ok [] "})
	if len(logs) != 1 || !strings.Contains(logs[0], "hello from kitchensink") {
		t.Fatalf("logs %q", logs)
	}
}

func asBatchError(err error, be **frame.BatchError) bool {
	b, ok := err.(*frame.BatchError)
	*be = b
	return ok
}

func compareLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d:\n%s", what, len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: record %d\n got: %s\nwant: %s", what, i, got[i], want[i])
		}
	}
}

// ---------------------------------------------------------------------------
// cloudtrail-ecs: the same bytes on both hosts, and the baseline's fields.

func sharedFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(hosttest.SharedFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpus returns the panther and otrf CloudTrail records (one per line).
func corpus(t testing.TB) [][]byte {
	t.Helper()
	var recs [][]byte
	for _, line := range bytes.Split(sharedFile(t, "testdata/cloudtrail/panther/panther_cloudtrail_tests.jsonl"), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var c struct{ Log json.RawMessage }
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("panther corpus: %v", err)
		}
		if len(c.Log) == 0 {
			continue // a test case without a log
		}
		// 8 logs have lower-cased keys ("eventname"): not CloudTrail
		// events, which the module fails (modules/cloudtrail-ecs tests
		// them).
		if !bytes.Contains(c.Log, []byte(`"eventTime"`)) && !bytes.Contains(c.Log, []byte(`"eventName"`)) {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, c.Log); err != nil {
			t.Fatalf("panther corpus: %v", err)
		}
		recs = append(recs, buf.Bytes())
	}
	otrf, _ := filepath.Glob(filepath.Join(hosttest.SharedFile(t, "testdata/cloudtrail/otrf"), "*.json"))
	if len(otrf) == 0 {
		t.Fatal("no otrf CloudTrail files in the shared test data")
	}
	for _, f := range otrf {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				recs = append(recs, line)
			}
		}
	}
	return recs
}

func TestWasmCloudTrail(t *testing.T) {
	ref := bytes.TrimSuffix(sharedFile(t, "reference/consolelogin.input.json"), []byte("\n"))
	recs := append([][]byte{ref}, corpus(t)...)
	bin := buildModule(t, "modules/cloudtrail-ecs")
	in := newInstance(t, bin)
	paths := manifestPaths(t, in)
	fast := results(t, in.call(t, hostFrame(t, recs, frame.FlagViews|frame.FlagHostOps, paths)), recs)
	plain := results(t, callBatch(t, plugin(t, bin, nil), hostFrame(t, recs, 0, nil)), recs)
	compareLines(t, "extism weir_batch vs fast path", plain, fast)
	for i, line := range fast {
		doc, ok := strings.CutPrefix(line, "ok [] ")
		if !ok {
			t.Fatalf("record %d: %s", i, line)
		}
		want, err := baseline.GJSON(recs[i])
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal([]byte(doc), &g); err != nil {
			t.Fatalf("record %d: the module's output is not JSON: %v\n%s", i, err, doc)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatalf("record %d: the baseline's output is not JSON: %v\n%s", i, err, want)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("record %d differs from the baseline\n got: %s\nwant: %s", i, doc, want)
		}
	}
	t.Logf("%d records, same bytes on both hosts", len(recs))
}

// ---------------------------------------------------------------------------
// Intrinsics: a reference implementation of weir:host/v1 on wazero.

func instantiateIntrinsics(t testing.TB, r wazero.Runtime) {
	t.Helper()
	i32 := api.ValueTypeI32
	mem := func(m api.Module, ptr, n uint64) ([]byte, bool) { return m.Memory().Read(uint32(ptr), uint32(n)) }
	encodings := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	digest := func(algo uint64, data []byte) []byte {
		switch algo {
		case frame.DigestSHA256:
			s := sha256.Sum256(data)
			return s[:]
		case frame.DigestMD5:
			s := md5.Sum(data)
			return s[:]
		case frame.DigestSHA1:
			s := sha1.Sum(data)
			return s[:]
		}
		return nil
	}
	// write stores out at ptr and returns its length, or -3.
	write := func(m api.Module, ptr uint64, out []byte) uint64 {
		if !m.Memory().Write(uint32(ptr), out) {
			return api.EncodeI32(-3)
		}
		return api.EncodeI32(int32(len(out)))
	}
	b := r.NewHostModuleBuilder("weir:host/v1")
	fn := func(name string, params int, f func(m api.Module, s []uint64) uint64) {
		ps := make([]api.ValueType, params)
		for i := range ps {
			ps[i] = i32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, s []uint64) {
			// i32 arguments arrive in uint64 slots whose upper bits are
			// undefined: mask them.
			for i := range params {
				s[i] = uint64(uint32(s[i]))
			}
			s[0] = f(m, s)
		}), ps, []api.ValueType{i32}).Export(name)
	}
	fn("digest", 4, func(m api.Module, s []uint64) uint64 {
		data, ok := mem(m, s[1], s[2])
		if !ok {
			return api.EncodeI32(-3)
		}
		d := digest(s[0], data)
		if d == nil {
			return api.EncodeI32(-1)
		}
		return write(m, s[3], d)
	})
	fn("digest_hex", 4, func(m api.Module, s []uint64) uint64 {
		data, ok := mem(m, s[1], s[2])
		if !ok {
			return api.EncodeI32(-3)
		}
		d := digest(s[0], data)
		if d == nil {
			return api.EncodeI32(-1)
		}
		return write(m, s[3], []byte(hex.EncodeToString(d)))
	})
	fn("hex_encode", 3, func(m api.Module, s []uint64) uint64 {
		data, ok := mem(m, s[0], s[1])
		if !ok {
			return api.EncodeI32(-3)
		}
		return write(m, s[2], []byte(hex.EncodeToString(data)))
	})
	fn("base64_encode", 4, func(m api.Module, s []uint64) uint64 {
		data, ok := mem(m, s[1], s[2])
		if !ok || s[0] > 3 {
			return api.EncodeI32(-3)
		}
		return write(m, s[3], []byte(encodings[s[0]].EncodeToString(data)))
	})
	fn("base64_decode", 5, func(m api.Module, s []uint64) uint64 {
		data, ok := mem(m, s[1], s[2])
		if !ok || s[0] > 3 {
			return api.EncodeI32(-3)
		}
		out, err := encodings[s[0]].DecodeString(string(data))
		if err != nil {
			return api.EncodeI32(-1)
		}
		if len(out) > int(uint32(s[4])) {
			return api.EncodeI32(-2)
		}
		return write(m, s[3], out)
	})
	fn("json_escape", 4, func(m api.Module, s []uint64) uint64 {
		data, ok := mem(m, s[0], s[1])
		if !ok {
			return api.EncodeI32(-3)
		}
		q := frame.AppendString(nil, data)
		if len(q) <= int(uint32(s[3])) {
			return write(m, s[2], q)
		}
		return api.EncodeI32(int32(len(q)))
	})
	if _, err := b.Instantiate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestWasmIntrinsics(t *testing.T) {
	in := newInstance(t, buildModule(t, "sdk/go/weir/intrinsic/testdata/intrinsicmod"))
	recs := [][]byte{[]byte("hello"), []byte("é\"\u2028\x01" + strings.Repeat("x", 300)), {}}
	got := results(t, in.call(t, hostFrame(t, recs, frame.FlagHostOps, nil)), recs)
	for i, d := range recs {
		sha, md, s1 := sha256.Sum256(d), md5.Sum(d), sha1.Sum(d)
		want := fmt.Sprintf("ok [] %x|%x|%x|%x|%s|%s|%s|%s", sha, md, s1, d,
			base64.RawURLEncoding.EncodeToString(d), d, frame.AppendString(nil, d), sha[:2])
		if got[i] != want {
			t.Errorf("record %d\n got: %q\nwant: %q", i, got[i], want)
		}
	}
}

// ---------------------------------------------------------------------------
// Benchmarks: records per second through the fast path, host work
// included (native parse for views, frame encoding, native op apply), next
// to the native gjson/sjson baseline.

func benchRecords(b testing.TB) [][]byte {
	ref := bytes.TrimSuffix(sharedFile(b, "reference/consolelogin.input.json"), []byte("\n"))
	recs := make([][]byte, 100)
	for i := range recs {
		recs[i] = ref
	}
	return recs
}

// emulateHost runs one batch as weir's host would, reusing its buffers.
type emulateHost struct {
	w       frame.InputWriter
	parsers []fastjson.Parser
	parsed  []*fastjson.Value
	buf     []byte
	doc     []byte
	a       frame.Applier
	rec     frame.OutRecord
}

func (h *emulateHost) run(b *testing.B, in *instance, recs [][]byte, paths []string) {
	flags := frame.FlagHostOps
	if len(paths) > 0 {
		flags |= frame.FlagViews
	}
	h.w.Reset(h.buf, flags, paths)
	if len(h.parsers) < len(recs) {
		h.parsers = make([]fastjson.Parser, len(recs))
	}
	h.parsed = h.parsed[:0]
	for i, r := range recs {
		h.w.AddRecord(r, "pk", "seq", 0, 0, "src")
		if len(paths) > 0 {
			// The host keeps each record's parse for the ops (Applier.Apply
			// takes it).
			v, err := h.parsers[i].ParseBytes(r)
			if err != nil {
				b.Fatal(err)
			}
			h.parsed = append(h.parsed, v)
			for _, path := range paths {
				h.w.AddValue(v.Get(frame.SplitPath(path)...))
			}
		}
	}
	f := h.w.Finish()
	h.buf = f
	ctx := context.Background()
	res, err := in.alloc.Call(ctx, uint64(len(f)))
	if err != nil {
		b.Fatal(err)
	}
	in.mod.Memory().Write(uint32(res[0]), f)
	res, err = in.transform.Call(ctx, res[0], uint64(len(f)))
	if err != nil {
		b.Fatal(err)
	}
	out, _ := in.mod.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
	or, err := frame.ReadOutput(out, len(recs))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; or.More(); i++ {
		if err := or.Next(&h.rec); err != nil {
			b.Fatal(err)
		}
		for _, o := range h.rec.Outputs {
			if o.Kind == frame.OutputRaw {
				h.doc = append(h.doc[:0], o.Body...)
				continue
			}
			var pv *fastjson.Value
			if len(h.parsed) > 0 {
				pv = h.parsed[i]
			}
			if h.doc, err = h.a.Apply(h.doc[:0], o.Kind, o.Body, recs[i], pv); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchWasm(b *testing.B, pkg string) {
	recs := benchRecords(b)
	in := newInstance(b, buildModule(b, pkg))
	paths := manifestPaths(b, in)
	var h emulateHost
	b.ResetTimer()
	for b.Loop() {
		h.run(b, in, recs, paths)
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkWasmCloudTrailFastPath(b *testing.B) { benchWasm(b, "modules/cloudtrail-ecs") }

func BenchmarkWasmPassthroughFastPath(b *testing.B) { benchWasm(b, "modules/passthrough") }

// BenchmarkWasmCloudTrailExtism is the same module through weir_batch on
// extism/go-sdk: no views, guest-side parsing and apply, Extism's
// 8-bytes-per-call input path.
func BenchmarkWasmCloudTrailExtism(b *testing.B) {
	recs := benchRecords(b)
	p := plugin(b, buildModule(b, "modules/cloudtrail-ecs"), nil)
	f := hostFrame(b, recs, 0, nil)
	b.ResetTimer()
	for b.Loop() {
		callBatch(b, p, f)
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkNativeBaselineGJSON(b *testing.B) {
	recs := benchRecords(b)
	b.ResetTimer()
	for b.Loop() {
		for _, r := range recs {
			if _, err := baseline.GJSON(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

// callCounter counts calls per guest function (a wazero function
// listener).
type callCounter struct{ n map[string]int }

func (c *callCounter) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	name := def.DebugName()
	return experimental.FunctionListenerFunc(func(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
		c.n[name]++
	})
}

// TestWasmCallBudget counts the Go function calls cloudtrail-ecs makes per
// record on the fast path. A call costs tens of nanoseconds in Go compiled
// to Wasm, so this count is what the module's speed depends on (it was
// 112 per record before the SDK's hot paths were flattened); the budget
// catches regressions.
func TestWasmCallBudget(t *testing.T) {
	const budget = 70
	ref := bytes.TrimSuffix(sharedFile(t, "reference/consolelogin.input.json"), []byte("\n"))
	bin := buildModule(t, "modules/cloudtrail-ecs")
	paths := manifestPaths(t, newInstance(t, bin))
	c := &callCounter{n: map[string]int{}}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), c)
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	cm, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	env := r.NewHostModuleBuilder("extism:host/env")
	for _, def := range cm.ImportedFunctions() {
		if mod, name, _ := def.Import(); mod == "extism:host/env" {
			env.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}),
				def.ParamTypes(), def.ResultTypes()).Export(name)
		}
	}
	if _, err := env.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	recs := make([][]byte, 100)
	for i := range recs {
		recs[i] = ref
	}
	f := hostFrame(t, recs, frame.FlagViews|frame.FlagHostOps, paths)
	run := func() {
		res, err := mod.ExportedFunction("weir_alloc").Call(ctx, uint64(len(f)))
		if err != nil {
			t.Fatal(err)
		}
		mod.Memory().Write(uint32(res[0]), f)
		if _, err := mod.ExportedFunction("weir_transform").Call(ctx, res[0], uint64(len(f))); err != nil {
			t.Fatal(err)
		}
	}
	run() // warm up: buffers grow once
	clear(c.n)
	run()
	type count struct {
		name string
		n    int
	}
	var counts []count
	total := 0
	for name, n := range c.n {
		counts = append(counts, count{name, n})
		total += n
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].n > counts[j].n })
	perRecord := float64(total) / float64(len(recs))
	for _, c := range counts[:min(8, len(counts))] {
		t.Logf("%5.1f per record  %s", float64(c.n)/float64(len(recs)), c.name)
	}
	t.Logf("%.1f calls per record (budget %d)", perRecord, budget)
	if perRecord > budget {
		t.Errorf("%.1f Go calls per record, over the budget of %d", perRecord, budget)
	}
}

// BenchmarkWasmCloudTrailGuestOnly is the guest's share of the fast path:
// weir_transform on a prepared frame of 100 records with views.
func BenchmarkWasmCloudTrailGuestOnly(b *testing.B) { benchGuestOnly(b, "modules/cloudtrail-ecs") }

// BenchmarkWasmPassthroughGuestOnly is the SDK's fixed cost per record.
func BenchmarkWasmPassthroughGuestOnly(b *testing.B) { benchGuestOnly(b, "modules/passthrough") }

func benchGuestOnly(b *testing.B, pkg string) {
	recs := benchRecords(b)
	in := newInstance(b, buildModule(b, pkg))
	f := hostFrame(b, recs, frame.FlagViews|frame.FlagHostOps, manifestPaths(b, in))
	ctx := context.Background()
	res, _ := in.alloc.Call(ctx, uint64(len(f)))
	ptr := res[0]
	b.ResetTimer()
	for b.Loop() {
		in.mod.Memory().Write(uint32(ptr), f)
		if _, err := in.transform.Call(ctx, ptr, uint64(len(f))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}
