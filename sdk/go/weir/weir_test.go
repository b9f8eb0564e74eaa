package weir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir"
)

// The paths every test of this package declares (Paths is global and
// additive, like a module's init).
var testPaths = []string{"do", "a", "n", "obj"}

func init() { weir.Paths(testPaths...) }

type in struct {
	data  string
	views []frame.View // nil: built from data by a native parse
}

// frameOf builds an input frame like weir's host (views of testPaths when
// flags has FlagViews).
func frameOf(t testing.TB, flags uint16, recs ...in) []byte {
	t.Helper()
	w := frame.NewInput(nil, flags, testPaths)
	for i, r := range recs {
		w.AddRecord([]byte(r.data), "pk", "seq", uint64(i), 0, "src")
		if flags&frame.FlagViews == 0 {
			continue
		}
		if r.views != nil {
			for _, v := range r.views {
				w.AddView(v.Type, v.Raw)
			}
			continue
		}
		v, err := fastjson.Parse(r.data)
		for _, p := range testPaths {
			if err != nil {
				w.AddValue(nil)
			} else {
				w.AddValue(v.Get(frame.SplitPath(p)...))
			}
		}
	}
	return w.Finish()
}

type result struct {
	status byte
	msg    string
	outs   []string // "route:kind:body", ops applied to the record
}

func decode(t testing.TB, out []byte, recs ...in) []result {
	t.Helper()
	or, err := frame.ReadOutput(out, len(recs))
	if err != nil {
		t.Fatalf("output frame: %v", err)
	}
	var a frame.Applier
	var rec frame.OutRecord
	var res []result
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			t.Fatal(err)
		}
		r := result{status: rec.Status, msg: string(rec.Message)}
		for _, o := range rec.Outputs {
			body := string(o.Body)
			if o.Kind != frame.OutputRaw {
				b, err := a.Apply(nil, o.Kind, o.Body, []byte(recs[i].data), nil)
				if err != nil {
					body = "apply error: " + err.Error()
				} else {
					body = string(b)
				}
			}
			r.outs = append(r.outs, string(o.Route)+":"+body)
		}
		res = append(res, r)
	}
	return res
}

func run(t testing.TB, h weir.Handler, flags uint16, recs ...in) []result {
	t.Helper()
	weir.Handle(h)
	return decode(t, weir.Batch(frameOf(t, flags, recs...)), recs...)
}

func TestOutcomes(t *testing.T) {
	h := func(r *weir.Record) error {
		switch r.Get("do").String() {
		case "emit":
			r.Emit(r.Data())
		case "two":
			r.EmitTo("a", []byte("1"))
			r.Emit([]byte("2"))
		case "drop":
			r.Emit(r.Data())
			r.Drop()
		case "fail":
			r.Emit(r.Data())
			return errors.New("nope")
		case "panic":
			r.EmitTo("x", []byte("lost"))
			panic("boom")
		case "index":
			var s []int
			_ = s[r.Index()]
		case "nothing":
		}
		return nil
	}
	recs := []in{{data: `{"do":"emit"}`}, {data: `{"do":"two"}`}, {data: `{"do":"drop"}`}, {data: `{"do":"fail"}`},
		{data: `{"do":"panic"}`}, {data: `{"do":"index"}`}, {data: `{"do":"nothing"}`}, {data: `{"do":"emit","a":1}`},
		{data: `{"do":"panic"}`}} // the last record panics too
	want := []result{
		{status: frame.StatusOK, outs: []string{`:{"do":"emit"}`}},
		{status: frame.StatusOK, outs: []string{"a:1", ":2"}},
		{status: frame.StatusDropped},
		{status: frame.StatusFailed, msg: "nope"},
		{status: frame.StatusFailed, msg: "panic: boom"},
		{status: frame.StatusFailed, msg: "panic: runtime error: index out of range [5] with length 0"},
		{status: frame.StatusOK},
		{status: frame.StatusOK, outs: []string{`:{"do":"emit","a":1}`}},
		{status: frame.StatusFailed, msg: "panic: boom"},
	}
	for _, flags := range []uint16{0, frame.FlagViews, frame.FlagViews | frame.FlagHostOps} {
		got := run(t, h, flags, recs...)
		for i := range want {
			if !equal(got[i], want[i]) {
				t.Errorf("flags %d record %d: got %+v, want %+v", flags, i, got[i], want[i])
			}
		}
	}
}

func equal(a, b result) bool {
	return a.status == b.status && a.msg == b.msg && strings.Join(a.outs, "\n") == strings.Join(b.outs, "\n")
}

func TestBatchErrors(t *testing.T) {
	weir.Handle(nil)
	if _, err := frame.ReadOutput(weir.Batch(frameOf(t, 0, in{data: "{}"})), 1); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("no handler: %v", err)
	}
	weir.Handle(func(*weir.Record) error { return nil })
	_, err := frame.ReadOutput(weir.Batch([]byte("WEIR\x01\x02")), 1)
	var be *frame.BatchError
	if !errors.As(err, &be) || !strings.Contains(be.Message, "reading the input frame") {
		t.Fatalf("corrupt input: %v", err)
	}
	// A frame whose second record is cut off: a batch error naming it.
	f := frameOf(t, 0, in{data: "{}"}, in{data: `{"a":1}`})
	_, err = frame.ReadOutput(weir.Batch(f[:len(f)-3]), 2)
	if !errors.As(err, &be) || !strings.Contains(be.Message, "record 1") {
		t.Fatalf("truncated input: %v", err)
	}
}

// TestReadErrors: a frame whose records do not decode gives a batch error
// naming the record, with frame.InputReader's message (the SDK decodes
// records with its own reader and asks frame.InputReader only why one
// fails).
func TestReadErrors(t *testing.T) {
	weir.Handle(func(*weir.Record) error { return nil })
	missing := []frame.View{{Type: frame.Missing}, {Type: frame.Missing}, {Type: frame.Missing}}
	views := func(v frame.View) []frame.View { return append([]frame.View{v}, missing...) }
	good := in{data: "{}", views: views(frame.View{Type: frame.String, Raw: []byte("ok")})}
	for _, tc := range []struct {
		name    string
		frame   []byte
		corrupt func(f []byte) []byte
		record  int
	}{
		{"second record cut off", frameOf(t, frame.FlagViews, good, good), func(f []byte) []byte { return f[:len(f)-3] }, 1},
		{"trailing bytes", frameOf(t, frame.FlagViews, good, good), func(f []byte) []byte { return append(f, 'x') }, 1},
		{"trailing bytes without views", frameOf(t, 0, in{data: "{}"}), func(f []byte) []byte { return append(f, 'x', 'y') }, 0},
		{"unknown view type", frameOf(t, frame.FlagViews, good, in{data: "{}", views: views(frame.View{Type: frame.String, Raw: []byte("VIEW")})}),
			func(f []byte) []byte { f[bytes.LastIndex(f, []byte("VIEW"))-5] = 9; return f }, 1},
		{"true view with bytes", frameOf(t, frame.FlagViews, in{data: "{}", views: views(frame.View{Type: frame.True, Raw: []byte("x")})}), nil, 0},
		{"data length past the end", frameOf(t, frame.FlagViews, good, in{data: "DATA", views: views(frame.View{Type: frame.Missing})}),
			func(f []byte) []byte { f[bytes.LastIndex(f, []byte("DATA"))-1] = 0x7f; return f }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.frame
			if tc.corrupt != nil {
				f = tc.corrupt(f)
			}
			ir, err := frame.ReadInput(f)
			if err != nil {
				t.Fatal(err)
			}
			var rec frame.InRecord
			var want error
			for i := 0; ir.More() && want == nil; i++ {
				if want = ir.Next(&rec); want != nil && i != tc.record {
					t.Fatalf("frame.InputReader fails record %d, want %d: %v", i, tc.record, want)
				}
			}
			if want == nil {
				t.Fatal("frame.InputReader reads the corrupt frame")
			}
			_, err = frame.ReadOutput(weir.Batch(f), 2)
			var be *frame.BatchError
			if !errors.As(err, &be) || be.Message != fmt.Sprintf("weir: reading record %d of the input frame: %v", tc.record, want) {
				t.Fatalf("got %v, want a batch error naming record %d: %v", err, tc.record, want)
			}
		})
	}
}

func TestViews(t *testing.T) {
	var got []string
	h := func(r *weir.Record) error {
		got = append(got, r.Get("a").String()+"|"+r.Get("b").String())
		return nil
	}
	data := `{"a":"data","b":"guest"}`
	views := []frame.View{{Type: frame.Missing}, {Type: frame.String, Raw: []byte("view")}, {Type: frame.Missing}, {Type: frame.Missing}}
	run(t, h, frame.FlagViews, in{data: data, views: views})
	run(t, h, 0, in{data: data})
	want := []string{"view|guest", "data|guest"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}

	// The host may send the declared paths in another order, or only some.
	got = got[:0]
	w := frame.NewInput(nil, frame.FlagViews, []string{"zzz", "a"})
	w.AddRecord([]byte(data), "", "", 0, 0, "")
	w.AddView(frame.Null, nil)
	w.AddView(frame.String, []byte("view2"))
	weir.Handle(h)
	decode(t, weir.Batch(w.Finish()), in{data: data})
	if got[0] != "view2|guest" {
		t.Fatalf("reordered views: %q", got)
	}
}

func TestValue(t *testing.T) {
	data := `{"s":"a\"é","n":12,"f":1.5,"big":1e3,"t":true,"fa":false,"nu":null,"o":{"k":[1,"x"]},"arr":[1,2]}`
	root := fastjson.MustParse(data)
	type want struct {
		typ  weir.ValueType
		str  string
		raw  string
		i    int64
		iok  bool
		f    float64
		fok  bool
		b    bool
		bok  bool
		here bool
	}
	cases := map[string]want{
		"s":    {typ: weir.TypeString, str: `a"é`, raw: `"a\"é"`, here: true},
		"n":    {typ: weir.TypeNumber, str: "12", raw: "12", i: 12, iok: true, f: 12, fok: true, here: true},
		"f":    {typ: weir.TypeNumber, str: "1.5", raw: "1.5", f: 1.5, fok: true, here: true},
		"big":  {typ: weir.TypeNumber, str: "1e3", raw: "1e3", i: 1000, iok: true, f: 1000, fok: true, here: true},
		"t":    {typ: weir.TypeTrue, str: "true", raw: "true", b: true, bok: true, here: true},
		"fa":   {typ: weir.TypeFalse, str: "false", raw: "false", bok: true, here: true},
		"nu":   {typ: weir.TypeNull, str: "null", raw: "null", here: true},
		"o":    {typ: weir.TypeObject, str: `{"k":[1,"x"]}`, raw: `{"k":[1,"x"]}`, here: true},
		"arr":  {typ: weir.TypeArray, str: "[1,2]", raw: "[1,2]", here: true},
		"nope": {typ: weir.TypeMissing},
	}
	for path, w := range cases {
		fv := root.Get(path)
		var view weir.Value
		if fv != nil {
			var raw []byte
			switch fv.Type() {
			case fastjson.TypeString:
				raw = fv.GetStringBytes()
			case fastjson.TypeNumber, fastjson.TypeObject, fastjson.TypeArray:
				raw = frame.AppendValue(nil, fv)
			default:
				// A frame's true, false and null views carry an
				// empty, non-nil slice.
				raw = []byte{}
			}
			view = weir.ViewValue(w.typ, raw)
		}
		for name, v := range map[string]weir.Value{"json": weir.JSONValue(fv), "view": view} {
			i, iok := v.Int()
			f, fok := v.Float()
			b, bok := v.Bool()
			if v.Type() != w.typ || v.Exists() != w.here || v.String() != w.str || string(v.Raw()) != w.raw ||
				i != w.i || iok != w.iok || f != w.f || fok != w.fok || b != w.b || bok != w.bok || v.IsString() != (w.typ == weir.TypeString) {
				t.Errorf("%s %s: got %s %q %q int %d %v float %g %v bool %v %v", name, path, v.Type(), v.String(), v.Raw(), i, iok, f, fok, b, bok)
			}
		}
	}
}

// docHandler builds documents with every operation.
func docHandler(r *weir.Record) error {
	d := r.Doc()
	d.Copy("@timestamp", "t")
	d.Copy("missing", "nope")
	d.SetString("s", "é\"\n")
	d.SetInt("n", -7)
	d.SetJSON("j", []byte(`{"a":[1,2]}`))
	d.SetOriginal("orig")
	d.SetSHA256("h.sha256")
	d.SetDigest("h.md5", frame.DigestMD5)
	d.SetString("gone", "x")
	d.Delete("gone")
	if err := d.EmitTo("docs"); err != nil {
		return err
	}
	e := r.Edit()
	e.Delete("secret")
	e.SetString("x.y", "z")
	return e.Emit()
}

// TestDocs checks that documents come out the same whether the host applies
// the operations (FlagHostOps) or the SDK does.
func TestDocs(t *testing.T) {
	rec := in{data: `{"t":"2023-05-16T21:47:25Z","secret":"pw","keep":[1,{"a":null}]}`}
	var first []string
	for _, flags := range []uint16{0, frame.FlagHostOps, frame.FlagViews | frame.FlagHostOps} {
		got := run(t, docHandler, flags, rec)
		if got[0].status != frame.StatusOK || len(got[0].outs) != 2 {
			t.Fatalf("flags %d: %+v", flags, got[0])
		}
		if first == nil {
			first = got[0].outs
			continue
		}
		if strings.Join(got[0].outs, "\n") != strings.Join(first, "\n") {
			t.Fatalf("flags %d: %q\nwant %q", flags, got[0].outs, first)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(first[0], "docs:")), &doc); err != nil {
		t.Fatal(err)
	}
	h := doc["h"].(map[string]any)
	if doc["s"] != "é\"\n" || doc["n"] != -7.0 || doc["orig"] != rec.data || doc["gone"] != nil || doc["missing"] != nil ||
		len(h["sha256"].(string)) != 64 || len(h["md5"].(string)) != 32 {
		t.Fatalf("doc %s", first[0])
	}
	if first[1] != `:{"t":"2023-05-16T21:47:25Z","keep":[1,{"a":null}],"x":{"y":"z"}}` {
		t.Fatalf("edit %s", first[1])
	}
}

func TestDocErrors(t *testing.T) {
	bad := func(r *weir.Record) error {
		d := r.Doc()
		d.SetJSON("x", []byte("{"))
		_ = d.Emit() // ignored: the record fails anyway
		return nil
	}
	got := run(t, bad, 0, in{data: "{}"})
	if got[0].status != frame.StatusFailed || !strings.Contains(got[0].msg, "invalid JSON value") {
		t.Fatalf("guest-applied: %+v", got[0])
	}
	// With host ops the list goes out as is; the host finds the error.
	got = run(t, bad, frame.FlagHostOps, in{data: "{}"})
	if got[0].status != frame.StatusOK || !strings.Contains(got[0].outs[0], "apply error") {
		t.Fatalf("host-applied: %+v", got[0])
	}
	edit := func(r *weir.Record) error { return r.Edit().Emit() }
	got = run(t, edit, 0, in{data: "[1]"})
	if got[0].status != frame.StatusFailed || !strings.Contains(got[0].msg, "not an object") {
		t.Fatalf("edit of an array: %+v", got[0])
	}
	var zero weir.Doc
	if err := zero.Emit(); err == nil {
		t.Fatal("zero Doc emitted")
	}
}

func TestRecordMetadata(t *testing.T) {
	var got string
	weir.Handle(func(r *weir.Record) error {
		got = strings.Join([]string{r.PartitionKey(), r.SequenceNumber(), r.Source(), string(r.Data()),
			r.ArrivalTime().Format(time.RFC3339Nano)}, "|")
		if string(r.Data()) == "y" && (r.SubSequence() != 9 || r.Index() != 1) {
			t.Errorf("sub %d index %d", r.SubSequence(), r.Index())
		}
		return nil
	})
	w := frame.NewInput(nil, 0, nil)
	w.AddRecord([]byte("x"), "", "", 0, 0, "")
	w.AddRecord([]byte("y"), "pk", "49590338271490256608559692538361571095921575989136588898", 9, 1684273645123456789, "arn:aws:kinesis:us-east-1:1:stream/s")
	weir.Batch(w.Finish())
	want := "pk|49590338271490256608559692538361571095921575989136588898|arn:aws:kinesis:us-east-1:1:stream/s|y|2023-05-16T21:47:25.123456789Z"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	weir.Handle(func(r *weir.Record) error {
		if !r.ArrivalTime().IsZero() {
			t.Error("unknown arrival time is not zero")
		}
		return nil
	})
	weir.Batch(frameOf(t, 0, in{data: "{}"}))
}

func TestCheckJSONAndParsed(t *testing.T) {
	var msgs []string
	h := func(r *weir.Record) error {
		err := r.CheckJSON()
		v, perr := r.Parsed()
		msgs = append(msgs, errString(err)+"|"+errString(perr)+"|"+r.Get("a").Type().String())
		if v != nil && v.GetInt("a") != 1 {
			t.Error("Parsed value")
		}
		return nil
	}
	run(t, h, 0, in{data: `{"a":1}`}, in{data: `{"a":`})
	if !strings.HasPrefix(msgs[0], "||number") || !strings.Contains(msgs[1], "cannot parse") || !strings.HasSuffix(msgs[1], "|missing") {
		t.Fatalf("%q", msgs)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestManifest(t *testing.T) {
	var m struct {
		ABI   int
		SDK   string
		Paths []string
	}
	if err := json.Unmarshal(weir.Manifest(), &m); err != nil {
		t.Fatal(err)
	}
	if m.ABI != 1 || m.SDK != weir.SDKVersion || strings.Join(m.Paths, ",") != strings.Join(testPaths, ",") {
		t.Fatalf("%s", weir.Manifest())
	}
}

func TestConfigNative(t *testing.T) {
	t.Setenv("WEIR_CONFIG_greeting", "hi")
	if v, ok := weir.Config("greeting"); v != "hi" || !ok {
		t.Fatal(v, ok)
	}
	if _, ok := weir.Config("absent"); ok {
		t.Fatal("absent key found")
	}
}

// TestReuse checks that batches of different sizes reuse the buffers and
// stay correct.
func TestReuse(t *testing.T) {
	h := func(r *weir.Record) error { r.Emit(r.Data()); return nil }
	for _, n := range []int{3, 300, 1, 0, 50} {
		recs := make([]in, n)
		for i := range recs {
			recs[i] = in{data: strings.Repeat("x", i)}
		}
		got := run(t, h, 0, recs...)
		for i, g := range got {
			if g.outs[0] != ":"+recs[i].data {
				t.Fatalf("batch %d record %d: %q", n, i, g.outs[0])
			}
		}
	}
}

func BenchmarkBatchPassthrough(b *testing.B) {
	recs := make([]in, 100)
	for i := range recs {
		recs[i] = in{data: strings.Repeat("x", 1500)}
	}
	f := frameOf(b, 0, recs...)
	weir.Handle(func(r *weir.Record) error { r.Emit(r.Data()); return nil })
	b.ReportAllocs()
	for b.Loop() {
		weir.Batch(f)
	}
}
