package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/abicheck"
)

// CommandSource is the source of the records whose partition key holds
// commands (see the package documentation).
const CommandSource = "weir-conformance"

// Options describes what the SDK under test implements beyond the core
// (reading input frames, raw outputs, drop, fail, documents of kind ops).
type Options struct {
	// Dir is the golden frames folder; empty means sdk/testdata/frames in
	// the repository.
	Dir string
	// Edit: the SDK writes edit outputs (output kind 2).
	Edit bool
	// ApplyOps: given a frame without FlagHostOps, the SDK applies op
	// lists itself and returns raw outputs. Without it, such a frame in
	// which the module writes a document must give an error frame.
	ApplyOps bool
	// RawOps: a module can append raw bytes to an op list (needed for
	// the vectors whose op lists are invalid on purpose).
	RawOps bool
}

// The vector descriptions, shared with sdk/abicheck (weir abi-check).
type (
	// Vector is one golden frame's description in vectors.json.
	Vector = abicheck.Vector
	// Record is an input record's description.
	Record = abicheck.Record
	// View is a view's description.
	View = abicheck.View
	// Outcome is one record's outcome in an output frame.
	Outcome = abicheck.Outcome
	// Output is one output of an outcome.
	Output = abicheck.Output
	// Op is one operation of an op list.
	Op = abicheck.Op
)

// Load reads vectors.json and the frame files of dir ("" = the
// repository's sdk/testdata/frames).
func Load(tb testing.TB, dir string) ([]Vector, map[string][]byte) {
	tb.Helper()
	if dir == "" {
		dir = filepath.Join(hosttest.RepoRoot(tb), "sdk", "testdata", "frames")
	}
	vs, bins, err := abicheck.Load(dir)
	if err != nil {
		tb.Fatalf("conformance: %v", err)
	}
	return vs, bins
}

// Run runs every golden vector through the module wasm (see the package
// documentation), each as a subtest, on one instance.
func Run(t *testing.T, wasm []byte, opts Options) {
	vs, bins := Load(t, opts.Dir)
	m := instantiate(t, wasm)
	declared := m.paths(t)
	for _, v := range vs {
		for _, p := range v.Paths {
			if !contains(declared, p) {
				t.Fatalf("the module does not declare the path %q of %s: declare every path of the input vectors", p, v.Name)
			}
		}
	}
	var notRun []string
	for _, v := range vs {
		switch {
		case v.Kind == "input":
			t.Run("decode/"+v.Name, func(t *testing.T) { checkEcho(t, m, v, bins[v.File], declared) })
		case v.Kind == "corrupt" && v.Decoder == "input":
			t.Run("reject/"+v.Name, func(t *testing.T) {
				_, err := frame.ReadOutput(m.call(t, bins[v.File]), 0)
				var be *frame.BatchError
				if !errors.As(err, &be) {
					t.Fatalf("the module did not answer the corrupt frame with an error frame: %v", err)
				}
				t.Logf("error frame: %s", be.Message)
			})
		case v.Kind == "output":
			cmds, why := commandFrame(v, opts)
			if why != "" {
				notRun = append(notRun, "encode/"+v.Name+" ("+why+")")
			} else {
				t.Run("encode/"+v.Name, func(t *testing.T) {
					if got := m.call(t, cmds); !bytes.Equal(got, bins[v.File]) {
						t.Fatalf("the output frame differs from %s\n got: %x\nwant: %x", v.File, got, bins[v.File])
					}
				})
			}
			if n := countDocs(v); n > 0 {
				t.Run("apply/"+v.Name, func(t *testing.T) {
					skipped := checkApply(t, m, v, opts)
					notRun = append(notRun, skipped...)
				})
			}
		default:
			notRun = append(notRun, v.Kind+"/"+v.Name+" (a host-side frame: SDKs do not write it on demand or decode it)")
		}
	}
	// The module still works after the corrupt frames and documents.
	for _, v := range vs {
		if v.Name == "input-two-records" {
			t.Run("decode-again/"+v.Name, func(t *testing.T) { checkEcho(t, m, v, bins[v.File], declared) })
		}
	}
	for _, s := range notRun {
		t.Logf("not run for this SDK: %s", s)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var viewTypes = map[string]byte{"missing": 0, "string": 1, "number": 2, "true": 3, "false": 4, "null": 5, "object": 6, "array": 7}

// echoed is one output of the echo: its route and body.
type echoed struct {
	route string
	body  []byte
}

func (e echoed) String() string {
	if len(e.body) > 256 {
		sum := sha256.Sum256(e.body)
		return fmt.Sprintf("%s: %d bytes, sha256 %x", e.route, len(e.body), sum)
	}
	return fmt.Sprintf("%s: %q", e.route, e.body)
}

// checkEcho feeds an input vector's file and compares the echo.
func checkEcho(t *testing.T, m *module, v Vector, bin []byte, declared []string) {
	out := m.call(t, bin)
	or, err := frame.ReadOutput(out, len(v.Records))
	if err != nil {
		t.Fatalf("output frame: %v", err)
	}
	var rec frame.OutRecord
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			t.Fatalf("output frame: %v", err)
		}
		if rec.Status != frame.StatusOK {
			t.Fatalf("record %d: status %d (%s), want ok", i, rec.Status, rec.Message)
		}
		var got []echoed
		for _, o := range rec.Outputs {
			if o.Kind != frame.OutputRaw {
				t.Fatalf("record %d: output kind %d, want raw", i, o.Kind)
			}
			route := string(o.Route)
			// Views of paths the frame does not carry are the SDK's
			// business (missing, or parsed in the guest).
			if p, ok := strings.CutPrefix(route, "view:"); ok && !contains(v.Paths, p) {
				continue
			}
			got = append(got, echoed{route, bytes.Clone(o.Body)})
		}
		want := echo(v, i)
		if r := v.Records[i]; r.Data == nil && len(got) > 0 && got[0].route == "data" {
			// Too big to spell out: the vector gives its length and
			// digest.
			sum := sha256.Sum256(got[0].body)
			if len(got[0].body) != r.DataLen || hex.EncodeToString(sum[:]) != r.DataSHA256 {
				t.Errorf("record %d: data of %d bytes, sha256 %x; want %d bytes, sha256 %s", i, len(got[0].body), sum, r.DataLen, r.DataSHA256)
			}
			got[0].body = nil
		}
		if len(got) != len(want) {
			t.Fatalf("record %d: %d outputs, want %d\n got: %v\nwant: %v", i, len(got), len(want), got, want)
		}
		for k := range want {
			if got[k].route != want[k].route || !bytes.Equal(got[k].body, want[k].body) {
				t.Errorf("record %d: got %v, want %v", i, got[k], want[k])
			}
		}
	}
}

// echo is what the module must echo for record i of an input vector (a
// nil data for a record too big to spell out).
func echo(v Vector, i int) []echoed {
	var data []byte
	if d := v.Records[i].Data; d != nil {
		data = []byte(*d)
	}
	return append([]echoed{{"data", data}}, echoMeta(v, i)...)
}

func echoMeta(v Vector, i int) []echoed {
	r := v.Records[i]
	out := []echoed{
		{"partition_key", []byte(r.PartitionKey)},
		{"sequence_number", []byte(r.SequenceNumber)},
		{"sub_sequence", strconv.AppendUint(nil, r.SubSequence, 10)},
		{"arrival_unix_nano", strconv.AppendInt(nil, r.ArrivalUnixNano, 10)},
		{"source", []byte(r.Source)},
	}
	for k, p := range v.Paths {
		vw := r.Views[k]
		body := []byte{viewTypes[vw.Type]}
		out = append(out, echoed{"view:" + p, append(body, vw.Value...)})
	}
	return out
}

// putBytes appends a u32 length and b.
func putBytes(dst []byte, b []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

var algos = map[string]byte{"sha256": frame.DigestSHA256, "md5": frame.DigestMD5, "sha1": frame.DigestSHA1}

// docCommands encodes one ops or edit output as commands, or says why
// the SDK cannot write it.
func docCommands(dst []byte, o Output, opts Options) ([]byte, string) {
	switch o.Kind {
	case "ops":
		dst = append(dst, 'O')
	case "edit":
		if !opts.Edit {
			return nil, "needs edit outputs"
		}
		dst = append(dst, 'E')
	default:
		return nil, "unknown output kind " + o.Kind
	}
	dst = putBytes(dst, []byte(o.Route))
	for _, op := range o.Ops {
		path := []byte(op.Path)
		switch op.Op {
		case "set_json":
			dst = putBytes(putBytes(append(dst, frame.OpSetJSON), path), []byte(op.Value))
		case "set_string":
			dst = putBytes(putBytes(append(dst, frame.OpSetString), path), []byte(op.Value))
		case "copy":
			dst = putBytes(putBytes(append(dst, frame.OpCopy), path), []byte(op.Src))
		case "set_original":
			dst = putBytes(append(dst, frame.OpSetOriginal), path)
		case "set_digest":
			a, ok := algos[op.Algo]
			if !ok {
				return nil, "unknown digest " + op.Algo
			}
			dst = append(putBytes(append(dst, frame.OpSetDigest), path), a)
		case "delete":
			dst = putBytes(append(dst, frame.OpDelete), path)
		case "set_int":
			if op.Int == nil {
				return nil, "set_int without int"
			}
			dst = binary.LittleEndian.AppendUint64(putBytes(append(dst, frame.OpSetInt), path), uint64(*op.Int))
		case "copy_string":
			dst = putBytes(putBytes(append(dst, frame.OpCopyString), path), []byte(op.Src))
		case "raw":
			if !opts.RawOps {
				return nil, "needs raw op bytes"
			}
			b, err := hex.DecodeString(op.Hex)
			if err != nil {
				return nil, "bad hex: " + err.Error()
			}
			dst = putBytes(append(dst, 'X'), b)
		default:
			return nil, "unknown op " + op.Op
		}
	}
	return append(dst, 'Z'), ""
}

// commandFrame is the input frame (FlagHostOps, one record per outcome)
// whose commands make the module write v's output frame.
func commandFrame(v Vector, opts Options) ([]byte, string) {
	w := frame.NewInput(nil, frame.FlagHostOps, nil)
	for i, o := range v.Outcomes {
		var cmds []byte
		for _, out := range o.Outputs {
			if out.Kind == "raw" {
				body := ""
				if out.Body != nil {
					body = *out.Body
				}
				cmds = putBytes(putBytes(append(cmds, 'R'), []byte(out.Route)), []byte(body))
				continue
			}
			var why string
			if cmds, why = docCommands(cmds, out, opts); why != "" {
				return nil, why
			}
		}
		switch o.Status {
		case "dropped":
			cmds = append(cmds, 'D')
		case "failed":
			cmds = putBytes(append(cmds, 'F'), []byte(o.Message))
		}
		w.AddRecord([]byte("{}"), string(cmds), strconv.Itoa(i), 0, 0, CommandSource)
	}
	return w.Finish(), ""
}

func countDocs(v Vector) int {
	n := 0
	for _, o := range v.Outcomes {
		for _, out := range o.Outputs {
			if out.Kind != "raw" {
				n++
			}
		}
	}
	return n
}

// checkApply runs every op list of v on its input in a frame without
// FlagHostOps, one record each, and returns what it could not run.
func checkApply(t *testing.T, m *module, v Vector, opts Options) (notRun []string) {
	w := frame.NewInput(nil, 0, nil)
	var want []Output
	for _, o := range v.Outcomes {
		for _, out := range o.Outputs {
			if out.Kind == "raw" {
				continue
			}
			cmds, why := docCommands(nil, out, opts)
			if why != "" {
				notRun = append(notRun, fmt.Sprintf("apply/%s: an op list (%s)", v.Name, why))
				continue
			}
			w.AddRecord([]byte(out.Input), string(cmds), strconv.Itoa(len(want)), 0, 0, CommandSource)
			want = append(want, out)
		}
	}
	if len(want) == 0 {
		return notRun
	}
	got := m.call(t, w.Finish())
	or, err := frame.ReadOutput(got, len(want))
	if !opts.ApplyOps {
		var be *frame.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("an SDK that does not apply op lists must answer a frame without FlagHostOps in which the module writes documents with an error frame; got %v", err)
		}
		notRun = append(notRun, fmt.Sprintf("apply/%s: the SDK does not apply op lists (error frame: %s)", v.Name, be.Message))
		return notRun
	}
	if err != nil {
		t.Fatalf("output frame: %v", err)
	}
	var rec frame.OutRecord
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			t.Fatalf("output frame: %v", err)
		}
		w := want[i]
		if w.ApplyError != "" {
			if rec.Status != frame.StatusFailed {
				t.Errorf("op list %d: status %d, want failed (%s)", i, rec.Status, w.ApplyError)
			} else {
				t.Logf("op list %d failed as it must: %s", i, rec.Message)
			}
			continue
		}
		if rec.Status != frame.StatusOK || len(rec.Outputs) != 1 {
			t.Errorf("op list %d: status %d (%s), %d outputs; want ok with one output", i, rec.Status, rec.Message, len(rec.Outputs))
			continue
		}
		o := rec.Outputs[0]
		if o.Kind != frame.OutputRaw || string(o.Route) != w.Route || string(o.Body) != w.Applied {
			t.Errorf("op list %d: kind %d route %q\n got: %s\nwant: %s", i, o.Kind, o.Route, o.Body, w.Applied)
		}
	}
	return notRun
}

// module is the module under test, instantiated by sdk/abicheck on
// wazero with WASI and stubs that trap for any extism:host/env import (the
// fast path must not call them).
type module struct {
	*abicheck.Module
}

func instantiate(t *testing.T, wasm []byte) *module {
	t.Helper()
	ctx := context.Background()
	m, err := abicheck.Instantiate(ctx, wasm, true)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	t.Cleanup(func() { _ = m.Close(ctx) })
	return &module{m}
}

// call runs one frame through weir_alloc and weir_transform.
func (m *module) call(t *testing.T, f []byte) []byte {
	t.Helper()
	out, err := m.Call(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// paths returns the paths the module's manifest declares.
func (m *module) paths(t *testing.T) []string {
	t.Helper()
	man, err := m.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return man.Paths
}
