package host_test

import (
	"context"
	"fmt"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
)

// filterAll is a complete Wasm module: an Extism-style export "transform"
// that returns 0 without setting an output, so in record mode every
// record is dropped. (module (memory (export "memory") 1)
// (func (export "transform") (result i32) i32.const 0))
var filterAll = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
	0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01,
	0x07, 0x16, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00,
	0x09, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x6f, 0x72, 0x6d, 0x00, 0x00,
	0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x00, 0x0b,
}

// A host compiles a module once and runs batches through it as an
// engine.Stage: one Result per record, in order.
func ExampleHost_LoadModule() {
	ctx := context.Background()
	h, err := host.New(ctx, host.Options{})
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)
	st, err := h.LoadModule(ctx, "filter-all", filterAll, engine.StageConfig{Entry: engine.EntryRecord, Instances: 1})
	if err != nil {
		panic(err)
	}
	defer st.Close(ctx)
	res, err := st.Process(ctx, []engine.Record{{Data: []byte(`{"a":1}`)}, {Data: []byte(`{"b":2}`)}})
	if err != nil {
		panic(err)
	}
	for i, r := range res {
		fmt.Println(i, r.Status)
	}
	// Output:
	// 0 dropped
	// 1 dropped
}

// Inspect describes a module without running its transform.
func ExampleInspect() {
	info, err := host.Inspect(context.Background(), filterAll)
	if err != nil {
		panic(err)
	}
	fmt.Println("fast path:", info.FastPath)
	fmt.Println("entry:", info.Entry)
	for _, e := range info.Exports {
		fmt.Println("export:", e.Name)
	}
	// Output:
	// fast path: false
	// entry: record
	// export: memory
	// export: transform
}
