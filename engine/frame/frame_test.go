package frame

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// rec is a test input record.
type rec struct {
	data, pk, seq string
	sub           uint64
	at            int64
	src           string
	views         []View
}

func encodeInput(flags uint16, paths []string, recs []rec) []byte {
	w := NewInput(nil, flags, paths)
	for _, r := range recs {
		w.AddRecord([]byte(r.data), r.pk, r.seq, r.sub, r.at, r.src)
		for _, v := range r.views {
			w.AddView(v.Type, v.Raw)
		}
	}
	return w.Finish()
}

func decodeInput(b []byte) (flags uint16, paths []string, recs []rec, err error) {
	ir, err := ReadInput(b)
	if err != nil {
		return 0, nil, nil, err
	}
	for _, p := range ir.Paths {
		paths = append(paths, string(p))
	}
	var r InRecord
	for ir.More() {
		if err := ir.Next(&r); err != nil {
			return 0, nil, nil, err
		}
		x := rec{data: string(r.Data), pk: string(r.PartitionKey), seq: string(r.SequenceNumber),
			sub: r.SubSequence, at: r.ArrivalUnixNano, src: string(r.Source)}
		for _, v := range r.Views {
			x.views = append(x.views, View{Type: v.Type, Raw: bytes.Clone(v.Raw)})
		}
		recs = append(recs, x)
	}
	return ir.Flags, paths, recs, nil
}

func TestInputRoundTrip(t *testing.T) {
	views := []View{{Type: String, Raw: []byte("é\"")}, {Type: Missing}, {Type: Number, Raw: []byte("-1.5e3")},
		{Type: True}, {Type: False}, {Type: Null}, {Type: Object, Raw: []byte(`{"a":[1]}`)}, {Type: Array, Raw: []byte("[]")}}
	paths := []string{"s", "m", "n", "t", "f", "z", "o", "a"}
	for _, tc := range []struct {
		name  string
		flags uint16
		paths []string
		recs  []rec
	}{
		{"empty", 0, nil, nil},
		{"empty with paths", FlagViews | FlagHostOps, []string{"a", "b.c"}, nil},
		{"metadata", FlagHostOps, nil, []rec{
			{data: `{"a":1}`, pk: "pk-1", seq: "4959", sub: 3, at: 1684273645123456789, src: "arn:aws:kinesis:us-east-1:1:stream/s"},
			{data: "", at: -1, sub: math.MaxUint64},
		}},
		{"views of every type", FlagViews, paths, []rec{{data: "{}", views: views}, {data: "x", views: make([]View, len(paths))}}},
		{"flags without views ignore paths", FlagHostOps, nil, []rec{{data: "y"}}},
		{"unknown flag bits survive", 0x8000, nil, []rec{{data: "z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeInput(tc.flags, tc.paths, tc.recs)
			flags, paths, recs, err := decodeInput(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				for j, v := range recs[i].views {
					if len(v.Raw) == 0 {
						recs[i].views[j].Raw = nil
					}
				}
			}
			want := tc.recs
			for i := range want {
				for j, v := range want[i].views {
					if len(v.Raw) == 0 {
						want[i].views[j].Raw = nil
					}
				}
			}
			if flags != tc.flags || !reflect.DeepEqual(paths, tc.paths) || !reflect.DeepEqual(recs, want) {
				t.Fatalf("got %d %q %+v\nwant %d %q %+v", flags, paths, recs, tc.flags, tc.paths, want)
			}
		})
	}
}

// TestInputWriterReset checks that a reused writer forgets everything.
func TestInputWriterReset(t *testing.T) {
	w := NewInput(nil, FlagViews, []string{"a"})
	w.AddRecord([]byte("1"), "", "", 0, 0, "")
	w.AddView(Null, nil)
	first := bytes.Clone(w.Finish())
	w.Reset(w.Finish(), 0, []string{"ignored"})
	if w.Count() != 0 || w.Len() != HeaderSize {
		t.Fatalf("count %d len %d", w.Count(), w.Len())
	}
	w.AddRecord([]byte("2"), "", "", 0, 0, "")
	if _, _, recs, err := decodeInput(w.Finish()); err != nil || len(recs) != 1 || recs[0].data != "2" {
		t.Fatal(recs, err)
	}
	if _, _, recs, err := decodeInput(first); err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
}

// le32 returns b with a little-endian u32 written at off.
func le32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func TestReadInputErrors(t *testing.T) {
	one := encodeInput(0, nil, []rec{{data: "abc", pk: "p", seq: "s", src: "x"}})
	viewed := encodeInput(FlagViews, []string{"a"}, []rec{{data: "{}", views: []View{{Type: String, Raw: []byte("v")}}}})
	// Offsets in viewed: header 16, path 4+1, so the record starts at 21:
	// flags 4, data 4+2, pk 4, seq 4, sub 8, at 8, src 4, so the view's type
	// is at 59, its length at 60.
	for _, tc := range []struct {
		name string
		b    []byte
		msg  string
		off  int
	}{
		{"nil", nil, "shorter than its 16-byte header", 0},
		{"short header", []byte("WEIR\x01\x01"), "shorter than its 16-byte header", 0},
		{"bad magic", append([]byte("WIER"), one[4:]...), "bad magic", 0},
		{"version 2", append(append([]byte{}, one[:5]...), append([]byte{2}, one[6:]...)...), "unsupported frame version 2", 5},
		{"output frame", NewOutput(nil).Finish(), "frame type 2, want 1", 4},
		{"count too large", le32(one, 8, 1000), "record count 1000 cannot fit", 8},
		{"paths without views", le32(one, 12, 1), "path count 1 without the views flag", 12},
		{"path count too large", le32(viewed, 12, 1<<30), "path count 1073741824 cannot fit", 12},
		{"path runs past the end", le32(viewed, 16, 1000), "declared path length 1000 runs past the end", 16},
		{"truncated record", one[:len(one)-3], "source length needs 4 bytes, 2 left", 53},
		{"lying data length", le32(one, 20, 1<<31), "record data length 2147483648 runs past", 20},
		{"trailing bytes", append(bytes.Clone(one), 0), "1 trailing bytes after the last record", len(one)},
		{"trailing after empty batch", append(NewInput(nil, 0, nil).Finish(), 1, 2), "2 trailing bytes after an empty batch", 16},
		{"unknown view type", func() []byte { b := bytes.Clone(viewed); b[59] = 9; return b }(), "unknown view type 9", 59},
		{"null view with bytes", func() []byte { b := bytes.Clone(viewed); b[59] = byte(Null); return b }(), "a null view carries 1 value bytes", 60},
		{"view cut off", viewed[:len(viewed)-1], "view value length 1 runs past", 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := decodeInput(tc.b)
			if err == nil || !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want one containing %q", err, tc.msg)
			}
			if want := "at byte offset " + strconv.Itoa(tc.off) + ":"; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}

func TestNextPastTheEnd(t *testing.T) {
	ir, err := ReadInput(encodeInput(0, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	var r InRecord
	if err := ir.Next(&r); err == nil || !errors.Is(err, ErrFrame) {
		t.Fatalf("Next on an empty batch: %v", err)
	}
}

// out is a test outcome.
type out struct {
	status byte
	msg    string
	outs   []Out
}

func encodeOutput(outs []out) []byte {
	w := NewOutput(nil)
	for _, o := range outs {
		switch o.status {
		case StatusOK:
			w.OK()
			for _, x := range o.outs {
				w.Output(x.Kind, string(x.Route), x.Body)
			}
		case StatusDropped:
			w.Dropped()
		case StatusFailed:
			w.Failed(o.msg)
		}
	}
	return w.Finish()
}

func decodeOutput(b []byte, want int) ([]out, error) {
	or, err := ReadOutput(b, want)
	if err != nil {
		return nil, err
	}
	var res []out
	var r OutRecord
	for or.More() {
		if err := or.Next(&r); err != nil {
			return nil, err
		}
		o := out{status: r.Status, msg: string(r.Message)}
		for _, x := range r.Outputs {
			o.outs = append(o.outs, Out{Kind: x.Kind, Route: bytes.Clone(x.Route), Body: bytes.Clone(x.Body)})
		}
		res = append(res, o)
	}
	return res, nil
}

func TestOutputRoundTrip(t *testing.T) {
	var ops Ops
	ops.SetString("a", "b")
	outs := []out{
		{status: StatusOK},
		{status: StatusOK, outs: []Out{{Kind: OutputRaw, Route: []byte{}, Body: []byte("x")}}},
		{status: StatusOK, outs: []Out{{Kind: OutputRaw, Route: []byte("alerts"), Body: []byte{}}, {Kind: OutputOps, Route: []byte{}, Body: ops.B}, {Kind: OutputEdit, Route: []byte("r"), Body: ops.B}}},
		{status: StatusDropped},
		{status: StatusFailed, msg: "bad: é"},
		{status: StatusFailed, msg: ""},
	}
	b := encodeOutput(outs)
	got, err := decodeOutput(b, len(outs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, outs) {
		t.Fatalf("got %+v\nwant %+v", got, outs)
	}
	if got, err := decodeOutput(b, -1); err != nil || len(got) != len(outs) {
		t.Fatalf("want -1: %v", err)
	}
}

func TestOutputMarkRewind(t *testing.T) {
	w := NewOutput(nil)
	w.OK()
	w.Output(OutputRaw, "", []byte("kept"))
	m := w.Mark()
	w.OK()
	w.Output(OutputRaw, "", []byte("lost"))
	w.BeginOutput(OutputRaw, "r")
	w.SetBuf(append(w.Buf(), "partial"...))
	w.Rewind(m)
	w.Failed("nope")
	got, err := decodeOutput(w.Finish(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].outs[0].Body) != "kept" || got[1].status != StatusFailed || got[1].msg != "nope" {
		t.Fatalf("%+v", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Output after Rewind did not panic")
		}
	}()
	w.Rewind(m)
	w.Output(OutputRaw, "", nil)
}

func TestBeginOutput(t *testing.T) {
	w := NewOutput(make([]byte, 0, 4))
	w.OK()
	w.BeginOutput(OutputOps, "docs")
	var ops Ops
	ops.B = w.Buf()
	ops.SetInt("n", 1)
	w.SetBuf(ops.B)
	w.EndOutput()
	got, err := decodeOutput(w.Finish(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var a Applier
	doc, err := a.Apply(nil, got[0].outs[0].Kind, got[0].outs[0].Body, nil, nil)
	if err != nil || string(doc) != `{"n":1}` || string(got[0].outs[0].Route) != "docs" {
		t.Fatalf("%s %v %+v", doc, err, got)
	}
}

func TestReadOutputErrors(t *testing.T) {
	ok1 := encodeOutput([]out{{status: StatusOK, outs: []Out{{Kind: OutputRaw, Route: []byte("r"), Body: []byte("body")}}}})
	// ok1: header 16, status 1, count 4, kind 1, route 4+1, body 4+4.
	for _, tc := range []struct {
		name string
		b    []byte
		want int
		msg  string
	}{
		{"count mismatch", ok1, 2, "returned 1 outcomes for 2 records"},
		{"input frame", NewInput(nil, 0, nil).Finish(), 0, "frame type 1, want 2"},
		{"unknown type", func() []byte { b := bytes.Clone(ok1); b[4] = 7; return b }(), 1, "frame type 7"},
		{"count too large", le32(ok1, 8, 1000), -1, "outcome count 1000 cannot fit"},
		{"trailing after empty", append(NewOutput(nil).Finish(), 0), 0, "1 trailing bytes after an empty batch"},
		{"unknown status", func() []byte { b := bytes.Clone(ok1); b[16] = 9; return b }(), 1, "unknown status 9"},
		{"output count too large", le32(ok1, 17, 5), 1, "output count 5 cannot fit"},
		{"unknown kind", func() []byte { b := bytes.Clone(ok1); b[21] = 3; return b }(), 1, "unknown output kind 3"},
		{"lying route length", le32(ok1, 22, 100), 1, "route length 100 runs past"},
		{"truncated body", ok1[:len(ok1)-1], 1, "output body length 4 runs past"},
		{"trailing bytes", append(bytes.Clone(ok1), 1), 1, "1 trailing bytes after the last outcome"},
		{"error frame cut", AppendError(nil, "boom")[:18], -1, "error message length needs 4 bytes"},
		{"error frame trailing", append(AppendError(nil, "boom"), 0), -1, "1 trailing bytes after the error message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeOutput(tc.b, tc.want)
			if err == nil || !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want one containing %q", err, tc.msg)
			}
		})
	}
}

func TestErrorFrame(t *testing.T) {
	_, err := ReadOutput(AppendError(nil, "module exploded"), 5)
	var be *BatchError
	if !errors.As(err, &be) || be.Message != "module exploded" || errors.Is(err, ErrFrame) {
		t.Fatalf("%v", err)
	}
	if be.Error() != "module failed the batch: module exploded" {
		t.Fatal(be.Error())
	}
}

func TestApply(t *testing.T) {
	input := `{"a":{"b":"x\"y","n":-1.5e3,"arr":[1,{"k":"v"}],"e":"","z":null},"dot.key":true,"list":[10,20]}`
	for _, tc := range []struct {
		name  string
		kind  byte
		build func(o *Ops)
		input string
		want  string // document, or "error: substring"
	}{
		{"empty ops", OutputOps, func(o *Ops) {}, input, `{}`},
		{"set string escapes", OutputOps, func(o *Ops) { o.SetString("s", "é\"\n\x01\u2028") }, input, `{"s":"é\"\n\u0001\u2028"}`},
		// weir never replaces bytes in a string it writes: not UTF-8 fails.
		{"set string bytes not UTF-8", OutputOps, func(o *Ops) { o.SetStringBytes("s", []byte("ab\xff")) }, input,
			`error: a string the module set is not valid UTF-8 (first invalid byte 0xff at byte offset 2 of "ab\xff")`},
		{"set original not UTF-8", OutputOps, func(o *Ops) { o.SetOriginal("event.original") }, "{\"a\":\"\xc3\x28\"}",
			"error: the input record is not valid UTF-8 (first invalid byte 0xc3 at byte offset 6)"},
		{"copy string not UTF-8", OutputOps, func(o *Ops) { o.CopyString("x", "a") }, "{\"a\":\"ok \xed\xa0\x80\"}",
			"error: the input record is not valid UTF-8 (first invalid byte 0xed at byte offset 9)"},
		{"edit keeps a key not UTF-8", OutputEdit, func(o *Ops) { o.SetInt("n", 1) }, "{\"\xfe\":1}",
			"error: the input record is not valid UTF-8 (first invalid byte 0xfe at byte offset 2)"},
		{"copy of a valid field from an invalid record", OutputOps, func(o *Ops) { o.CopyString("x", "a") }, "{\"a\":\"ok\",\"b\":\"\xff\"}", `{"x":"ok"}`},
		{"set JSON is re-serialized compactly", OutputOps, func(o *Ops) { o.SetJSON("j", []byte(` { "a" : [ 1 , "x" ] } `)) }, input, `{"j":{"a":[1,"x"]}}`},
		{"set int", OutputOps, func(o *Ops) { o.SetInt("min", math.MinInt64); o.SetInt("max", math.MaxInt64) }, input,
			`{"min":-9223372036854775808,"max":9223372036854775807}`},
		{"nested paths create objects in order", OutputOps, func(o *Ops) {
			o.SetString("x.b", "1")
			o.SetString("y", "2")
			o.SetString("x.a", "3")
		}, input, `{"x":{"b":"1","a":"3"},"y":"2"}`},
		{"overwrite keeps the position", OutputOps, func(o *Ops) {
			o.SetString("a", "1")
			o.SetString("b", "2")
			o.SetInt("a", 3)
		}, input, `{"a":3,"b":"2"}`},
		{"setting below a non-object replaces it", OutputOps, func(o *Ops) { o.SetString("a", "1"); o.SetString("a.b", "2") }, input, `{"a":{"b":"2"}}`},
		{"escaped dots in paths", OutputOps, func(o *Ops) { o.SetString(`x\.y.z`, "1"); o.Copy("c", `dot\.key`) }, input, `{"x.y":{"z":"1"},"c":true}`},
		// Lists the applier streams (grouped paths), and lists it
		// builds as a tree after starting to stream them.
		{"grouped paths streamed", OutputOps, func(o *Ops) {
			o.SetString("t", "0")
			o.SetString("a.b", "1")
			o.SetString("a.c.d", "2")
			o.SetString("a.c.e", "3")
			o.SetString("a.c.e", "4")
			o.SetString("a.f", "5")
			o.SetString("g.h.i", "6")
			o.SetString("j", "7")
		}, input, `{"t":"0","a":{"b":"1","c":{"d":"2","e":"4"},"f":"5"},"g":{"h":{"i":"6"}},"j":"7"}`},
		{"setting an object just closed replaces it", OutputOps, func(o *Ops) {
			o.SetString("a.b", "1")
			o.SetString("a.c.d", "2")
			o.SetString("a.c", "3")
			o.SetString("a", "4")
		}, input, `{"a":"4"}`},
		{"back into a closed object", OutputOps, func(o *Ops) {
			o.SetString("a.b", "1")
			o.SetString("a.c.d", "2")
			o.SetString("a.e", "3")
			o.SetString("a.c.f", "4")
		}, input, `{"a":{"b":"1","c":{"d":"2","f":"4"},"e":"3"}}`},
		{"below a value set just before", OutputOps, func(o *Ops) { o.Copy("o", "a.arr.1"); o.SetString("o.x", "1") }, input, `{"o":{"k":"v","x":"1"}}`},
		{"a value too large, replaced", OutputOps, func(o *Ops) {
			o.SetString("a", strings.Repeat("x", 1<<20))
			o.SetString("a", "small")
		}, input, `{"a":"small"}`},
		{"an invalid number, replaced", OutputOps, func(o *Ops) { o.SetJSON("x", []byte("NaN")); o.SetInt("x", 1) }, input, `{"x":1}`},
		{"copy values and array elements", OutputOps, func(o *Ops) {
			o.Copy("s", "a.b")
			o.Copy("n", "a.n")
			o.Copy("o", "a.arr.1")
			o.Copy("i", "list.1")
			o.Copy("z", "a.z")
			o.Copy("missing", "a.nope")
			o.Copy("past", "list.9")
		}, input, `{"s":"x\"y","n":-1.5e3,"o":{"k":"v"},"i":20,"z":null}`},
		{"copy string takes non-empty strings only", OutputOps, func(o *Ops) {
			o.CopyString("s", "a.b")
			o.CopyString("empty", "a.e")
			o.CopyString("null", "a.z")
			o.CopyString("number", "a.n")
			o.CopyString("object", "a.arr.1")
			o.CopyString("missing", "nope")
		}, input, `{"s":"x\"y"}`},
		{"copy string overwrite in place", OutputOps, func(o *Ops) {
			o.CopyString("id", "a.b")
			o.SetString("after", "1")
			o.CopyString("id", "a.arr.1.k")
			o.CopyString("id", "a.e")
		}, input, `{"id":"v","after":"1"}`},
		{"original and digests", OutputOps, func(o *Ops) {
			o.SetOriginal("o")
			o.SetDigest("sha256", DigestSHA256)
			o.SetDigest("md5", DigestMD5)
			o.SetDigest("sha1", DigestSHA1)
		}, `hi`, `{"o":"hi","sha256":"8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4","md5":"49f68a5c8493ec2c0bf489821c21fc3b","sha1":"c22b5f9178342609428d6f51b2c5af4c0bde6a42"}`},
		{"original needs no JSON", OutputOps, func(o *Ops) { o.SetOriginal("o") }, `not json`, `{"o":"not json"}`},
		{"delete", OutputOps, func(o *Ops) {
			o.SetString("a.b", "1")
			o.SetString("a.c", "2")
			o.Delete("a.b")
			o.Delete("nope.x")
			o.Delete("a.c.d")
		}, input, `{"a":{"c":"2"}}`},
		{"edit keeps the input", OutputEdit, func(o *Ops) {}, input, input},
		{"edit", OutputEdit, func(o *Ops) {
			o.Delete("a.arr")
			o.SetString("a.b", "new")
			o.SetString("a.added", "1")
			o.Delete("list")
			o.SetInt("top", 1)
			o.Copy("copied", "a.n")
		}, input, `{"a":{"b":"new","n":-1.5e3,"e":"","z":null,"added":"1"},"dot.key":true,"top":1,"copied":-1.5e3}`},
		{"edit an empty object", OutputEdit, func(o *Ops) { o.SetString("a", "b") }, ` {} `, `{"a":"b"}`},

		{"unknown kind", OutputRaw, func(o *Ops) {}, input, "error: unknown output kind 0"},
		{"edit of an array", OutputEdit, func(o *Ops) {}, `[1]`, "error: is a JSON array, not an object"},
		{"edit of invalid JSON", OutputEdit, func(o *Ops) {}, `{`, "error: edit: the input record is not JSON"},
		{"copy from invalid JSON", OutputOps, func(o *Ops) { o.Copy("a", "b") }, `{`, `error: copy "b": the input record is not JSON`},
		{"invalid JSON value", OutputOps, func(o *Ops) { o.SetJSON("x", []byte("{")) }, input, `error: op at byte 0: set "x": invalid JSON value`},
		{"NaN is not JSON", OutputOps, func(o *Ops) { o.SetJSON("x", []byte("NaN")) }, input, `error: "NaN", which is not a JSON number`},
		{"01 in the input is not JSON", OutputEdit, func(o *Ops) {}, `{"a":01}`, `error: "01", which is not a JSON number`},
		{"unknown digest", OutputOps, func(o *Ops) { o.SetDigest("d", 9) }, input, "error: op at byte 0: unknown digest algorithm 9"},
		{"unknown op", OutputOps, func(o *Ops) { o.SetString("a", "b"); o.B = append(o.B, 99, 0, 0, 0, 0) }, input, "error: frame: at byte offset 11: unknown op 99"},
		{"truncated op", OutputOps, func(o *Ops) { o.SetString("a", "bc"); o.B = o.B[:len(o.B)-1] }, input, "error: frame: at byte offset 6: string value length 2 runs past"},
		{"op without a path", OutputOps, func(o *Ops) { o.B = append(o.B, OpDelete) }, input, "error: frame: at byte offset 1: op path length needs 4 bytes"},
		{"truncated copy source", OutputOps, func(o *Ops) { o.Copy("a", "b.c"); o.B = o.B[:len(o.B)-1] }, input, "error: frame: at byte offset 6: copy source length 3 runs past"},
		{"truncated int", OutputOps, func(o *Ops) { o.SetInt("a", 1); o.B = o.B[:len(o.B)-1] }, input, "error: frame: at byte offset 6: integer value needs 8 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Ops
			tc.build(&o)
			var a Applier
			a.Max = 1 << 20
			got, err := a.Apply(nil, tc.kind, o.B, []byte(tc.input), nil)
			// Streamed or not, the same document or the same error.
			tree := Applier{treeOnly: true, Max: a.Max}
			got1, err1 := tree.Apply(nil, tc.kind, o.B, []byte(tc.input), nil)
			if !bytes.Equal(got, got1) || fmt.Sprint(err) != fmt.Sprint(err1) {
				t.Fatalf("streamed: %s, %v; as a tree: %s, %v", got, err, got1, err1)
			}
			if msg, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), msg) {
					t.Fatalf("got %s, %v; want an error containing %q", got, err, msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
			// With a parsed input passed in, the result is the same, and
			// the parsed value is left untouched.
			var p fastjson.Parser
			if v, err := p.Parse(tc.input); err == nil {
				before := AppendValue(nil, v)
				got2, err := a.Apply(nil, tc.kind, o.B, []byte(tc.input), v)
				if err != nil || string(got2) != tc.want {
					t.Fatalf("with parsed input: %s %v", got2, err)
				}
				if after := AppendValue(nil, v); !bytes.Equal(before, after) {
					t.Fatalf("Apply modified the parsed input: %s", after)
				}
			}
		})
	}
}

// TestApplierReuse applies large and small lists in turn with one Applier.
func TestApplierReuse(t *testing.T) {
	var a Applier
	var big, small Ops
	for i := range 200 {
		p := "k" + strconv.Itoa(i%7) + "." + strconv.Itoa(i)
		big.SetInt(p, int64(i))
		big.SetJSON(p+"j", []byte(`{"x":[1]}`))
	}
	small.SetString("only", "one")
	for range 3 {
		b, err := a.Apply(nil, OutputOps, big.B, nil, nil)
		if err != nil || !json.Valid(b) || bytes.Count(b, []byte(`"x":[1]`)) != 200 {
			t.Fatalf("big: %v %.200s", err, b)
		}
		s, err := a.Apply(nil, OutputEdit, small.B, []byte(`{"in":1}`), nil)
		if err != nil || string(s) != `{"in":1,"only":"one"}` {
			t.Fatalf("small: %s %v", s, err)
		}
	}
}

// TestApplierBounds: a few bytes of operations can ask for a document
// thousands of times their size (set_original repeated, NUL bytes that
// escape to six); Max stops the document at its budget, and Check is
// called often enough to stop a long list.
func TestApplierBounds(t *testing.T) {
	input := []byte(`{"s":"` + strings.Repeat("x", 50_000) + `"}`)
	var amplify Ops
	for i := range 300 {
		amplify.SetOriginal("o" + strconv.Itoa(i))
	}
	var nuls Ops
	nuls.SetStringBytes("z", make([]byte, 10_000))
	var copies Ops
	for i := range 300 {
		copies.Copy("c"+strconv.Itoa(i), "s")
	}
	var edit Ops
	edit.SetString("t", "u")
	for _, tc := range []struct {
		name  string
		kind  byte
		ops   []byte
		max   int
		wantN int // the unbounded document's size
	}{
		{"set_original x300", OutputOps, amplify.B, 1 << 20, 0},
		{"NUL bytes escape to 6", OutputOps, nuls.B, 50_000, 60_008},
		{"copy x300", OutputOps, copies.B, 1 << 20, 0},
		{"edit of a large input", OutputEdit, edit.B, 1000, len(input) + 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Applier
			full, err := a.Apply(nil, tc.kind, tc.ops, input, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantN != 0 && len(full) != tc.wantN {
				t.Fatalf("unbounded document is %d bytes, want %d", len(full), tc.wantN)
			}
			a.Max = tc.max
			prefix := []byte("earlier documents;")
			got, err := a.Apply(prefix, tc.kind, tc.ops, input, nil)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("exceed %d bytes", tc.max)) {
				t.Fatalf("Apply with Max %d: %v", tc.max, err)
			}
			if string(got) != string(prefix) {
				t.Errorf("a failed Apply changed dst")
			}
			if cap(got) > len(prefix)+tc.max+len(input)+64 {
				t.Errorf("the failed Apply grew dst to %d bytes for a %d-byte budget", cap(got), tc.max)
			}
			// The exact size fits; one byte less does not.
			a.Max = len(full)
			if again, err := a.Apply(nil, tc.kind, tc.ops, input, nil); err != nil || string(again) != string(full) {
				t.Errorf("Max = the document's size: %v", err)
			}
			a.Max = len(full) - 1
			if _, err := a.Apply(nil, tc.kind, tc.ops, input, nil); !errors.Is(err, ErrTooLarge) {
				t.Errorf("Max = the document's size - 1: %v", err)
			}
		})
	}
	// Check runs during a long list and its error stops Apply.
	stop := errors.New("deadline")
	calls := 0
	a := Applier{Check: func() error {
		if calls++; calls == 3 {
			return stop
		}
		return nil
	}}
	if _, err := a.Apply(nil, OutputOps, amplify.B, input, nil); !errors.Is(err, stop) {
		t.Fatalf("Apply with a failing Check: %v", err)
	}
	if calls != 3 {
		t.Errorf("Check called %d times before it failed, want 3", calls)
	}
}

func TestApplierDigestHook(t *testing.T) {
	a := Applier{Digest: func(dst []byte, algo byte, data []byte) ([]byte, error) {
		return append(dst, "hooked"...), nil
	}}
	var o Ops
	o.SetDigest("h", DigestSHA256)
	got, err := a.Apply(nil, OutputOps, o.B, []byte("x"), nil)
	if err != nil || string(got) != `{"h":"hooked"}` {
		t.Fatalf("%s %v", got, err)
	}
}

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain ascii ~\x7f", "\"plain ascii ~\x7f\""},
		{"\"\\/", `"\"\\/"`},
		{"\n\r\t\b\f\x00\x1f", `"\n\r\t\u0008\u000c\u0000\u001f"`},
		{"é漢字🙂", `"é漢字🙂"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"bad \xff\xfe end", `"bad \ufffd\ufffd end"`},
		{"cut \xe6\xbc", `"cut \ufffd\ufffd"`},
		{"surrogate \xed\xa0\x80", `"surrogate \ufffd\ufffd\ufffd"`},
	} {
		got := AppendString([]byte("prefix:"), []byte(tc.in))
		if n := QuotedLen([]byte(tc.in)); n != len(tc.want) {
			t.Errorf("%q: QuotedLen %d, AppendString wrote %d bytes", tc.in, n, len(tc.want))
		}
		if string(got) != "prefix:"+tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got[7:], tc.want)
		}
		var back string
		if err := json.Unmarshal(got[7:], &back); err != nil {
			t.Errorf("%q: %v", tc.in, err)
		}
		if utf8.ValidString(tc.in) && back != tc.in {
			t.Errorf("%q: decodes to %q", tc.in, back)
		}
	}
}

func TestSplitPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a.b.c", []string{"a", "b", "c"}},
		{"", []string{""}},
		{"a..b", []string{"a", "", "b"}},
		{`a\.b.c`, []string{"a.b", "c"}},
		{`a\\.b`, []string{`a\`, "b"}},
		{`a\\\.b`, []string{`a\.b`}},
		{`trailing\`, []string{`trailing\`}},
		{"@timestamp", []string{"@timestamp"}},
	} {
		if got := SplitPath(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "-1.5e3": true, "1E+5": true, "0.0e-0": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false, "1e+": false,
		"NaN": false, "inf": false, "--1": false, "1-2": false, "0x1": false, "1 ": false,
	} {
		if got := validNumber([]byte(s)); got != want {
			t.Errorf("validNumber(%q) = %v", s, got)
		}
	}
}

func TestValueTypeString(t *testing.T) {
	got := []string{}
	for ty := Missing; ty <= Array+1; ty++ {
		got = append(got, ty.String())
	}
	if strings.Join(got, ",") != "missing,string,number,true,false,null,object,array,ValueType(8)" {
		t.Fatal(got)
	}
}

func TestAppendValueView(t *testing.T) {
	v := fastjson.MustParse(`{"s":"a\u00e9","n":1e2,"t":true,"o":{"x":[null,false]}}`)
	w := NewInput(nil, FlagViews, []string{"s", "n", "t", "o", "m"})
	w.AddRecord(nil, "", "", 0, 0, "")
	for _, p := range []string{"s", "n", "t", "o", "m"} {
		w.AddValue(v.Get(p))
	}
	_, _, recs, err := decodeInput(w.Finish())
	if err != nil {
		t.Fatal(err)
	}
	want := []View{{String, []byte("aé")}, {Number, []byte("1e2")}, {True, nil}, {Object, []byte(`{"x":[null,false]}`)}, {Missing, nil}}
	for i, v := range recs[0].views {
		if v.Type != want[i].Type || string(v.Raw) != string(want[i].Raw) {
			t.Errorf("view %d: %v %q", i, v.Type, v.Raw)
		}
	}
}

func BenchmarkReadInput(b *testing.B) {
	recs := make([]rec, 100)
	for i := range recs {
		recs[i] = rec{data: strings.Repeat("x", 1500), pk: "pk", seq: "seq", views: make([]View, 7)}
	}
	f := encodeInput(FlagViews, []string{"a", "b", "c", "d", "e", "f", "g"}, recs)
	var r InRecord
	var ir InputReader
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if err := ir.Reset(f); err != nil {
			b.Fatal(err)
		}
		for ir.More() {
			if err := ir.Next(&r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkApplyReference(b *testing.B) {
	in := []byte(`{"eventTime":"2023-05-16T21:47:25Z","eventName":"ConsoleLogin","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","awsRegion":"us-east-1","tlsDetails":{"cipherSuite":"TLS_AES_128_GCM_SHA256"}}`)
	var o Ops
	o.CopyString("@timestamp", "eventTime")
	o.CopyString("event.action", "eventName")
	o.SetDigest("event.hash", DigestSHA256)
	o.SetOriginal("event.original")
	o.SetString("event.outcome", "success")
	o.SetString("cloud.provider", "aws")
	o.CopyString("cloud.region", "awsRegion")
	o.CopyString("tls.cipher", "tlsDetails.cipherSuite")
	o.CopyString("user_agent.original", "userAgent")
	var a Applier
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = a.Apply(dst[:0], OutputOps, o.B, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendStringWords checks the 8-bytes-at-a-time scan against a
// byte-by-byte escape (the reference below) with every special byte at
// every position of strings up to 40 bytes.
func TestAppendStringWords(t *testing.T) {
	ref := func(s []byte) string {
		b, _ := json.Marshal(strings.ToValidUTF8(string(s), "\ufffd"))
		// encoding/json escapes <, >, & and writes \u00XX for other
		// control characters; AppendString does not escape <>& and
		// writes \n \r \t: normalize both ways via decoding.
		return string(b)
	}
	specials := []string{"\"", "\\", "\n", "\x1f", "\x00", "\x7f", "\x80", "\xff", "é", "\u2028", " ", "~"}
	for n := 0; n <= 40; n++ {
		for pos := 0; pos < n; pos++ {
			for _, sp := range specials {
				in := []byte(strings.Repeat("a", pos) + sp + strings.Repeat("b", n-pos))
				got := AppendString(nil, in)
				var back, want string
				if err := json.Unmarshal(got, &back); err != nil {
					t.Fatalf("%q: %s: %v", in, got, err)
				}
				if err := json.Unmarshal([]byte(ref(in)), &want); err != nil {
					t.Fatal(err)
				}
				if back != want {
					t.Fatalf("%q: got %s (%q), want %q", in, got, back, want)
				}
			}
		}
	}
}
