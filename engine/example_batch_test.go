package engine_test

import (
	"context"
	"fmt"

	"github.com/weirhq/weir/engine"
)

// printSink prints every write, with its batch key.
type printSink struct{}

func (printSink) Write(_ context.Context, outs []engine.Output) error {
	return printSink{}.WriteKey(context.Background(), "", outs)
}

func (printSink) WriteKey(_ context.Context, key string, outs []engine.Output) error {
	fmt.Printf("write key=%q:", key)
	for _, o := range outs {
		fmt.Printf(" %s", o.Data)
	}
	fmt.Println()
	return nil
}

func (printSink) Close(context.Context) error { return nil }

// An output with batch settings holds outputs per batch_key value until
// a batch is full, or until the sinks are flushed (the Lambda handler
// flushes at the end of every invocation).
func ExampleFlushSinks() {
	ctx := context.Background()
	engine.RegisterSink("example-print", func(context.Context, string, engine.OutputConfig, *engine.Config) (engine.Sink, error) {
		return printSink{}, nil
	})
	cfg := &engine.Config{Outputs: map[string]engine.OutputConfig{
		"default": {Type: "example-print", BatchKey: "user", Batch: &engine.BatchConfig{Count: 2}},
	}}
	sinks, err := engine.OpenSinksContext(ctx, cfg, nil, nil)
	if err != nil {
		panic(err)
	}
	defer engine.CloseSinks(ctx, sinks)
	_ = sinks["default"].Write(ctx, []engine.Output{
		{Data: []byte(`{"user":"ann","n":1}`)},
		{Data: []byte(`{"user":"bob","n":2}`)},
		{Data: []byte(`{"user":"ann","n":3}`)},
	})
	fmt.Println("flush:")
	_ = engine.FlushSinks(ctx, sinks)
	// Output:
	// write key="ann": {"user":"ann","n":1} {"user":"ann","n":3}
	// flush:
	// write key="bob": {"user":"bob","n":2}
}

var _ engine.KeyedSink = printSink{}
