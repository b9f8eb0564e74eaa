// Command kitchensink is a test module that exercises every part of the Go
// SDK, driven by each record's "do" field. sdk/go/weir's tests build it and
// run it on wazero (the fast path) and on extism/go-sdk (weir_batch), and
// compare.
package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir"
)

func init() {
	weir.Paths("do", "n")
	weir.Handle(handle)
}

var sink []int

func handle(r *weir.Record) error {
	switch do := r.Get("do").String(); do {
	case "emit":
		r.Emit(r.Data())
	case "two":
		r.EmitTo("a", []byte("1"))
		r.EmitTo("b", []byte("2"))
	case "drop":
		r.Emit(r.Data())
		r.Drop()
	case "fail":
		r.Emit(r.Data())
		return errors.New("nope")
	case "panic":
		panic("boom")
	case "index":
		n, _ := r.Get("n").Int()
		sink = sink[:0]
		return fmt.Errorf("%d", sink[n]) // index out of range
	case "doc":
		d := r.Doc()
		d.Copy("@timestamp", "t")
		d.SetString("s", "é\"\n")
		d.SetInt("n", -7)
		d.SetJSON("j", []byte(`{"a":[1,2]}`))
		d.SetOriginal("orig")
		d.SetSHA256("h.sha256")
		d.SetDigest("h.md5", frame.DigestMD5)
		d.SetString("gone", "x")
		d.Delete("gone")
		return d.EmitTo("docs")
	case "edit":
		d := r.Edit()
		d.Delete("secret")
		d.SetString("x.y", "z")
		return d.Emit()
	case "meta":
		fmt.Println("meta") // stdout through WASI
		out := fmt.Appendf(nil, `{"pk":%q,"seq":%q,"sub":%d,"at":%q,"src":%q,"i":%d}`,
			r.PartitionKey(), r.SequenceNumber(), r.SubSequence(),
			r.ArrivalTime().Format(time.RFC3339Nano), r.Source(), r.Index())
		r.Emit(out)
	case "config":
		v, ok := weir.Config("greeting")
		r.Emit(fmt.Appendf(nil, "%s %v", v, ok))
	case "log":
		weir.LogInfo("hello from kitchensink")
		r.Emit(nil)
	case "get":
		v := r.Get("deep.a.1")
		f, _ := v.Float()
		r.Emit(fmt.Appendf(nil, "%s %s %g %s", v.Type(), v.Raw(), f, r.Get("nope").Type()))
	case "badjson":
		d := r.Doc()
		d.SetJSON("x", []byte("{"))
		_ = d.Emit() // the error fails the record anyway
	case "nothing":
	default:
		return fmt.Errorf("unknown do %q", do)
	}
	return nil
}

func main() {}
