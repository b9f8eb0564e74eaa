package weir_test

import (
	"errors"
	"fmt"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir"
)

// printOutcomes decodes an output frame, applying op lists like a host.
func printOutcomes(out []byte, records ...string) {
	or, err := frame.ReadOutput(out, len(records))
	if err != nil {
		fmt.Println(err)
		return
	}
	var a frame.Applier
	var r frame.OutRecord
	for i := 0; or.More(); i++ {
		if err := or.Next(&r); err != nil {
			fmt.Println(err)
			return
		}
		switch r.Status {
		case frame.StatusDropped:
			fmt.Println("dropped")
		case frame.StatusFailed:
			fmt.Println("failed:", string(r.Message))
		default:
			for _, o := range r.Outputs {
				body := o.Body
				if o.Kind != frame.OutputRaw {
					body, _ = a.Apply(nil, o.Kind, o.Body, []byte(records[i]), nil)
				}
				fmt.Printf("ok [%s] %s\n", o.Route, body)
			}
		}
	}
}

func inputFrame(records ...string) []byte {
	w := frame.NewInput(nil, 0, nil)
	for _, r := range records {
		w.AddRecord([]byte(r), "", "", 0, 0, "")
	}
	return w.Finish()
}

// A module registers one handler; Batch runs it over a frame, as the
// weir_transform export does (here natively, as in a unit test).
func ExampleHandle() {
	weir.Handle(func(r *weir.Record) error {
		switch r.Get("level").String() {
		case "debug":
			r.Drop()
		case "":
			return errors.New("no level")
		case "alert":
			r.EmitTo("alerts", r.Data())
		default:
			r.Emit(r.Data())
		}
		return nil
	})
	records := []string{`{"level":"info"}`, `{"level":"debug"}`, `{}`, `{"level":"alert"}`}
	printOutcomes(weir.Batch(inputFrame(records...)), records...)
	// Output:
	// ok [] {"level":"info"}
	// dropped
	// failed: no level
	// ok [alerts] {"level":"alert"}
}

// Doc builds a new document from operations.
func ExampleRecord_Doc() {
	weir.Handle(func(r *weir.Record) error {
		d := r.Doc()
		d.CopyString("@timestamp", "eventTime")
		d.SetString("cloud.provider", "aws")
		d.SetSHA256("event.hash")
		return d.Emit()
	})
	records := []string{`{"eventTime":"2023-05-16T21:47:25Z"}`}
	printOutcomes(weir.Batch(inputFrame(records...)), records...)
	// Output:
	// ok [] {"@timestamp":"2023-05-16T21:47:25Z","cloud":{"provider":"aws"},"event":{"hash":"487b4f259c8e1fe924a86fc46a927efe99b473b5cbe49482ecc147ccdeee12ff"}}
}

// Edit changes the input document.
func ExampleRecord_Edit() {
	weir.Handle(func(r *weir.Record) error {
		d := r.Edit()
		d.Delete("password")
		d.SetString("user.name", "alice")
		return d.Emit()
	})
	records := []string{`{"user":{"id":7},"password":"pw"}`}
	printOutcomes(weir.Batch(inputFrame(records...)), records...)
	// Output:
	// ok [] {"user":{"id":7,"name":"alice"}}
}

// A panic fails its record only.
func ExampleHandler_panic() {
	weir.Handle(func(r *weir.Record) error {
		if r.Index() == 1 {
			panic("boom")
		}
		r.Emit(r.Data())
		return nil
	})
	printOutcomes(weir.Batch(inputFrame("a", "b", "c")), "a", "b", "c")
	// Output:
	// ok [] a
	// failed: panic: boom
	// ok [] c
}

func ExampleValue() {
	weir.Handle(func(r *weir.Record) error {
		n, _ := r.Get("n").Int()
		v := r.Get("user.name")
		r.Emit(fmt.Appendf(nil, "%d %s %s %q %v", n, v.Type(), v.String(), v.Raw(), r.Get("nope").Exists()))
		return nil
	})
	records := []string{`{"n":42,"user":{"name":"a\"b"}}`}
	printOutcomes(weir.Batch(inputFrame(records...)), records...)
	// Output:
	// ok [] 42 string a"b "\"a\\\"b\"" false
}

// Values reads every declared path (weir.Paths) in one call: the cheapest
// way for a hot module. This package's tests declared "do", "a", "n", "obj".
func ExampleRecord_Values() {
	var vals []weir.Value
	weir.Handle(func(r *weir.Record) error {
		vals = r.Values(vals[:0])
		for _, v := range vals {
			fmt.Print(v.Type(), " ")
		}
		fmt.Println()
		return nil
	})
	weir.Batch(inputFrame(`{"do":"x","n":1,"obj":{}}`))
	// Output: string missing number object
}
