package frame_test

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
)

// A host writes an input frame: two records with their metadata.
func ExampleNewInput() {
	w := frame.NewInput(nil, frame.FlagHostOps, nil)
	w.AddRecord([]byte(`{"eventName":"ConsoleLogin"}`), "pk-1", "4959", 0, 1684273645000000000, "stream/cloudtrail")
	w.AddRecord([]byte(`{"eventName":"GetObject"}`), "", "", 0, 0, "")
	f := w.Finish()
	fmt.Println(w.Count(), "records,", len(f), "bytes")
	// Output: 2 records, 166 bytes
}

// With FlagViews, every record carries the values of the declared paths;
// AddValue writes a value parsed by fastjson (nil: missing).
func ExampleInputWriter_AddValue() {
	paths := []string{"eventName", "userIdentity.accountId", "errorCode"}
	w := frame.NewInput(nil, frame.FlagViews|frame.FlagHostOps, paths)
	record := []byte(`{"eventName":"ConsoleLogin","userIdentity":{"accountId":"987654321012"}}`)
	var p fastjson.Parser
	v, _ := p.ParseBytes(record)
	w.AddRecord(record, "", "", 0, 0, "")
	for _, path := range paths {
		w.AddValue(v.Get(frame.SplitPath(path)...))
	}

	ir, _ := frame.ReadInput(w.Finish())
	var r frame.InRecord
	ir.Next(&r)
	for i, view := range r.Views {
		fmt.Printf("%s: %s %q\n", paths[i], view.Type, view.Raw)
	}
	// Output:
	// eventName: string "ConsoleLogin"
	// userIdentity.accountId: string "987654321012"
	// errorCode: missing ""
}

// A guest reads an input frame record by record; the slices alias the
// frame.
func ExampleReadInput() {
	w := frame.NewInput(nil, 0, nil)
	w.AddRecord([]byte("one"), "pk", "1", 0, 0, "src")
	w.AddRecord([]byte("two"), "pk", "2", 0, 0, "src")

	ir, err := frame.ReadInput(w.Finish())
	if err != nil {
		fmt.Println(err)
		return
	}
	var r frame.InRecord
	for ir.More() {
		if err := ir.Next(&r); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s seq=%s\n", r.Data, r.SequenceNumber)
	}
	// Output:
	// one seq=1
	// two seq=2
}

// Decoding errors name the byte offset and wrap ErrFrame.
func ExampleReadInput_corrupt() {
	_, err := frame.ReadInput([]byte("WEIR\x01\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, frame.ErrFrame))
	// Output:
	// frame: at byte offset 5: unsupported frame version 2 (this build reads version 1)
	// true
}

// A guest writes one outcome per input record, in order.
func ExampleNewOutput() {
	w := frame.NewOutput(nil)
	w.OK() // record 0: two outputs
	w.Output(frame.OutputRaw, "", []byte(`{"a":1}`))
	w.Output(frame.OutputRaw, "alerts", []byte(`{"alert":true}`))
	w.Dropped()          // record 1
	w.Failed("bad JSON") // record 2
	fmt.Println(w.Count(), "outcomes,", len(w.Finish()), "bytes")
	// Output: 3 outcomes, 80 bytes
}

// A host reads the outcomes, checking there is one per record.
func ExampleReadOutput() {
	w := frame.NewOutput(nil)
	w.OK()
	w.Output(frame.OutputRaw, "alerts", []byte(`{"alert":true}`))
	w.Failed("bad JSON")

	or, err := frame.ReadOutput(w.Finish(), 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	var r frame.OutRecord
	for or.More() {
		if err := or.Next(&r); err != nil {
			fmt.Println(err)
			return
		}
		switch r.Status {
		case frame.StatusOK:
			for _, o := range r.Outputs {
				fmt.Printf("ok route=%q %s\n", o.Route, o.Body)
			}
		case frame.StatusDropped:
			fmt.Println("dropped")
		case frame.StatusFailed:
			fmt.Println("failed:", string(r.Message))
		}
	}
	// Output:
	// ok route="alerts" {"alert":true}
	// failed: bad JSON
}

// An error frame fails the whole batch.
func ExampleAppendError() {
	_, err := frame.ReadOutput(frame.AppendError(nil, "out of memory"), 10)
	var be *frame.BatchError
	fmt.Println(errors.As(err, &be), be.Message)
	// Output: true out of memory
}

// BeginOutput lets a writer append a body straight into the frame.
func ExampleOutputWriter_BeginOutput() {
	w := frame.NewOutput(nil)
	w.OK()
	w.BeginOutput(frame.OutputRaw, "")
	w.SetBuf(fmt.Appendf(w.Buf(), `{"n":%d}`, 42))
	w.EndOutput()

	or, _ := frame.ReadOutput(w.Finish(), 1)
	var r frame.OutRecord
	or.Next(&r)
	fmt.Printf("%s\n", r.Outputs[0].Body)
	// Output: {"n":42}
}

// Rewind takes back a record's outputs, here to fail it instead.
func ExampleOutputWriter_Rewind() {
	w := frame.NewOutput(nil)
	m := w.Mark()
	w.OK()
	w.Output(frame.OutputRaw, "", []byte("half done"))
	w.Rewind(m)
	w.Failed("handler error")

	or, _ := frame.ReadOutput(w.Finish(), 1)
	var r frame.OutRecord
	or.Next(&r)
	fmt.Println(r.Status == frame.StatusFailed, string(r.Message))
	// Output: true handler error
}

// An operation list builds a document from the input record; the host
// applies it natively.
func ExampleOps() {
	var ops frame.Ops
	ops.CopyString("@timestamp", "eventTime")
	ops.SetString("cloud.provider", "aws")
	ops.SetInt("event.sequence", 7)
	ops.SetJSON("labels", []byte(`{"team":"sec"}`))
	ops.SetDigest("event.hash", frame.DigestMD5)

	var a frame.Applier
	doc, err := a.Apply(nil, frame.OutputOps, ops.B, []byte(`{"eventTime":"2023-05-16T21:47:25Z"}`), nil)
	fmt.Println(string(doc), err)
	// Output: {"@timestamp":"2023-05-16T21:47:25Z","cloud":{"provider":"aws"},"event":{"sequence":7,"hash":"03821df60d68f592d6efbea3709ac1dd"},"labels":{"team":"sec"}} <nil>
}

// CopyString copies only non-empty strings; Copy copies any value.
func ExampleOps_CopyString() {
	var ops frame.Ops
	ops.CopyString("a", "num")
	ops.CopyString("b", "empty")
	ops.CopyString("c", "str")
	ops.Copy("d", "num")
	var a frame.Applier
	doc, _ := a.Apply(nil, frame.OutputOps, ops.B, []byte(`{"num":1,"empty":"","str":"x"}`), nil)
	fmt.Println(string(doc))
	// Output: {"c":"x","d":1}
}

// Append adds a prebuilt (constant) run of operations.
func ExampleOps_Append() {
	var constant frame.Ops
	constant.SetString("cloud.provider", "aws")
	constant.SetOriginal("event.original")

	var ops frame.Ops
	ops.Append(&constant)
	ops.SetString("event.outcome", "success")
	var a frame.Applier
	doc, _ := a.Apply(nil, frame.OutputOps, ops.B, []byte(`{}`), nil)
	fmt.Println(string(doc))
	// Output: {"cloud":{"provider":"aws"},"event":{"original":"{}","outcome":"success"}}
}

// An edit keeps the input document and changes some fields.
func ExampleApplier_Apply() {
	var ops frame.Ops
	ops.Delete("password")
	ops.SetString("user.name", "alice")
	ops.SetInt("seen", 1)

	var a frame.Applier
	in := []byte(`{"user":{"id":7,"name":"a"},"password":"pw"}`)
	doc, err := a.Apply(nil, frame.OutputEdit, ops.B, in, nil)
	fmt.Println(string(doc), err)
	// Output: {"user":{"id":7,"name":"alice"},"seen":1} <nil>
}

// A host that parsed the record already (for views) passes the value on.
func ExampleApplier_Parse() {
	var a frame.Applier
	in := []byte(`{"a":{"b":[10,20]}}`)
	v, _ := a.Parse(in)
	var ops frame.Ops
	ops.Copy("second", "a.b.1")
	doc, _ := a.Apply(nil, frame.OutputOps, ops.B, in, v)
	fmt.Println(string(doc))
	// Output: {"second":20}
}

func ExampleApplier_Path() {
	var a frame.Applier
	fmt.Printf("%q\n", a.Path([]byte(`labels.app\.kubernetes\.io/name`)))
	// Output: ["labels" "app.kubernetes.io/name"]
}

func ExampleSplitPath() {
	fmt.Printf("%q\n", frame.SplitPath(`tls.client.server_name`))
	fmt.Printf("%q\n", frame.SplitPath(`a\.b.c\\d`))
	// Output:
	// ["tls" "client" "server_name"]
	// ["a.b" "c\\d"]
}

func ExampleAppendString() {
	fmt.Println(string(frame.AppendString(nil, []byte("say \"hi\"\n\xff"))))
	// Output: "say \"hi\"\n\ufffd"
}

func ExampleAppendValue() {
	v := fastjson.MustParse(` { "a" : [ 1, "é" ] } `)
	fmt.Println(string(frame.AppendValue(nil, v)))
	// Output: {"a":[1,"é"]}
}

func ExampleAppendDigest() {
	d, err := frame.AppendDigest(nil, frame.DigestSHA256, []byte("abc"))
	fmt.Println(string(d), err)
	// Output: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad <nil>
}

func ExampleValueType_String() {
	fmt.Println(frame.String, frame.Missing, frame.Array)
	// Output: string missing array
}

// AddView writes a view whose value the host already has as bytes.
func ExampleInputWriter_AddView() {
	w := frame.NewInput(nil, frame.FlagViews, []string{"user.name", "user.age"})
	w.AddRecord([]byte(`{"user":{"name":"ann","age":41}}`), "", "", 0, 0, "")
	w.AddView(frame.String, []byte("ann")) // strings unescaped
	w.AddView(frame.Number, []byte("41"))  // numbers as JSON text
	ir, _ := frame.ReadInput(w.Finish())
	var r frame.InRecord
	ir.Next(&r)
	fmt.Println(r.Views[0].Type, string(r.Views[0].Raw), r.Views[1].Type, string(r.Views[1].Raw))
	// Output: string ann number 41
}

// A reader (and its record) can be reused from frame to frame.
func ExampleInputReader_Reset() {
	var ir frame.InputReader
	var r frame.InRecord
	for _, data := range []string{"first", "second"} {
		w := frame.NewInput(nil, 0, nil)
		w.AddRecord([]byte(data), "", "", 0, 0, "")
		if err := ir.Reset(w.Finish()); err != nil {
			fmt.Println(err)
			return
		}
		for ir.More() {
			ir.Next(&r)
			fmt.Println(string(r.Data))
		}
	}
	// Output:
	// first
	// second
}

// A guest may compute digests with a host intrinsic instead of Go's crypto.
func ExampleApplier_digest() {
	a := frame.Applier{Digest: func(dst []byte, algo byte, data []byte) ([]byte, error) {
		return frame.AppendDigest(dst, algo, data) // e.g. call weir:host/v1 digest_hex here
	}}
	var ops frame.Ops
	ops.SetDigest("sha1", frame.DigestSHA1)
	doc, _ := a.Apply(nil, frame.OutputOps, ops.B, []byte("abc"), nil)
	fmt.Println(string(doc))
	// Output: {"sha1":"a9993e364706816aba3e25717850c26c9cd0d89d"}
}
