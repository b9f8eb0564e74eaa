package benchkit_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/weirhq/weir/benchkit"
	"github.com/weirhq/weir/engine"
)

// Run measures a pipeline over records held in memory. This one has a
// built-in stage (no Wasm module to build) that copies a field; two passes
// over the input are measured, without the startup figures.
func ExampleRun() {
	cfg, err := engine.ParseConfig([]byte(`
version: 1
stages:
  - name: copy
    transforms:
      - type: object_copy
        settings: {object: {source_key: user, target_key: actor}}
`), "pipeline.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	var recs []engine.Record
	for i := range 25 {
		recs = append(recs, engine.Record{Data: fmt.Appendf(nil, `{"user":"u%d"}`, i)})
	}
	rep, err := benchkit.Run(context.Background(), benchkit.Options{
		BatchSizes: []int{10},
		Workers:    []int{1},
		Instances:  1,
		Iterations: 2,
		Lambda:     benchkit.LambdaSpec{MemoryMB: benchkit.LambdaMBPerVCPU, Arch: "arm64", PricePerGBSecond: benchkit.LambdaPriceARM},
	}, &benchkit.Target{Kind: "pipeline", Path: "pipeline.yaml", Config: cfg}, &benchkit.Input{Records: recs})
	if err != nil {
		fmt.Println(err)
		return
	}
	run := rep.Runs[0]
	fmt.Println("partial:", rep.Partial)
	fmt.Println("outputs:", rep.Outputs.Records, "records,", rep.Outputs.Sinks[0].Lines, "lines on", rep.Outputs.Sinks[0].Sink)
	fmt.Println("measured:", run.Batches, "batches,", run.Events, "events, stage", run.Stages[0].Name)
	fmt.Println("throughput measured:", run.EventsPerSec > 0)
	var text strings.Builder
	rep.WriteText(&text)
	for line := range strings.Lines(text.String()) {
		if head, _, ok := strings.Cut(line, " events in "); ok && strings.HasPrefix(line, "batch size") {
			fmt.Println(head, "events in ...") // the text report's heading of the run
		}
	}
	// Output:
	// partial: false
	// outputs: 25 records, 25 lines on stdout
	// measured: 6 batches, 50 events, stage copy
	// throughput measured: true
	// batch size 10, 1 worker (1 core, instances 1): 6 batches, 50 events in ...
}
