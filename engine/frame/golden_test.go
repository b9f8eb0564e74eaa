package frame

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The golden vectors of sdk/testdata/frames: every SDK, in any language, is
// tested against these bytes (sdk/conformance runs them through a built
// module). The documents op lists produce are written by hand below. `go test ./engine/frame -run TestGolden
// -update` writes them (the .bin files and vectors.json); without -update
// the test checks that the encoder reproduces every file byte for byte,
// that vectors.json is what the vectors below describe, and that the
// decoder reads each file back to its description.

var update = flag.Bool("update", false, "rewrite the golden frame vectors in sdk/testdata/frames")

const goldenDir = "../../sdk/testdata/frames"

// vector describes one golden frame. The JSON form is documented in
// sdk/testdata/frames/README.md.
type vector struct {
	Name        string `json:"name"`
	File        string `json:"file"`
	Kind        string `json:"kind"` // input, output, error, corrupt
	Description string `json:"description"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`

	// input
	Flags   *uint16     `json:"flags,omitempty"`
	Paths   []string    `json:"paths,omitempty"`
	Records []vecRecord `json:"records,omitempty"`
	// output
	Outcomes []vecOutcome `json:"outcomes,omitempty"`
	// error
	Message string `json:"message,omitempty"`
	// corrupt: which decoder rejects it, where, and with what (the Go
	// decoder's message contains Error; offsets are informative)
	Decoder string `json:"decoder,omitempty"` // "input" or "output"
	Want    *int   `json:"want,omitempty"`    // output decoder: the expected record count
	Error   string `json:"error,omitempty"`
	Offset  *int   `json:"offset,omitempty"`

	build func() []byte // corrupt vectors: the bytes
}

type vecRecord struct {
	Data            *string   `json:"data,omitempty"`
	DataLen         int       `json:"data_len,omitempty"`
	DataSHA256      string    `json:"data_sha256,omitempty"`
	PartitionKey    string    `json:"partition_key"`
	SequenceNumber  string    `json:"sequence_number"`
	SubSequence     uint64    `json:"sub_sequence"`
	ArrivalUnixNano int64     `json:"arrival_unix_nano"`
	Source          string    `json:"source"`
	Views           []vecView `json:"views,omitempty"`

	data []byte // when Data is too big for the JSON file
}

type vecView struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type vecOutcome struct {
	Status  string      `json:"status"` // ok, dropped, failed
	Message string      `json:"message,omitempty"`
	Outputs []vecOutput `json:"outputs,omitempty"`
}

type vecOutput struct {
	Kind  string  `json:"kind"` // raw, ops, edit
	Route string  `json:"route"`
	Body  *string `json:"body,omitempty"`
	Ops   []vecOp `json:"ops,omitempty"`
	// Ops applied to Input give Applied, or fail with ApplyError.
	Input      string `json:"input,omitempty"`
	Applied    string `json:"applied,omitempty"`
	ApplyError string `json:"apply_error,omitempty"`
}

// vecOp is one document operation: op is set_json, set_string, copy,
// set_original, set_digest, delete, set_int, copy_string or raw (bytes
// given in hex, for invalid lists).
type vecOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value string `json:"value,omitempty"` // set_json, set_string
	Src   string `json:"src,omitempty"`   // copy, copy_string
	Int   *int64 `json:"int,omitempty"`   // set_int
	Algo  string `json:"algo,omitempty"`  // set_digest: sha256, md5, sha1
	Hex   string `json:"hex,omitempty"`   // raw
}

func str(s string) *string { return &s }
func u16(v uint16) *uint16 { return &v }
func intp(v int) *int      { return &v }
func i64(v int64) *int64   { return &v }

var typeNames = map[string]ValueType{}

func init() {
	for t := Missing; t <= Array; t++ {
		typeNames[t.String()] = t
	}
}

var kindNames = []string{OutputRaw: "raw", OutputOps: "ops", OutputEdit: "edit"}
var statusNames = []string{StatusOK: "ok", StatusDropped: "dropped", StatusFailed: "failed"}
var algoNames = map[string]byte{"sha256": DigestSHA256, "md5": DigestMD5, "sha1": DigestSHA1}

// bigRecord is the 1 MiB record: a JSON object holding one long string.
func bigRecord() []byte {
	const size = 1 << 20
	b := make([]byte, 0, size)
	b = append(b, `{"blob":"`...)
	for i := 0; len(b) < size-2; i++ {
		b = append(b, "0123456789abcdefghijklmnopqrstuvwxyz"[i%36])
	}
	return append(b, `"}`...)
}

const refRecord = `{"eventTime":"2023-05-16T21:47:25Z","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","userIdentity":{"principalId":"AROA:anonymous@example.com"},"tags":["a","b"],"n":1.5e3,"dot.key":true}`

func goldenVectors() []*vector {
	allTypes := `{"s":"é\"x","n":-1.5e3,"t":true,"f":false,"z":null,"o":{"k":[1,"x"]},"a":[1,{"b":2}]}`
	vs := []*vector{
		{Name: "input-empty", Kind: "input", Description: "an empty batch: no flags, no paths, no records", Flags: u16(0)},
		{Name: "input-empty-views", Kind: "input", Description: "an empty batch that still declares its paths (FlagViews|FlagHostOps)",
			Flags: u16(FlagViews | FlagHostOps), Paths: []string{"eventTime", "userIdentity.principalId"}},
		{Name: "input-two-records", Kind: "input", Description: "two records with and without metadata (FlagHostOps)", Flags: u16(FlagHostOps),
			Records: []vecRecord{
				{Data: str(refRecord), PartitionKey: "a1b2c3", SequenceNumber: "49590338271490256608559692538361571095921575989136588898",
					SubSequence: 2, ArrivalUnixNano: 1684273645123456789, Source: "arn:aws:kinesis:us-east-1:123456789012:stream/cloudtrail"},
				{Data: str(`{"eventName":"GetObject"}`)},
			}},
		{Name: "input-views", Kind: "input", Description: "views of every value type, one path per type plus an array index, a path with an escaped dot, and a missing path; a second record where every path is missing",
			Flags: u16(FlagViews | FlagHostOps), Paths: []string{"s", "n", "t", "f", "z", "o", "a", "o.k.1", `dot\.key`, "missing"},
			Records: []vecRecord{
				{Data: str(allTypes), SequenceNumber: "1", Views: []vecView{
					{"string", "é\"x"}, {"number", "-1.5e3"}, {"true", ""}, {"false", ""}, {"null", ""},
					{"object", `{"k":[1,"x"]}`}, {"array", `[1,{"b":2}]`}, {"string", "x"}, {"missing", ""}, {"missing", ""}}},
				{Data: str(`{}`), SequenceNumber: "2", Views: []vecView{
					{"missing", ""}, {"missing", ""}, {"missing", ""}, {"missing", ""}, {"missing", ""},
					{"missing", ""}, {"missing", ""}, {"missing", ""}, {"missing", ""}, {"missing", ""}}},
			}},
		{Name: "input-1mb-record", Kind: "input", Description: `one record of 1 MiB: {"blob":"0123...xyz0123..."} (the 36 characters 0-9a-z repeated), given by length and SHA-256`,
			Flags: u16(0), Records: []vecRecord{{data: bigRecord(), SequenceNumber: "big"}}},

		{Name: "output-empty", Kind: "output", Description: "the result of an empty batch"},
		{Name: "output-ok-0", Kind: "output", Description: "one record transformed into nothing (ok, 0 outputs)", Outcomes: []vecOutcome{{Status: "ok"}}},
		{Name: "output-ok-1", Kind: "output", Description: "one record, one raw output to the default route",
			Outcomes: []vecOutcome{{Status: "ok", Outputs: []vecOutput{{Kind: "raw", Body: str(`{"a":1}`)}}}}},
		{Name: "output-ok-2-routes", Kind: "output", Description: "one record, two raw outputs: one to the route \"alerts\", one to the default route; the second body is empty",
			Outcomes: []vecOutcome{{Status: "ok", Outputs: []vecOutput{{Kind: "raw", Route: "alerts", Body: str("alert!")}, {Kind: "raw", Body: str("")}}}}},
		{Name: "output-dropped", Kind: "output", Description: "one record dropped", Outcomes: []vecOutcome{{Status: "dropped"}}},
		{Name: "output-failed", Kind: "output", Description: "one record failed with a message",
			Outcomes: []vecOutcome{{Status: "failed", Message: "cloudtrail-ecs: the record is not a JSON object"}}},
		{Name: "output-mixed", Kind: "output", Description: "five records: ok with a raw output, dropped, failed (empty message), ok with an op list and an edit, ok with nothing",
			Outcomes: []vecOutcome{
				{Status: "ok", Outputs: []vecOutput{{Kind: "raw", Body: str("first")}}},
				{Status: "dropped"},
				{Status: "failed"},
				{Status: "ok", Outputs: []vecOutput{
					{Kind: "ops", Route: "ecs", Input: refRecord, Applied: `{"@timestamp":"2023-05-16T21:47:25Z","cloud":{"provider":"aws"}}`,
						Ops: []vecOp{{Op: "copy", Path: "@timestamp", Src: "eventTime"}, {Op: "set_string", Path: "cloud.provider", Value: "aws"}}},
					{Kind: "edit", Route: "raw", Input: `{"a":1,"secret":"pw"}`, Applied: `{"a":1}`, Ops: []vecOp{{Op: "delete", Path: "secret"}}},
				}},
				{Status: "ok"},
			}},
		{Name: "output-ops-every-op", Kind: "output", Description: "an op list using every op code, applied to a record",
			Outcomes: []vecOutcome{{Status: "ok", Outputs: []vecOutput{{Kind: "ops", Input: refRecord,
				Ops: []vecOp{
					{Op: "copy_string", Path: "@timestamp", Src: "eventTime"},
					{Op: "copy_string", Path: "event.missing", Src: "n"},
					{Op: "copy", Path: "event.number", Src: "n"},
					{Op: "copy", Path: "event.tag", Src: "tags.1"},
					{Op: "copy", Path: "event.dot", Src: `dot\.key`},
					{Op: "set_string", Path: "event.outcome", Value: "é\"\n"},
					{Op: "set_json", Path: "source.as", Value: `{"number": 7922, "organization": {"name": "Comcast"}}`},
					{Op: "set_int", Path: "event.sequence", Int: i64(-42)},
					{Op: "set_original", Path: "event.original"},
					{Op: "set_digest", Path: "event.hash", Algo: "sha256"},
					{Op: "set_digest", Path: "hash.md5", Algo: "md5"},
					{Op: "set_digest", Path: "hash.sha1", Algo: "sha1"},
					{Op: "set_string", Path: `labels.a\.b`, Value: "dotted key"},
					{Op: "set_string", Path: "gone", Value: "x"},
					{Op: "delete", Path: "gone"},
				},
				// Written by hand; the digests of refRecord from Python's
				// hashlib, not from this package.
				Applied: `{"@timestamp":"2023-05-16T21:47:25Z",` +
					`"event":{"number":1.5e3,"tag":"b","dot":true,"outcome":"é\"\n","sequence":-42,` +
					`"original":"{\"eventTime\":\"2023-05-16T21:47:25Z\",\"eventName\":\"ConsoleLogin\",\"awsRegion\":\"us-east-1\",` +
					`\"sourceIPAddress\":\"192.0.2.0\",\"userIdentity\":{\"principalId\":\"AROA:anonymous@example.com\"},` +
					`\"tags\":[\"a\",\"b\"],\"n\":1.5e3,\"dot.key\":true}",` +
					`"hash":"e9620f6938aaa122dfdcc55375cbd153adc563eaa76e6c503920d858bb753050"},` +
					`"source":{"as":{"number":7922,"organization":{"name":"Comcast"}}},` +
					`"hash":{"md5":"8c3754b048440132fa5f8f65154dc597","sha1":"26a8adad1b29656327a86f69d8b9006fbb67ff8c"},` +
					`"labels":{"a.b":"dotted key"}}`,
			}}}}},
		{Name: "output-edit", Kind: "output", Description: "an edit: the input document with fields deleted, replaced and added (existing keys keep their place)",
			Outcomes: []vecOutcome{{Status: "ok", Outputs: []vecOutput{{Kind: "edit", Input: refRecord, Ops: []vecOp{
				{Op: "delete", Path: "userIdentity"},
				{Op: "set_string", Path: "awsRegion", Value: "eu-west-1"},
				{Op: "set_int", Path: "added.n", Int: i64(1)},
			},
				// Written by hand: userIdentity gone, awsRegion replaced in
				// place, added.n last; the rest as written (1.5e3 too).
				Applied: `{"eventTime":"2023-05-16T21:47:25Z","eventName":"ConsoleLogin","awsRegion":"eu-west-1",` +
					`"sourceIPAddress":"192.0.2.0","tags":["a","b"],"n":1.5e3,"dot.key":true,"added":{"n":1}}`,
			}}}}},
		{Name: "output-ops-invalid", Kind: "output", Description: "well-formed frames whose op lists the applier rejects: an unknown op code, a truncated op, and a set_json value that is not JSON",
			Outcomes: []vecOutcome{
				{Status: "ok", Outputs: []vecOutput{{Kind: "ops", Input: "{}", ApplyError: "unknown op 99", Ops: []vecOp{{Op: "raw", Hex: "630100000061"}}}}},
				{Status: "ok", Outputs: []vecOutput{{Kind: "ops", Input: "{}", ApplyError: "string value length 5 runs past", Ops: []vecOp{{Op: "raw", Hex: "0201000000610500000061"}}}}},
				{Status: "ok", Outputs: []vecOutput{{Kind: "ops", Input: "{}", ApplyError: "invalid JSON value", Ops: []vecOp{{Op: "set_json", Path: "x", Value: "{"}}}}},
			}},
		{Name: "error", Kind: "error", Description: "a batch-level failure (error frame)", Message: "module exploded: é"},
	}

	// Corrupt frames, built from valid ones.
	two := func() []byte { return encodeVector(vs[2]) }
	views := func() []byte { return encodeVector(vs[3]) }
	mixed := func() []byte { return encodeVector(vs[11]) }
	patch := func(b []byte, off int, v ...byte) []byte { b = bytes.Clone(b); copy(b[off:], v); return b }
	corrupt := []*vector{
		{Name: "corrupt-truncated-header", Decoder: "input", Description: "the first 10 bytes of a frame", build: func() []byte { return two()[:10] },
			Error: "shorter than its 16-byte header", Offset: intp(0)},
		{Name: "corrupt-truncated-record", Decoder: "input", Description: "input-two-records cut in the middle of the first record's data",
			build: func() []byte { return two()[:100] }, Error: "record data length 219 runs past the end of the frame", Offset: intp(20)},
		{Name: "corrupt-lying-data-length", Decoder: "input", Description: "input-two-records whose second record claims 65536 bytes of data",
			build: func() []byte { b := two(); return patch(b, recordOffset(b, 1)+4, 0, 0, 1, 0) }, Error: "record data length 65536 runs past", Offset: intp(0)},
		{Name: "corrupt-lying-count", Decoder: "input", Description: "input-two-records whose header claims 1000 records",
			build: func() []byte { return patch(two(), 8, 0xe8, 0x03, 0, 0) }, Error: "record count 1000 cannot fit", Offset: intp(8)},
		{Name: "corrupt-bad-magic", Decoder: "input", Description: `input-two-records starting with "WIER"`,
			build: func() []byte { return patch(two(), 0, 'W', 'I', 'E', 'R') }, Error: "bad magic", Offset: intp(0)},
		{Name: "corrupt-wrong-version", Decoder: "input", Description: "input-two-records claiming frame version 2",
			build: func() []byte { return patch(two(), 5, 2) }, Error: "unsupported frame version 2", Offset: intp(5)},
		{Name: "corrupt-trailing-bytes", Decoder: "input", Description: "input-two-records followed by one extra byte",
			build: func() []byte { return append(two(), 0) }, Error: "1 trailing bytes after the last record", Offset: intp(0)},
		{Name: "corrupt-trailing-after-empty", Decoder: "input", Description: "input-empty followed by two extra bytes",
			build: func() []byte { return append(encodeVector(vs[0]), 0, 0) }, Error: "2 trailing bytes after an empty batch", Offset: intp(16)},
		{Name: "corrupt-unknown-view-type", Decoder: "input", Description: "input-views whose first view has type 8",
			build: func() []byte { b := views(); return patch(b, viewOffset(b), 8) }, Error: "unknown view type 8", Offset: intp(0)},
		{Name: "corrupt-null-view-with-bytes", Decoder: "input", Description: "input-views whose first view (a 4-byte string) is typed null",
			build: func() []byte { b := views(); return patch(b, viewOffset(b), byte(Null)) }, Error: "a null view carries 4 value bytes, want 0", Offset: intp(0)},
		{Name: "corrupt-wrong-type", Decoder: "input", Description: "an output frame given to the input decoder",
			build: func() []byte { return mixed() }, Error: "frame type 2, want 1 (input)", Offset: intp(4)},
		{Name: "corrupt-output-count-mismatch", Decoder: "output", Want: intp(4), Description: "output-mixed (5 outcomes) read for a batch of 4 records",
			build: func() []byte { return mixed() }, Error: "the module returned 5 outcomes for 4 records", Offset: intp(8)},
		{Name: "corrupt-output-unknown-status", Decoder: "output", Want: intp(5), Description: "output-mixed whose second outcome has status 3",
			build: func() []byte { return patch(mixed(), 16+1+4+1+4+4+5, 3) }, Error: "unknown status 3", Offset: intp(35)},
		{Name: "corrupt-output-unknown-kind", Decoder: "output", Want: intp(5), Description: "output-mixed whose first output has kind 3",
			build: func() []byte { return patch(mixed(), 21, 3) }, Error: "unknown output kind 3", Offset: intp(21)},
		{Name: "corrupt-output-lying-route", Decoder: "output", Want: intp(5), Description: "output-mixed whose first output's route claims 200 bytes",
			build: func() []byte { return patch(mixed(), 22, 200) }, Error: "route length 200 runs past", Offset: intp(22)},
		{Name: "corrupt-output-trailing-bytes", Decoder: "output", Want: intp(5), Description: "output-mixed followed by one extra byte",
			build: func() []byte { return append(mixed(), 0) }, Error: "1 trailing bytes after the last outcome", Offset: intp(0)},
		{Name: "corrupt-error-trailing-bytes", Decoder: "output", Want: intp(1), Description: "an error frame followed by one extra byte",
			build: func() []byte { return append(AppendError(nil, "x"), 0) }, Error: "1 trailing bytes after the error message", Offset: intp(21)},
	}
	for _, v := range corrupt {
		v.Kind = "corrupt"
	}
	vs = append(vs, corrupt...)
	for _, v := range vs {
		v.File = v.Name + ".bin"
	}
	return vs
}

// recordOffset is the offset where record n of an input frame starts.
func recordOffset(b []byte, n int) int {
	ir, err := ReadInput(b)
	if err != nil {
		panic(err)
	}
	var r InRecord
	for range n {
		if err := ir.Next(&r); err != nil {
			panic(err)
		}
	}
	return ir.r.off
}

// viewOffset is the offset of the first view of input-views's first record.
func viewOffset(b []byte) int {
	ir, err := ReadInput(b)
	if err != nil {
		panic(err)
	}
	var r InRecord
	if err := ir.Next(&r); err != nil {
		panic(err)
	}
	for _, v := range r.Views {
		ir.r.off -= 5 + len(v.Raw)
	}
	return ir.r.off
}

// encodeVector builds a vector's bytes from its description.
func encodeVector(v *vector) []byte {
	switch v.Kind {
	case "input":
		w := NewInput(nil, *v.Flags, v.Paths)
		for _, r := range v.Records {
			data := r.data
			if r.Data != nil {
				data = []byte(*r.Data)
			}
			w.AddRecord(data, r.PartitionKey, r.SequenceNumber, r.SubSequence, r.ArrivalUnixNano, r.Source)
			for _, vw := range r.Views {
				w.AddView(typeNames[vw.Type], []byte(vw.Value))
			}
		}
		return w.Finish()
	case "output":
		w := NewOutput(nil)
		for _, o := range v.Outcomes {
			switch o.Status {
			case "ok":
				w.OK()
				for _, x := range o.Outputs {
					switch x.Kind {
					case "raw":
						w.Output(OutputRaw, x.Route, []byte(*x.Body))
					case "ops":
						w.Output(OutputOps, x.Route, encodeOps(x.Ops))
					case "edit":
						w.Output(OutputEdit, x.Route, encodeOps(x.Ops))
					}
				}
			case "dropped":
				w.Dropped()
			case "failed":
				w.Failed(o.Message)
			}
		}
		return w.Finish()
	case "error":
		return AppendError(nil, v.Message)
	case "corrupt":
		return v.build()
	}
	panic("unknown vector kind " + v.Kind)
}

func encodeOps(ops []vecOp) []byte {
	var o Ops
	for _, op := range ops {
		switch op.Op {
		case "set_json":
			o.SetJSON(op.Path, []byte(op.Value))
		case "set_string":
			o.SetString(op.Path, op.Value)
		case "copy":
			o.Copy(op.Path, op.Src)
		case "copy_string":
			o.CopyString(op.Path, op.Src)
		case "set_original":
			o.SetOriginal(op.Path)
		case "set_digest":
			o.SetDigest(op.Path, algoNames[op.Algo])
		case "delete":
			o.Delete(op.Path)
		case "set_int":
			o.SetInt(op.Path, *op.Int)
		case "raw":
			b, err := hex.DecodeString(op.Hex)
			if err != nil {
				panic(err)
			}
			o.B = append(o.B, b...)
		default:
			panic("unknown op " + op.Op)
		}
	}
	return o.B
}

// decodeOps turns a well-formed op list back into its description (nil,
// false when it is not well formed).
func decodeOps(b []byte) ([]vecOp, bool) {
	var ops []vecOp
	r := reader{b: b}
	for r.off < len(b) && r.err == nil {
		code := r.u8("op")
		op := vecOp{Path: string(r.bytes("path"))}
		switch code {
		case OpSetJSON:
			op.Op, op.Value = "set_json", string(r.bytes("value"))
		case OpSetString:
			op.Op, op.Value = "set_string", string(r.bytes("value"))
		case OpCopy:
			op.Op, op.Src = "copy", string(r.bytes("src"))
		case OpCopyString:
			op.Op, op.Src = "copy_string", string(r.bytes("src"))
		case OpSetOriginal:
			op.Op = "set_original"
		case OpSetDigest:
			op.Op = "set_digest"
			algo := r.u8("algo")
			for name, a := range algoNames {
				if a == algo {
					op.Algo = name
				}
			}
		case OpDelete:
			op.Op = "delete"
		case OpSetInt:
			op.Op, op.Int = "set_int", i64(int64(r.u64("int")))
		default:
			return nil, false
		}
		ops = append(ops, op)
	}
	return ops, r.err == nil
}

// decodeVector reads a valid frame back into a description.
func decodeVector(v *vector, b []byte) (*vector, error) {
	got := &vector{Name: v.Name, File: v.File, Kind: v.Kind, Description: v.Description, Size: len(b)}
	sum := sha256.Sum256(b)
	got.SHA256 = hex.EncodeToString(sum[:])
	switch v.Kind {
	case "input":
		ir, err := ReadInput(b)
		if err != nil {
			return nil, err
		}
		got.Flags = u16(ir.Flags)
		for _, p := range ir.Paths {
			got.Paths = append(got.Paths, string(p))
		}
		var r InRecord
		for ir.More() {
			if err := ir.Next(&r); err != nil {
				return nil, err
			}
			x := vecRecord{PartitionKey: string(r.PartitionKey), SequenceNumber: string(r.SequenceNumber),
				SubSequence: r.SubSequence, ArrivalUnixNano: r.ArrivalUnixNano, Source: string(r.Source)}
			describeData(&x, r.Data)
			for _, vw := range r.Views {
				x.Views = append(x.Views, vecView{Type: vw.Type.String(), Value: string(vw.Raw)})
			}
			got.Records = append(got.Records, x)
		}
	case "output":
		or, err := ReadOutput(b, len(v.Outcomes))
		if err != nil {
			return nil, err
		}
		var a Applier
		var r OutRecord
		for or.More() {
			if err := or.Next(&r); err != nil {
				return nil, err
			}
			o := vecOutcome{Status: statusNames[r.Status], Message: string(r.Message)}
			for i, x := range r.Outputs {
				out := vecOutput{Kind: kindNames[x.Kind], Route: string(x.Route)}
				if x.Kind == OutputRaw {
					out.Body = str(string(x.Body))
				} else {
					want := v.Outcomes[len(got.Outcomes)].Outputs[i]
					out.Input = want.Input
					if ops, ok := decodeOps(x.Body); ok {
						out.Ops = ops
					} else {
						out.Ops = []vecOp{{Op: "raw", Hex: hex.EncodeToString(x.Body)}}
					}
					doc, err := a.Apply(nil, x.Kind, x.Body, []byte(out.Input), nil)
					if err != nil {
						out.ApplyError = want.ApplyError
						if !strings.Contains(err.Error(), want.ApplyError) {
							out.ApplyError = err.Error()
						}
					} else {
						out.Applied = string(doc)
					}
				}
				o.Outputs = append(o.Outputs, out)
			}
			got.Outcomes = append(got.Outcomes, o)
		}
	case "error":
		_, err := ReadOutput(b, 0)
		var be *BatchError
		if !errors.As(err, &be) {
			return nil, fmt.Errorf("not an error frame: %v", err)
		}
		got.Message = be.Message
	}
	return got, nil
}

// describeData puts record bytes in a description: as text when short and
// valid, else by length and SHA-256.
func describeData(x *vecRecord, data []byte) {
	if len(data) <= 4096 {
		x.Data = str(string(data))
		return
	}
	sum := sha256.Sum256(data)
	x.DataLen, x.DataSHA256 = len(data), hex.EncodeToString(sum[:])
}

// finish fills in the fields computed from the bytes: size, digest, and
// big records' length and digest. It does not compute the documents op
// lists produce: every ops and edit output's Applied (or ApplyError) is
// written by hand in goldenVectors, and TestGolden checks Applier.Apply
// against it, so the vectors are an oracle independent of the applier.
func finish(v *vector, b []byte) {
	v.Size = len(b)
	sum := sha256.Sum256(b)
	v.SHA256 = hex.EncodeToString(sum[:])
	for i := range v.Records {
		if r := &v.Records[i]; r.data != nil {
			describeData(r, r.data)
		}
	}
	for i := range v.Outcomes {
		for _, out := range v.Outcomes[i].Outputs {
			if out.Kind != "raw" && out.Applied == "" && out.ApplyError == "" {
				panic(fmt.Sprintf("%s: an %s output without a hand-written applied document or apply_error", v.Name, out.Kind))
			}
		}
	}
}

type vectorFile struct {
	Comment string    `json:"comment"`
	Vectors []*vector `json:"vectors"`
}

func TestGolden(t *testing.T) {
	vs := goldenVectors()
	bins := map[string][]byte{}
	for _, v := range vs {
		b := encodeVector(v)
		finish(v, b)
		bins[v.File] = b
	}
	index, err := json.MarshalIndent(vectorFile{
		Comment: "Golden frames of weir's ABI (sdk/ABI.md); see README.md. Generated by `go test ./engine/frame -run TestGolden -update`.",
		Vectors: vs,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	index = append(index, '\n')

	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(goldenDir, "*.bin"))
		for _, f := range old {
			os.Remove(f)
		}
		for name, b := range bins {
			if err := os.WriteFile(filepath.Join(goldenDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(goldenDir, "vectors.json"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d vectors to %s", len(vs), goldenDir)
	}

	// The description file is what the vectors above describe.
	onDisk, err := os.ReadFile(filepath.Join(goldenDir, "vectors.json"))
	if err != nil {
		t.Fatalf("%v (run with -update to create the vectors)", err)
	}
	if !bytes.Equal(onDisk, index) {
		t.Fatalf("%s/vectors.json is out of date: run go test ./engine/frame -run TestGolden -update", goldenDir)
	}
	var described vectorFile
	if err := json.Unmarshal(onDisk, &described); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.bin"))
	if len(files) != len(vs) {
		t.Errorf("%d .bin files for %d vectors", len(files), len(vs))
	}
	for _, v := range described.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(goldenDir, v.File))
			if err != nil {
				t.Fatal(err)
			}
			// The encoder reproduces the file.
			if !bytes.Equal(b, bins[v.File]) {
				t.Fatalf("the encoder no longer produces %s", v.File)
			}
			sum := sha256.Sum256(b)
			if len(b) != v.Size || hex.EncodeToString(sum[:]) != v.SHA256 {
				t.Fatalf("size or digest differ from vectors.json")
			}
			if v.Kind == "corrupt" {
				checkCorrupt(t, v, b)
				return
			}
			// The decoder reads the file back to its description.
			got, err := decodeVector(v, b)
			if err != nil {
				t.Fatal(err)
			}
			want := *v
			if !reflect.DeepEqual(got, &want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(&want)
				t.Fatalf("decoded\n%s\nwant\n%s", gj, wj)
			}
		})
	}
}

func checkCorrupt(t *testing.T, v *vector, b []byte) {
	var err error
	switch v.Decoder {
	case "input":
		_, _, _, err = decodeInput(b)
	case "output":
		_, err = decodeOutput(b, *v.Want)
	}
	if err == nil || !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), v.Error) {
		t.Fatalf("error %v, want one containing %q", err, v.Error)
	}
	if v.Offset != nil && *v.Offset != 0 && !strings.Contains(err.Error(), fmt.Sprintf("at byte offset %d:", *v.Offset)) {
		t.Fatalf("error %v, want offset %d", err, *v.Offset)
	}
}
