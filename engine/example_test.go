package engine_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weirhq/weir/engine"
)

// upper is an example Stage: it upper-cases records and fails those that
// are not JSON strings.
type upper struct{}

func (upper) Process(_ context.Context, recs []engine.Record) ([]engine.Result, error) {
	out := make([]engine.Result, len(recs))
	for i, r := range recs {
		var s string
		if err := json.Unmarshal(r.Data, &s); err != nil {
			out[i] = engine.Result{Status: engine.StatusFailed, Err: fmt.Errorf("not a JSON string: %w", err)}
			continue
		}
		data, _ := json.Marshal(strings.ToUpper(s))
		out[i] = engine.Result{Status: engine.StatusOK, Outputs: []engine.Output{{Data: data}}}
	}
	return out, nil
}

func (upper) Close(context.Context) error { return nil }

func ExampleParseConfig() {
	cfg, err := engine.ParseConfig([]byte(`
version: 1
stages:
  - module: modules/normalize.wasm
    limits:
      timeout: 250ms
`), "pipeline.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	sc := cfg.Stages[0]
	fmt.Println(sc.Name, sc.Entry, sc.OnError, sc.Limits.Timeout, sc.Limits.MemoryPages)
	// Output: normalize auto fail 250ms 1024
}

func ExampleParseConfig_errors() {
	_, err := engine.ParseConfig([]byte(`
version: 1
stages:
  - module: normalize.wasm
  - module: enrich.wasm
    on_error: retry
`), "pipeline.yaml")
	fmt.Println(err)

	_, err = engine.ParseConfig([]byte(`
version: 1
stages:
  - module: normalize.wasm
    memory_pages: 10
`), "pipeline.yaml")
	fmt.Println(err)
	// Output:
	// pipeline.yaml: stages[1].on_error: must be one of fail, drop, dead_letter (got "retry")
	// pipeline.yaml:5:5: unknown field "memory_pages"
}

func ExampleConfig_Validate() {
	cfg := &engine.Config{
		Version: 1,
		Stages:  []engine.StageConfig{{Module: "a.wasm", OnError: "dead_letter", DeadLetter: "dlq"}},
	}
	err := cfg.Validate()
	fmt.Println(err)
	var ce *engine.ConfigError
	if errors.As(err, &ce) {
		fmt.Println(ce.Field)
	}
	// Output:
	// config: stages[0].dead_letter: no output named "dlq" (outputs: default)
	// stages[0].dead_letter
}

func ExampleDuration() {
	var lim engine.Limits
	if err := json.Unmarshal([]byte(`{"timeout": "1m30s"}`), &lim); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(time.Duration(lim.Timeout).Seconds())
	out, _ := json.Marshal(lim)
	fmt.Println(string(out))
	// Output:
	// 90
	// {"timeout":"1m30s"}
}

func ExampleDecodeRecords() {
	in := strings.NewReader(`{"eventName":"ConsoleLogin"}

not JSON: the module decides
{"eventName":"GetObject"}
`)
	recs, err := engine.DecodeRecords(in, "events.ndjson")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Printf("line %s: %s\n", r.Meta.SequenceNumber, r.Data)
	}
	// Output:
	// line 1: {"eventName":"ConsoleLogin"}
	// line 3: not JSON: the module decides
	// line 4: {"eventName":"GetObject"}
}

func ExampleDecodeRecords_cloudTrail() {
	in := strings.NewReader(`{"Records": [{"eventName": "ConsoleLogin"}, {"eventName":"GetObject"}]}`)
	recs, err := engine.DecodeRecords(in, "trail.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Printf("%s[%s]: %s\n", r.Meta.Source, r.Meta.SequenceNumber, r.Data)
	}
	_, err = engine.DecodeRecords(strings.NewReader(`[{"a": 1},, {"b": 2}]`), "bad.json")
	fmt.Println(err)
	// Output:
	// trail.json[0]: {"eventName": "ConsoleLogin"}
	// trail.json[1]: {"eventName":"GetObject"}
	// codec: bad.json: invalid character ',' looking for the beginning of a value at byte offset 10
}

func ExampleNewPipeline() {
	ctx := context.Background()
	cfg, err := engine.ParseConfig([]byte(`
version: 1
stages:
  - module: upper.wasm
    on_error: dead_letter
    dead_letter: dlq
outputs:
  dlq: {type: stdout}
`), "pipeline.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	build := func(ctx context.Context, sc engine.StageConfig, baseDir string) (engine.Stage, error) {
		return upper{}, nil // the Wasm host builds the real stages
	}
	p, err := engine.NewPipeline(ctx, cfg, build)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)

	recs := []engine.Record{
		{Data: []byte(`"hello"`), Meta: engine.Metadata{SequenceNumber: "1"}},
		{Data: []byte(`{"not":"a string"}`), Meta: engine.Metadata{SequenceNumber: "2"}},
	}
	res, err := p.Run(ctx, recs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("in %d, out %d, dead-lettered %d\n", res.In, res.Out, res.DeadLettered)

	sinks, err := engine.OpenSinks(cfg, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := engine.RouteOutputs(ctx, res, sinks); err != nil {
		fmt.Println(err)
	}
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		fmt.Println(err)
	}
	// Output:
	// in 2, out 1, dead-lettered 1
	// "HELLO"
	// {"error":"not a JSON string: json: cannot unmarshal object into Go value of type string","stage":"upper","module":"","digest":"","index":1,"sequence_number":"2","partition_key":"","source":"","record":"{\"not\":\"a string\"}"}
}

func ExampleRecordError() {
	err := &engine.RecordError{
		Index:          3,
		SequenceNumber: "49590338271490256608559692538361571095921575989136588898",
		Stage:          "normalize",
		Module:         "file://normalize.wasm",
		Digest:         "abcd1234ef567890abcd1234ef567890abcd1234ef567890abcd1234ef567890",
		Err:            errors.New("invalid JSON at byte offset 17"),
	}
	fmt.Println(err)
	// Output: record 3 (seq 49590338271490256608559692538361571095921575989136588898): stage "normalize" (module file://normalize.wasm sha256:abcd1234…): invalid JSON at byte offset 17
}

func ExampleRouteOutputs() {
	ctx := context.Background()
	sinks := map[string]engine.Sink{"default": engine.NewWriterSink("stdout", os.Stdout)}
	res := &engine.BatchResult{Records: []engine.RecordResult{
		{Index: 0, Outputs: []engine.Output{{Data: []byte(`{"n":0}`)}}},
		{Index: 1, Outputs: []engine.Output{{Route: "alerts", Data: []byte(`{"n":1}`)}}},
	}}
	// A route without a sink is an error, and nothing is written.
	fmt.Println(engine.RouteOutputs(ctx, res, sinks))
	sinks["alerts"] = engine.NewDiscardSink()
	fmt.Println(engine.RouteOutputs(ctx, res, sinks))
	// Output:
	// sink: record 1: route "alerts": route has no configured output
	// {"n":0}
	// <nil>
}

// A Decoder streams the records of an input one at a time; when the input
// breaks midway (here a gzip stream cut short), the records decoded
// completely come first, then an error locating the break.
func ExampleDecoder() {
	var full bytes.Buffer
	zw := gzip.NewWriter(&full)
	for i := range 1000 {
		fmt.Fprintf(zw, "{\"n\":%d,\"pad\":\"%s\"}\n", i, strings.Repeat("x", i%37))
	}
	zw.Close()
	cut := full.Bytes()[:full.Len()/2]

	dec, err := engine.NewDecoder(bytes.NewReader(cut), "events.ndjson.gz", engine.FormatAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	var last engine.Record
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Printf("%d records, the last %s (line %s)\n", dec.Records(), last.Data[:12], last.Meta.SequenceNumber)
			fmt.Println(errors.Is(err, io.ErrUnexpectedEOF))
			break
		}
		last = rec
	}
	// Output:
	// 480 records, the last {"n":479,"pa (line 480)
	// true
}
