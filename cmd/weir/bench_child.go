package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/benchkit"
	"github.com/weirhq/weir/engine"
)

// newBenchChildCmd is the hidden command "weir bench" re-executes to time
// a cold start: load the pipeline, run the first batch, print a
// benchkit.ColdStartChild line on stdout, exit.
func newBenchChildCmd(g *globals) *cobra.Command {
	var o benchOptions
	var size int
	cmd := &cobra.Command{
		Use:    "bench-child [module.wasm | -p pipeline.yaml] file...",
		Short:  "Internal: one cold start for weir bench",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return benchChild(cmd.Context(), g, o, size, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.pipeline, "pipeline", "p", "", "pipeline configuration file")
	f.StringVar(&o.format, "format", "auto", "input format")
	f.IntVar(&size, "batch-size", defaultBenchSize, "records in the batch")
	f.IntVar(&o.instances, "instances", 1, "instances per stage (0: as configured)")
	return cmd
}

func benchChild(ctx context.Context, g *globals, o benchOptions, size int, args []string) error {
	var t *benchkit.Target
	var err error
	if o.pipeline != "" {
		t, err = loadTarget(o.pipeline, true)
	} else {
		if len(args) == 0 {
			return errors.New("bench-child: no module")
		}
		t, err = loadTarget(args[0], false)
		args = args[1:]
	}
	if err != nil {
		return err
	}
	format, err := engine.ParseFormat(o.format)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var recs []engine.Record
	for _, name := range args {
		r, err := decodeInput(g, format, name)
		if err != nil {
			return fmt.Errorf("bench-child: input %s: %w", name, err)
		}
		recs = append(recs, r...)
		if len(recs) >= size {
			break
		}
	}
	decode := time.Since(t0)
	if len(recs) == 0 {
		return errors.New("bench-child: no records")
	}
	in := &benchkit.Input{Files: args, Format: format, Records: recs[:min(size, len(recs))], Decode: decode}
	return benchkit.ColdStartChild(ctx, benchkit.Options{Instances: o.instances, CacheDir: g.cacheDir, Logger: g.logger()}, t, in, g.stdout)
}
