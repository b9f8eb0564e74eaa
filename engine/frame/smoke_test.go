package frame

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

func TestSmokeRoundTrip(t *testing.T) {
	in, err := os.ReadFile(hosttest.SharedFile(t, "reference/consolelogin.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	in = bytes.TrimSuffix(in, []byte("\n"))
	w := NewInput(nil, FlagViews|FlagHostOps, []string{"eventName", "tlsDetails.tlsVersion", "nope", "userIdentity"})
	var a Applier
	v, err := a.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	w.AddRecord(in, "pk", "seq1", 0, 5, "src")
	for _, p := range []string{"eventName", "tlsDetails.tlsVersion", "nope", "userIdentity"} {
		w.AddValue(v.Get(SplitPath(p)...))
	}
	w.AddRecord([]byte("not json"), "", "seq2", 1, 0, "")
	for range 4 {
		w.AddValue(nil)
	}
	f := w.Finish()
	ir, err := ReadInput(f)
	if err != nil {
		t.Fatal(err)
	}
	var rec InRecord
	if err := ir.Next(&rec); err != nil {
		t.Fatal(err)
	}
	if string(rec.Views[0].Raw) != "ConsoleLogin" || string(rec.Views[1].Raw) != "TLSv1.3" || rec.Views[2].Type != Missing || rec.Views[3].Type != Object {
		t.Fatalf("views %+v", rec.Views)
	}
	if err := ir.Next(&rec); err != nil {
		t.Fatal(err)
	}
	var ops Ops
	ops.Copy("@timestamp", "eventTime")
	ops.SetString("event.action", "ConsoleLogin")
	ops.SetDigest("event.hash", DigestSHA256)
	ops.SetOriginal("event.original")
	ops.SetJSON("source.as.number", []byte("7922"))
	ops.SetInt("x.n", -5)
	ops.Delete("x")
	ow := NewOutput(nil)
	ow.OK()
	ow.Output(OutputOps, "", ops.B)
	ow.Failed("bad")
	of := ow.Finish()
	or, err := ReadOutput(of, 2)
	if err != nil {
		t.Fatal(err)
	}
	var out OutRecord
	if err := or.Next(&out); err != nil {
		t.Fatal(err)
	}
	doc, err := a.Apply(nil, out.Outputs[0].Kind, out.Outputs[0].Body, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	want = hosttest.ReferenceDocument(t)
	ev, ok := want["event"].(map[string]any)
	if !ok {
		t.Fatalf("the reference document has no event object")
	}
	gev, ok := got["event"].(map[string]any)
	if !ok {
		t.Fatalf("no event object: %s", doc)
	}
	if ev["hash"] == nil || ev["original"] == nil {
		t.Fatalf("the reference document has no event.hash or event.original")
	}
	if gev["hash"] != ev["hash"] || gev["original"] != ev["original"] {
		t.Fatalf("hash/original differ: %s", doc)
	}
	if want["@timestamp"] == nil || !reflect.DeepEqual(got["@timestamp"], want["@timestamp"]) || got["x"] != nil {
		t.Fatalf("doc %s", doc)
	}
	if err := or.Next(&out); err != nil || string(out.Message) != "bad" {
		t.Fatal(err, out)
	}
	t.Logf("%s", doc[:200])
}
