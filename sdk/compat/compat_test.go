package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/hosttest"
)

// outcome is one record's result in a host-neutral form.
type outcome struct {
	status  string
	outputs []string
	msg     string
}

func (o outcome) String() string {
	return fmt.Sprintf("%s %q %q", o.status, o.outputs, o.msg)
}

// corpus returns records for the cross-host runs: the reference record,
// a real corpus, a record that is not JSON and an empty one.
func corpus(t *testing.T) []engine.Record {
	t.Helper()
	shared := hosttest.SharedDir(t)
	var recs []engine.Record
	ref, err := os.ReadFile(filepath.Join(shared, "reference", "consolelogin.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, engine.Record{Data: bytes.TrimRight(ref, "\n"), Meta: engine.Metadata{SequenceNumber: "ref", PartitionKey: "pk"}})
	files, _ := filepath.Glob(filepath.Join(shared, "testdata", "cloudtrail", "stratus-red-team", "*.json"))
	for _, f := range files[:8] {
		rs := hosttest.DecodeFile(t, f)
		recs = append(recs, rs...)
	}
	recs = append(recs,
		engine.Record{Data: []byte(`{"eventName":"Odd \u2028 \"quoted\" \\ and \u0001","sourceIPAddress":"not-an-ip","errorCode":"AccessDenied"}`)},
		engine.Record{Data: []byte(`{"truncated":`)},
	)
	return recs
}

// cacheDir is the wazero compilation cache every weir host of this test
// process shares: a module compiles once (seconds for a Go module), then
// loads from the cache in every later host, as in "weir run --cache-dir".
var cacheDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "weir-compat-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cacheDir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

// underWeir runs records through a weir stage with the given entry (two
// instances: a batch goes over in several calls).
func underWeir(t *testing.T, wasm []byte, entry string, recs []engine.Record) []outcome {
	t.Helper()
	return underWeirInstances(t, wasm, entry, recs, 2)
}

// underWeirInstances is underWeir with n instances: with one, a batch of
// at most 32 small records is one call, so a record's index in the
// module's frame is its index in the batch.
func underWeirInstances(t *testing.T, wasm []byte, entry string, recs []engine.Record, n int) []outcome {
	t.Helper()
	ctx := context.Background()
	h, err := host.New(ctx, host.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	st, err := h.LoadModule(ctx, "compat", wasm, engine.StageConfig{Entry: entry, Instances: n})
	if err != nil {
		t.Fatalf("LoadModule(%s): %v", entry, err)
	}
	defer st.Close(ctx)
	res, err := st.Process(ctx, recs)
	if err != nil {
		t.Fatalf("Process(%s): %v", entry, err)
	}
	out := make([]outcome, len(res))
	for i, r := range res {
		out[i].status = r.Status.String()
		for _, o := range r.Outputs {
			out[i].outputs = append(out[i].outputs, o.Route+"|"+string(o.Data))
		}
		if r.Err != nil {
			out[i].msg = r.Err.Error()
		}
	}
	return out
}

// inputFrame encodes records as a plain Extism host would send them: no
// views, no host-applied operations.
func inputFrame(recs []engine.Record) []byte {
	w := frame.NewInput(nil, 0, nil)
	for _, r := range recs {
		w.AddRecord(r.Data, r.Meta.PartitionKey, r.Meta.SequenceNumber, r.Meta.SubSequenceNumber, 0, r.Meta.Source)
	}
	return w.Finish()
}

// decodeOutput turns an output frame from a plain Extism host into
// outcomes. Ops outputs cannot appear: the frame did not offer host ops.
func decodeOutput(t *testing.T, b []byte, n int) []outcome {
	t.Helper()
	or, err := frame.ReadOutput(b, n)
	if err != nil {
		t.Fatalf("output frame: %v", err)
	}
	out := make([]outcome, n)
	var rec frame.OutRecord
	for i := range out {
		if err := or.Next(&rec); err != nil {
			t.Fatalf("output frame: %v", err)
		}
		switch rec.Status {
		case frame.StatusOK:
			out[i].status = "ok"
			for _, o := range rec.Outputs {
				if o.Kind != frame.OutputRaw {
					t.Fatalf("record %d: output kind %d from a frame without FlagHostOps", i, o.Kind)
				}
				out[i].outputs = append(out[i].outputs, string(o.Route)+"|"+string(o.Body))
			}
		case frame.StatusDropped:
			out[i].status = "dropped"
		case frame.StatusFailed:
			out[i].status = "failed"
			out[i].msg = string(rec.Message)
		}
	}
	return out
}

func underGoSDK(t *testing.T, wasm []byte, recs []engine.Record) []outcome {
	t.Helper()
	ctx := context.Background()
	p, err := extism.NewPlugin(ctx, extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm}}}, extism.PluginConfig{EnableWasi: true}, nil)
	if err != nil {
		t.Fatalf("go-sdk NewPlugin: %v", err)
	}
	defer p.Close(ctx)
	rc, out, err := p.Call("weir_batch", inputFrame(recs))
	if err != nil || rc != 0 {
		t.Fatalf("go-sdk Call(weir_batch) = %d, %v", rc, err)
	}
	return decodeOutput(t, out, len(recs))
}

func underNode(t *testing.T, wasm []byte, recs []engine.Record) []outcome {
	t.Helper()
	node := hosttest.RequireTool(t, "node", "apt-get install nodejs")
	root := hosttest.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "tools", "node", "node_modules", "@extism", "extism")); err != nil {
		hosttest.Missing(t, "@extism/extism (tools/node)", "scripts/ensure-tools.sh node")
	}
	dir := t.TempDir()
	wasmPath, in, outPath := filepath.Join(dir, "m.wasm"), filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(wasmPath, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, inputFrame(recs), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--no-warnings", filepath.Join(root, "sdk", "compat", "extism-node.cjs"), wasmPath, "weir_batch", in, outPath)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node extism host: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return decodeOutput(t, b, len(recs))
}

// normalize makes weir's failure messages comparable with the guest's own:
// weir's host fails records that are not JSON before the module sees them
// (the module declared views), with its own wording; plain hosts get the
// module's message. Both must fail the same records.
func sameOutcomes(t *testing.T, name string, want, got []outcome) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d outcomes, want %d", name, len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.status != g.status {
			t.Errorf("%s: record %d: status %s, want %s (%v vs %v)", name, i, g.status, w.status, g, w)
			continue
		}
		if len(w.outputs) != len(g.outputs) {
			t.Errorf("%s: record %d: %d outputs, want %d", name, i, len(g.outputs), len(w.outputs))
			continue
		}
		for j := range w.outputs {
			if w.outputs[j] != g.outputs[j] {
				t.Errorf("%s: record %d output %d differs:\n got %.300s\nwant %.300s", name, i, j, g.outputs[j], w.outputs[j])
			}
		}
	}
}

// TestSameOutputOnEveryHost runs weir SDK modules under weir's fast path,
// weir's plain Extism path, extism go-sdk and the Extism JS host in Node.
func TestSameOutputOnEveryHost(t *testing.T) {
	recs := corpus(t)
	root := hosttest.RepoRoot(t)
	for _, mod := range []string{"modules/passthrough", "modules/cloudtrail-ecs", "modules/passthrough-as", "modules/cloudtrail-ecs-as"} {
		t.Run(filepath.Base(mod), func(t *testing.T) {
			var path string
			if strings.HasSuffix(mod, "-as") {
				// AssemblyScript SDK modules: weir_batch applies their
				// documents in the guest on plain hosts.
				path = hosttest.AssemblyScript(t, filepath.Join(root, mod, filepath.Base(mod)+".ts"), "--runtime", "stub")
			} else {
				path = hosttest.GoModule(t, mod)
			}
			wasm, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fast := underWeir(t, wasm, "fast", recs)
			ok := 0
			for _, o := range fast {
				if o.status == "ok" && len(o.outputs) == 1 {
					ok++
				}
			}
			if ok < len(recs)-2 {
				t.Fatalf("fast path: only %d of %d records gave one output: %v", ok, len(recs), fast)
			}
			sameOutcomes(t, "weir plain (weir_batch)", fast, underWeir(t, wasm, "batch", recs))
			sameOutcomes(t, "extism go-sdk", fast, underGoSDK(t, wasm, recs))
			sameOutcomes(t, "extism js (node)", fast, underNode(t, wasm, recs))
		})
	}
}

// TestOfficialPDKModules runs plugins built with unmodified official PDKs
// in record mode: one call per record, record in, record out.
func TestOfficialPDKModules(t *testing.T) {
	as := hosttest.AssemblyScript(t, "testdata/as-upper/upper.ts")
	wasm, err := os.ReadFile(as)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, host.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	st, err := h.LoadModule(ctx, "as-upper", wasm, engine.StageConfig{Entry: "record", Config: map[string]string{"suffix": "!"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	recs := []engine.Record{{Data: []byte("hello")}, {Data: []byte("fail")}, {Data: nil}, {Data: []byte(`{"é":"x"}`)}}
	for round := 0; round < 2; round++ { // the second round reuses the pooled instance
		res, err := st.Process(ctx, recs)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			status engine.Status
			out    string
		}{
			{engine.StatusOK, "HELLO!"},
			{engine.StatusFailed, ""},
			{engine.StatusDropped, ""},
			{engine.StatusOK, `{"é":"X"}!`},
		}
		for i, w := range want {
			if res[i].Status != w.status {
				t.Fatalf("round %d record %d: status %v (%v), want %v", round, i, res[i].Status, res[i].Err, w.status)
			}
			if w.status == engine.StatusOK && (len(res[i].Outputs) != 1 || string(res[i].Outputs[0].Data) != w.out) {
				t.Fatalf("round %d record %d: outputs %q, want %q", round, i, res[i].Outputs, w.out)
			}
		}
		if res[1].Err == nil || !bytes.Contains([]byte(res[1].Err.Error()), []byte("record says fail")) {
			t.Fatalf("failed record's error = %v, want the plugin's message", res[1].Err)
		}
	}
}

// TestAssemblyScriptSDK runs a module written with weir's AssemblyScript
// SDK on weir's fast path: the same outputs as the Go SDK's passthrough,
// and drop/fail outcomes, proving the frame is language-neutral.
func TestAssemblyScriptSDK(t *testing.T) {
	root := hosttest.RepoRoot(t)
	asWasm, err := os.ReadFile(hosttest.AssemblyScript(t, filepath.Join(root, "modules", "passthrough-as", "passthrough-as.ts"), "--runtime", "stub"))
	if err != nil {
		t.Fatal(err)
	}
	goWasm, err := os.ReadFile(hosttest.GoModule(t, "modules/passthrough"))
	if err != nil {
		t.Fatal(err)
	}
	recs := corpus(t)
	sameOutcomes(t, "assemblyscript vs go", underWeir(t, goWasm, "fast", recs), underWeir(t, asWasm, "fast", recs))
	passthroughEdges(t, asWasm)
}

// passthroughEdges runs the passthrough example module wasm on weir's
// fast path over the records "drop", "fail", "é" and an empty one: it
// must drop the first, fail the second naming record 1 (its index in the
// call: one instance, one call), and prefix the others with "|".
func passthroughEdges(t *testing.T, wasm []byte) {
	t.Helper()
	got := underWeirInstances(t, wasm, "fast", []engine.Record{{Data: []byte("drop")}, {Data: []byte("fail")}, {Data: []byte("é")}, {Data: nil}}, 1)
	want := []outcome{{status: "dropped"}, {status: "failed", msg: "record 1 says fail"}, {status: "ok", outputs: []string{"|é"}}, {status: "ok", outputs: []string{"|"}}}
	for i := range want {
		if got[i].status != want[i].status || fmt.Sprint(got[i].outputs) != fmt.Sprint(want[i].outputs) || got[i].msg != want[i].msg {
			t.Errorf("record %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestCloudTrailECSAssemblyScript runs modules/cloudtrail-ecs-as (views and
// documents through the AssemblyScript SDK) and the Go module it ports on
// weir's fast path: the same outcomes and byte-identical documents on the
// compat corpus, the three full CloudTrail corpora and the edge cases the
// Rust and C ports are checked on.
func TestCloudTrailECSAssemblyScript(t *testing.T) {
	root := hosttest.RepoRoot(t)
	asWasm, err := os.ReadFile(hosttest.AssemblyScript(t, filepath.Join(root, "modules", "cloudtrail-ecs-as", "cloudtrail-ecs-as.ts"), "--runtime", "stub"))
	if err != nil {
		t.Fatal(err)
	}
	goWasm, err := os.ReadFile(hosttest.GoModule(t, "modules/cloudtrail-ecs"))
	if err != nil {
		t.Fatal(err)
	}
	recs := append(cloudTrailCorpora(t), append(hosttest.WidenedRecords(slices.Sorted(maps.Keys(baseline.Categories))), engine.Record{Data: []byte(hosttest.WidenedNonString)})...)
	recs = append(recs, widenedEdges...)
	if len(recs) < 880 {
		t.Fatalf("only %d records", len(recs))
	}
	want := underWeir(t, goWasm, "fast", recs)
	got := underWeir(t, asWasm, "fast", recs)
	sameOutcomes(t, "assemblyscript vs go", want, got)
	ok := 0
	for i := range want {
		if want[i].msg != got[i].msg {
			t.Errorf("record %d: message %q, want %q", i, got[i].msg, want[i].msg)
		}
		if want[i].status == "ok" {
			ok++
		}
	}
	// Every record normalizes but those that are not CloudTrail events:
	// not JSON objects, or objects with neither eventTime nor eventName
	// (8 panther logs have lower-cased keys, and the synthetic records
	// above), which both modules fail alike.
	notCT := 0
	for _, r := range recs {
		var m map[string]json.RawMessage
		if json.Unmarshal(r.Data, &m) != nil || m == nil {
			notCT++
			continue
		}
		_, hasTime := m["eventTime"]
		_, hasName := m["eventName"]
		if !hasTime && !hasName {
			notCT++
		}
	}
	if ok != len(recs)-notCT {
		t.Fatalf("%d of %d records normalized, want all but the %d that are not CloudTrail events", ok, len(recs), notCT)
	}

	// Without FlagHostOps the SDK applies its documents itself: the same
	// bytes as the host applying them.
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.Instantiate(ctx, asWasm); err == nil {
		t.Fatal("the module instantiated without extism:host/env: does it still export weir_batch?")
	}
	rt2 := wazero.NewRuntime(ctx)
	defer rt2.Close(ctx)
	if _, err := rt2.NewHostModuleBuilder("extism:host/env").
		NewFunctionBuilder().WithFunc(func() uint64 { panic("input_length") }).Export("input_length").
		NewFunctionBuilder().WithFunc(func(uint64) uint64 { panic("input_load_u64") }).Export("input_load_u64").
		NewFunctionBuilder().WithFunc(func(uint64) uint32 { panic("input_load_u8") }).Export("input_load_u8").
		NewFunctionBuilder().WithFunc(func(uint64) uint64 { panic("alloc") }).Export("alloc").
		NewFunctionBuilder().WithFunc(func(uint64, uint64) { panic("store_u64") }).Export("store_u64").
		NewFunctionBuilder().WithFunc(func(uint64, uint32) { panic("store_u8") }).Export("store_u8").
		NewFunctionBuilder().WithFunc(func(uint64, uint64) { panic("output_set") }).Export("output_set").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt2.Instantiate(ctx, asWasm)
	if err != nil {
		t.Fatal(err)
	}
	var docs [2][]byte
	for i, flags := range []uint16{0, frame.FlagHostOps} {
		in := frame.NewInput(nil, flags, nil)
		in.AddRecord([]byte(`{"eventName":"X","eventTime":"2024-01-01T00:00:00Z"}`), "", "1", 0, 0, "")
		b := in.Finish()
		res, err := mod.ExportedFunction("weir_alloc").Call(ctx, uint64(len(b)))
		if err != nil || !mod.Memory().Write(uint32(res[0]), b) {
			t.Fatalf("weir_alloc: %v", err)
		}
		res, err = mod.ExportedFunction("weir_transform").Call(ctx, res[0], uint64(len(b)))
		if err != nil {
			t.Fatalf("weir_transform: %v", err)
		}
		out, ok := mod.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
		if !ok || len(out) < 16 {
			t.Fatalf("flags %d: no frame", flags)
		}
		or, err := frame.ReadOutput(out, 1)
		if err != nil {
			t.Fatalf("flags %d: %v", flags, err)
		}
		var rec frame.OutRecord
		if err := or.Next(&rec); err != nil || rec.Status != frame.StatusOK || len(rec.Outputs) != 1 {
			t.Fatalf("flags %d: %v %+v", flags, err, rec)
		}
		o := rec.Outputs[0]
		switch {
		case flags == 0 && o.Kind != frame.OutputRaw:
			t.Fatalf("without FlagHostOps: output kind %d, want raw (applied by the SDK)", o.Kind)
		case flags == 0:
			docs[i] = bytes.Clone(o.Body)
		default:
			if o.Kind != frame.OutputOps {
				t.Fatalf("with FlagHostOps: output kind %d, want ops", o.Kind)
			}
			var a frame.Applier
			if docs[i], err = a.Apply(nil, o.Kind, o.Body, []byte(`{"eventName":"X","eventTime":"2024-01-01T00:00:00Z"}`), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !bytes.Equal(docs[0], docs[1]) || len(docs[0]) < 20 {
		t.Errorf("the SDK's document differs from the host's:\n  sdk: %s\n host: %s", docs[0], docs[1])
	}
}
